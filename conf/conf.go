// Package conf holds ringproof's configuration: the YAML schema, its
// defaults, environment overrides for secrets, and validation that names the
// offending key.
package conf

// Config is the whole configuration of a ringproof node. Load returns one
// that has passed Validate and has every default filled in.
type Config struct {
	HTTP         HTTP         `yaml:"http"`
	SIP          SIP          `yaml:"sip"`
	Store        Store        `yaml:"store"`
	Trunks       []Trunk      `yaml:"trunks"`
	Callers      []string     `yaml:"callers"`
	FlashCall    FlashCall    `yaml:"flashcall"`
	Verification Verification `yaml:"verification"`
	Log          Log          `yaml:"log"`
}

// HTTP configures the control port.
type HTTP struct {
	// Listen is the host:port of the JSON API. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// APIKeys are the bearer tokens applications present. At least one.
	// Env RINGPROOF_API_KEYS (comma-separated) replaces the list.
	APIKeys []string `yaml:"api_keys"`
	// MaxBodyBytes caps a request body. Default 65536.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// SIP configures the SIP user agent.
type SIP struct {
	// Listen is the host:port for UDP and TCP. Default 127.0.0.1:5060.
	// The host must be an IP address: it is what peers see in Via/Contact.
	Listen string `yaml:"listen"`
	// UDPReadBuffer is the socket receive buffer in bytes. Default 4 MiB.
	UDPReadBuffer int `yaml:"udp_read_buffer"`
	// UserAgent is the User-Agent header value. Default "ringproof".
	UserAgent string `yaml:"user_agent"`
}

// Store configures the etcd state store.
type Store struct {
	// DataDir holds the embedded etcd's data. Default ./data.
	DataDir string `yaml:"data_dir"`
	// Endpoints of an external etcd cluster; empty means embedded.
	Endpoints []string `yaml:"endpoints"`
	// Prefix for every key ringproof writes. Default "/ringproof/".
	Prefix string `yaml:"prefix"`
	// Username and Password for etcd authentication (external only).
	// Env RINGPROOF_STORE_PASSWORD overrides Password.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// DialTimeoutS bounds connecting to the store at start-up. Default 5.
	DialTimeoutS int `yaml:"dial_timeout_s"`
	// RequestTimeoutS bounds one store request. Default 3.
	RequestTimeoutS int `yaml:"request_timeout_s"`
	// ClientURL and PeerURL of the embedded etcd. Defaults
	// http://127.0.0.1:2379 and http://127.0.0.1:2380.
	ClientURL string `yaml:"client_url"`
	PeerURL   string `yaml:"peer_url"`
}

// Trunk is a carrier that ringproof sends INVITEs to.
type Trunk struct {
	// Name identifies the trunk in logs and events. Required, unique.
	Name string `yaml:"name"`
	// Address is the host:port INVITEs are sent to. Required.
	Address string `yaml:"address"`
	// Transport is udp or tcp. Default udp.
	Transport string `yaml:"transport"`
	// Username and Password answer a 401/407 digest challenge.
	// Env RINGPROOF_TRUNK_<NAME>_PASSWORD (name upper-cased, non
	// alphanumerics as _) overrides Password.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// MaxCPS caps new calls per second on this trunk. Default 100.
	MaxCPS int `yaml:"max_cps"`
	// Domain is the host part of Request-URI and To. Default: Address's host.
	Domain string `yaml:"domain"`
}

// FlashCall configures flash-call (reverse CLI) verification.
type FlashCall struct {
	// CodeLength is how many trailing caller-ID digits form the code.
	// Default 4; 3 to 6.
	CodeLength int `yaml:"code_length"`
	// RingMS is how long to let it ring before CANCEL; 0 cancels on the
	// first 180/183.
	RingMS int `yaml:"ring_ms"`
	// TimeoutS: with no 180/183 by then, CANCEL and fail. Default 30.
	TimeoutS int `yaml:"timeout_s"`
	// CooldownS keeps a caller ID leased to a number after the call ends,
	// so it is not presented to that number again at once. Default 60.
	CooldownS int `yaml:"cooldown_s"`
}

// Verification configures the lifecycle common to every method.
type Verification struct {
	// ExpiryS is how long a verification can be checked. Default 300.
	ExpiryS int `yaml:"expiry_s"`
	// MaxAttempts is how many wrong codes fail it. Default 3.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxPerNumberPerHour caps new verifications of one number. Default 10.
	MaxPerNumberPerHour int `yaml:"max_per_number_per_hour"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}
