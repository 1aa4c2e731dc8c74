// Package conf holds ringproof's configuration: the YAML schema, its
// defaults, environment overrides for secrets, and validation that names the
// offending key.
package conf

// Config is the whole configuration of a ringproof node. Load returns one
// that has passed Validate and has every default filled in.
type Config struct {
	HTTP         HTTP         `yaml:"http"`
	SIP          SIP          `yaml:"sip"`
	Media        Media        `yaml:"media"`
	Store        Store        `yaml:"store"`
	Privacy      Privacy      `yaml:"privacy"`
	Routes       []Route      `yaml:"routes"`
	DefaultRoute DefaultRoute `yaml:"default_route"`
	History      History      `yaml:"history"`
	Trunks       []Trunk      `yaml:"trunks"`
	Callers      []string     `yaml:"callers"`
	Inbound      Inbound      `yaml:"inbound"`
	FlashCall    FlashCall    `yaml:"flashcall"`
	SMS          SMS          `yaml:"sms"`
	Masking      Masking      `yaml:"masking"`
	Verification Verification `yaml:"verification"`
	Fraud        Fraud        `yaml:"fraud"`
	Limits       Limits       `yaml:"limits"`
	// TestNumbers are numbers developers verify in their CI: no call, no
	// text, a fixed code, no rate limit. Default empty.
	TestNumbers []TestNumber `yaml:"test_numbers"`
	// Services are the applications the deployment serves, each with its
	// own keys and settings (services.go). Default empty: one implicit
	// service, "default", of http.api_keys and the global settings.
	Services []Service `yaml:"services"`
	// Webhooks are the subscriptions to events (webhooks.go). Default
	// empty.
	Webhooks []Webhook `yaml:"webhooks"`
	Log      Log       `yaml:"log"`
}

// SMS configures the text messages of the sms method, sent to the trunks
// as SIP MESSAGE requests (RFC 3428) for the carrier to deliver.
type SMS struct {
	// From is the sender the phone shows, E.164. Default empty, meaning
	// the first number of callers.
	From string `yaml:"from"`
	// Text is the message; {code} stands for the code and must appear
	// exactly once. It must fit in one SMS with the longest code: 160
	// characters of the GSM 7-bit alphabet, or 70 when any character is
	// outside it (UCS-2).
	// Default "Your verification code is {code}".
	Text string `yaml:"text"`
	// TimeoutS bounds the wait for the carrier's answer to a MESSAGE.
	// Default 10; 1 to 32.
	TimeoutS int `yaml:"timeout_s"`
}

// Masking configures number masking: two parties reach each other
// through a proxy number from a pool, which each sees as the other's
// caller ID.
type Masking struct {
	// Numbers is the pool of proxy numbers (E.164 ranges) the trunks
	// deliver to ringproof. Default empty: masking is off.
	Numbers []string `yaml:"numbers"`
	// MaxTTLS is the longest a masking session may last, in seconds.
	// Default 86400 (a day); 60 to 2592000.
	MaxTTLS int `yaml:"max_ttl_s"`
	// AnswerTimeoutS is how long the called party may ring. Default 60;
	// 5 to 180.
	AnswerTimeoutS int `yaml:"answer_timeout_s"`
	// MaxCallS hangs up a bridged call after this long, in case neither
	// side's BYE ever comes. Default 3600; 60 to 86400.
	MaxCallS int `yaml:"max_call_s"`
	// UnknownCaller is what a caller with no session on the proxy gets:
	// "announce" (answered with "we cannot identify your call", the
	// default) or "reject" (404, unanswered).
	UnknownCaller string `yaml:"unknown_caller"`
}

// HTTP configures the control port.
type HTTP struct {
	// Listen is the host:port of the JSON API. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// APIKeys are the bearer tokens applications present. At least one.
	// Env RINGPROOF_API_KEYS (comma-separated) replaces the list.
	APIKeys []string `yaml:"api_keys"`
	// AdminKeys are the bearer tokens compliance staff present to the
	// privacy API, each with the name the audit trail records (see
	// AdminKey). Empty disables that API. None may also be an API key.
	// Env RINGPROOF_ADMIN_KEYS (comma-separated, "name:key" or a bare
	// key) replaces the list.
	AdminKeys []AdminKey `yaml:"admin_keys"`
	// MaxBodyBytes caps a request body. Default 65536.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Pprof serves Go's runtime profiles (net/http/pprof) under
	// /debug/pprof/ to holders of an admin key. Default false.
	Pprof bool `yaml:"pprof"`
	// PublishableKeys are keys that web pages may hold (the widget): each
	// may only create verifications by its methods, from its origins, and
	// act on its own (widget.go). Default empty.
	PublishableKeys []PublishableKey `yaml:"publishable_keys"`
	// CORSOrigins are further origins (exact scheme://host[:port]) whose
	// pages may follow event streams by watch token; the origins of
	// PublishableKeys are allowed already. Default empty.
	CORSOrigins []string `yaml:"cors_origins"`
	// ResultTokenKeyHex keys the HMAC of result tokens: hex, at least 32
	// bytes. Empty: generated in store.data_dir/keys with the embedded
	// store; with store.endpoints required when PublishableKeys are set,
	// and without them result tokens are off. Env
	// RINGPROOF_RESULT_TOKEN_KEY overrides it.
	ResultTokenKeyHex string `yaml:"result_token_key"`
	// Demo serves a demonstration page at /demo that uses the widget with
	// the first publishable key. Default false.
	Demo bool `yaml:"demo"`
	// MaxEventStreams caps the event streams (GET .../events) open at
	// once on a node; beyond it a stream gets 503 with Retry-After.
	// Default 0: sized to the machine (2,000 per CPU, at most a quarter
	// of the process's open-file limit).
	MaxEventStreams int `yaml:"max_event_streams"`
	// MaxEventStreamsPerIP caps the event streams of one client IP
	// address; beyond it a stream gets 429 with Retry-After. Behind a
	// reverse proxy every stream comes from the proxy's address: raise it
	// to max_event_streams there. Default 100; 0 means no cap.
	MaxEventStreamsPerIP int `yaml:"max_event_streams_per_ip"`
	// AuthFailuresPerIPPerMinute is how many requests with a missing or
	// wrong key (401) a client IP address may make a minute, across the
	// cluster, as a budget of that many refilled at that pace; past it
	// every request from the address gets 429 with Retry-After, its key
	// unread. Default 20; 1 to 10000.
	AuthFailuresPerIPPerMinute int `yaml:"auth_failures_per_ip_per_minute"`
	// TrustedProxies are the addresses (CIDR prefixes or IPs) of reverse
	// proxies in front of the API: only a request from one of them has
	// its client address taken from X-Forwarded-For (the nearest address
	// in it that is not a trusted proxy). Default empty: the peer address.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// SIP configures the SIP user agent.
type SIP struct {
	// Listen is the host:port for UDP and TCP. Default 127.0.0.1:5060.
	// The host must be an IP address; it may be unspecified (0.0.0.0, ::)
	// with ExternalAddress set.
	Listen string `yaml:"listen"`
	// ExternalAddress is the IP address carriers see ringproof at, in Via
	// sent-by, Contact, From and SDP, when it is not the host of Listen
	// (NAT, containers). Default empty: the host of Listen.
	ExternalAddress string `yaml:"external_address"`
	// UDPReadBuffer is the socket receive buffer in bytes. Default 4 MiB.
	UDPReadBuffer int `yaml:"udp_read_buffer"`
	// UDPReader is how the UDP socket is read: "thread" (default; on
	// Linux an OS thread of its own blocked in poll(2), the quickest to
	// send a flash call's CANCEL) or "poller" (Go's network poller, about
	// 6 % less CPU under load). Elsewhere than Linux both mean "poller".
	UDPReader string `yaml:"udp_reader"`
	// UserAgent is the User-Agent header value. Default "ringproof".
	UserAgent string `yaml:"user_agent"`
	// TLSListen is the IP:port for SIP over TLS (carriers use 5061); empty
	// means none. Needed by trunks with transport tls, whose Contact points
	// here. Default empty.
	TLSListen string `yaml:"tls_listen"`
	// TLSCertFile and TLSKeyFile are the PEM certificate (chain) and key
	// the TLS listener presents; ringproof also presents them to carriers
	// that ask for a client certificate. Required with TLSListen.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TLSCAFile is a PEM bundle of the CAs that sign carriers'
	// certificates; empty means the system's roots.
	TLSCAFile string `yaml:"tls_ca_file"`
	// TLSVerifyClients has the TLS listener require a client certificate
	// signed by a CA of TLSCAFile (mutual TLS), for carriers that present
	// one. Default false: any client, the trunks' inbound_cidrs still
	// deciding who may call.
	TLSVerifyClients bool `yaml:"tls_verify_clients"`
	// MaxTCPConnections caps the TCP and TLS connections peers have open
	// to ringproof at once; one more is closed at once. Default 1024; 0
	// means no cap.
	MaxTCPConnections int `yaml:"max_tcp_connections"`
	// MaxTCPConnectionsPerIP caps those of one source IP address. Default
	// 64; 0 means no cap.
	MaxTCPConnectionsPerIP int `yaml:"max_tcp_connections_per_ip"`
}

// Media configures the RTP audio of answered calls.
type Media struct {
	// RTPIP is the IP address RTP sockets bind to; empty means the host of
	// sip.listen. It may be unspecified (0.0.0.0, ::) when ExternalIP or
	// sip.external_address says what to offer peers instead.
	RTPIP string `yaml:"rtp_ip"`
	// ExternalIP is the RTP address offered in SDP (c= and o=). Default
	// empty: sip.external_address, else RTPIP (else the host of
	// sip.listen).
	ExternalIP string `yaml:"external_ip"`
	// RTPPortMin and RTPPortMax bound the UDP ports RTP uses, both
	// inclusive, 1024 to 65535; RTPPortMin is even and below RTPPortMax.
	// Defaults 16384 and 32767.
	RTPPortMin int `yaml:"rtp_port_min"`
	RTPPortMax int `yaml:"rtp_port_max"`
	// NoRTPTimeoutS hangs up an answered call that has received no RTP for
	// this long. Default 10; 1 to 300.
	NoRTPTimeoutS int `yaml:"no_rtp_timeout_s"`
	// MaxCallS hangs up any answered call after this long. Default 120;
	// 5 to 3600.
	MaxCallS int `yaml:"max_call_s"`
	// PromptsDir holds prompts that add to or override the built-in
	// English ones, as <dir>/<locale>/<name>.wav (8 kHz mono 16-bit). Empty
	// means only the built-in prompts. When set it must be a directory.
	PromptsDir string `yaml:"prompts_dir"`
	// DefaultLocale is the prompt locale when a request names none: a
	// short BCP 47 tag such as en or pt-BR. Default en.
	DefaultLocale string `yaml:"default_locale"`
	// VoiceRepeat is how many times a voice OTP call speaks the code.
	// Default 2; 1 to 5.
	VoiceRepeat int `yaml:"voice_repeat"`
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
	// ClientURL is a loopback https:// URL where the embedded etcd also
	// serves clients presenting the certificate it generates in
	// DataDir/keys. Default empty: clients reach it only through the unix
	// socket DataDir/etcd.sock (mode 0600).
	ClientURL string `yaml:"client_url"`
	// PeerURL is a loopback URL where the embedded etcd listens for
	// peers. Default empty: none.
	PeerURL string `yaml:"peer_url"`
	// QuotaBytes is the embedded etcd's space quota: past it, etcd refuses
	// writes until space is freed. 0 means etcd's default, 2 GiB; etcd
	// advises 8 GiB at most. History kept for privacy.retention_days is
	// what fills it (docs/performance.md, "Limits found"). Embedded only.
	QuotaBytes int64 `yaml:"quota_bytes"`
	// TLSCAFile is the PEM file of the CA that signed the external
	// cluster's certificates. Empty: the system's roots (for https://
	// endpoints). External only.
	TLSCAFile string `yaml:"tls_ca_file"`
	// TLSCertFile and TLSKeyFile are this node's PEM client certificate
	// and key, for a cluster that requires them (etcd --client-cert-auth).
	// Both or neither. External only.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TLSServerName is the name the members' certificates must hold, when
	// it is not the endpoint's host. External only.
	TLSServerName string `yaml:"tls_server_name"`
}

// TLS reports whether any TLS setting for the external cluster is set.
func (s Store) TLS() bool {
	return s.TLSCAFile != "" || s.TLSCertFile != "" || s.TLSKeyFile != "" || s.TLSServerName != ""
}

// Privacy configures how personal data is protected at rest. The keys are
// hex-encoded secrets, never shown in errors; the methods HMACKey,
// EncryptionKey and OldEncryptionKeys decode them. With the embedded store
// an empty key means ringproof generates one in store.data_dir; with an
// external cluster (store.endpoints) HMACKeyHex and EncryptionKeyHex are
// required, since every node must share them.
type Privacy struct {
	// HMACKeyHex keys the HMAC that indexes phone numbers: hex, at least 32
	// bytes (64 hex digits). Env RINGPROOF_PRIVACY_HMAC_KEY overrides it.
	HMACKeyHex string `yaml:"hmac_key"`
	// EncryptionKeyHex is the AES-256 key personal data is encrypted with:
	// hex, exactly 32 bytes. Env RINGPROOF_PRIVACY_ENCRYPTION_KEY
	// overrides it.
	EncryptionKeyHex string `yaml:"encryption_key"`
	// OldEncryptionKeysHex are earlier encryption keys, still accepted for
	// reading data written before a rotation; hex, 32 bytes each. Env
	// RINGPROOF_PRIVACY_OLD_ENCRYPTION_KEYS (comma-separated) replaces the
	// list.
	OldEncryptionKeysHex []string `yaml:"old_encryption_keys"`
	// RetentionDays is how long personal data is kept. Default 30;
	// 1 to 3650.
	RetentionDays int `yaml:"retention_days"`
	// SigningKeyHex is the seed of the Ed25519 key that signs erasure
	// receipts and seals the audit trail: hex, exactly 32 bytes. Empty:
	// generated in store.data_dir/keys with the embedded store, required
	// with store.endpoints. Env RINGPROOF_PRIVACY_SIGNING_KEY overrides
	// it.
	SigningKeyHex string `yaml:"signing_key"`
	// AuditRetentionDays is how long the audit trail is kept: at least
	// RetentionDays, at most 36500. Default 2190 (6 years).
	AuditRetentionDays int `yaml:"audit_retention_days"`
}

// Trunk is a carrier that ringproof sends INVITEs to and receives them
// from.
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
	// InboundCIDRs are the source addresses allowed to send INVITEs on
	// behalf of this trunk: CIDR prefixes ("203.0.113.0/24",
	// "2001:db8::/32") or single IP addresses. Empty means the IP address
	// of Address if it is one, else none. See InboundPrefixes.
	InboundCIDRs []string `yaml:"inbound_cidrs"`
	// TrustPAI takes the caller ID of INVITEs from this trunk from
	// P-Asserted-Identity. Default false.
	TrustPAI bool `yaml:"trust_pai"`
	// Region is the ISO 3166-1 alpha-2 region (GB, US) whose national
	// format caller IDs from this trunk may be in. Empty means caller IDs
	// must be international. Load upper-cases it.
	Region string `yaml:"region"`
	// Weight is this trunk's share of the first attempts among the trunks
	// that share one place in a route (see TrunkGroup). Default 1; 1 to
	// 1000.
	Weight int `yaml:"weight"`
	// FailoverOn lists what moves a call that has not rung yet on to the
	// route's next trunk: final statuses (400 to 699) and "timeout" (no
	// response at all within ResponseTimeoutS). Default [408, 480, 500,
	// 502, 503, 504, timeout]; empty: never.
	FailoverOn []string `yaml:"failover_on"`
	// ResponseTimeoutS is how long an INVITE or MESSAGE waits for any
	// response (100 Trying included) before it counts as a timeout, when
	// another trunk of the route is left to try. Default 5; 1 to 32.
	ResponseTimeoutS int `yaml:"response_timeout_s"`
	// RequireVerstat lets an inbound call match a verification only when
	// the carrier's STIR/SHAKEN verification says TN-Validation-Passed
	// (verstat on P-Asserted-Identity or From); any other call is treated
	// as an unknown caller. Default false.
	RequireVerstat bool `yaml:"require_verstat"`
	// MinAttestation is the weakest STIR/SHAKEN attestation (A, B or C,
	// from P-Attestation-Indicator or the Identity header) an inbound call
	// needs to match a verification; a weaker or missing one is treated
	// as an unknown caller. Default empty: none needed. Load upper-cases
	// it.
	MinAttestation string `yaml:"min_attestation"`
	// Register keeps ringproof registered at Address (REGISTER with
	// Username and Password), refreshed before the binding expires; the
	// trunk takes calls only while registered, and calls from the
	// registrar's address are taken as this trunk's. Default false.
	Register bool `yaml:"register"`
	// RegisterExpiresS is the binding's lifetime asked for; the registrar
	// may grant less, and ringproof refreshes at about 80 % of what it
	// grants. Default 3600; 60 to 86400.
	RegisterExpiresS int `yaml:"register_expires_s"`
	// OptionsPingS is how often an OPTIONS request asks the trunk whether
	// it is there; 3 unanswered in a row take it down (no calls) until it
	// answers again. Default 30; 0 turns pings off; at most 3600.
	OptionsPingS int `yaml:"options_ping_s"`
	// SRTP is "" (clear RTP) or "sdes": the audio of this trunk's calls is
	// SRTP (RFC 3711, AES_CM_128_HMAC_SHA1_80) with keys in the SDP (RFC
	// 4568, RTP/SAVP and a=crypto); an answer without them fails the
	// call. Only with transport tls, which keeps the keys private.
	SRTP string `yaml:"srtp"`
}

// The shortest and longest verification code, in digits, for every
// method: flashcall.code_length and a create request's code_length.
const (
	MinCodeLength = 3
	MaxCodeLength = 6
)

// FlashCall configures flash-call (reverse CLI) verification.
type FlashCall struct {
	// CodeLength is how many trailing caller-ID digits form the code.
	// Default 4; MinCodeLength to MaxCodeLength.
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

// Inbound configures calls that trunks deliver to ringproof.
type Inbound struct {
	// Numbers are the system numbers (DIDs) that trunks deliver to
	// ringproof, written as Callers are; they must not overlap. See
	// Config.InboundRanges.
	Numbers []string `yaml:"numbers"`
	// FinalStatus is the SIP status of the final response to an inbound
	// call that is not answered. Default 603 (Decline); 400 to 699.
	FinalStatus int `yaml:"final_status"`
	// RingMS is how long to ring, after the 180, before the final
	// response. Default 0; 0 to 10000.
	RingMS int `yaml:"ring_ms"`
	// UnknownCaller is what to do with an inbound call that matches no
	// verification, in methods that could answer it: "reject" ends it with
	// FinalStatus unanswered; "announce" answers and plays a prompt saying
	// the call cannot be identified. Default reject.
	UnknownCaller string `yaml:"unknown_caller"`
}

// Verification configures the lifecycle common to every method.
type Verification struct {
	// ExpiryS is how long a verification can be checked. Default 300.
	ExpiryS int `yaml:"expiry_s"`
	// MaxAttempts is how many wrong codes fail it. Default 3.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxPerNumberPerHour caps new verifications of one number. Default 10.
	MaxPerNumberPerHour int `yaml:"max_per_number_per_hour"`
	// GraceS keeps a verification's record in the state store this long
	// after its expiry, so that a late check says "expired" rather than
	// "not found". Default 600; 0 to 86400 (0: gone at expiry). Its
	// history stays for privacy.retention_days in the history store.
	GraceS int `yaml:"grace_s"`
}

// History configures the history store: where what outlives a
// verification's short life in the state store is kept for
// privacy.retention_days (verification history, consent, masking
// sessions' history, the per-number data keys, the audit trail).
type History struct {
	// Backend is "embedded" (SQLite in store.data_dir, the default) or
	// "postgres" (PostgreSQL at PostgresURL), which a cluster
	// (store.endpoints) needs, so that a person's data is in one place.
	Backend string `yaml:"backend"`
	// PostgresURL is the PostgreSQL database, as
	// postgres://user:password@host:5432/db?sslmode=verify-full. Env
	// RINGPROOF_HISTORY_POSTGRES_URL overrides it. Never shown in errors.
	PostgresURL string `yaml:"postgres_url"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
	// Access logs every HTTP request at info level once answered: its
	// method, route, status, duration and which key it bore (by its place
	// in the configuration, never the key). Default true.
	Access bool `yaml:"access"`
}
