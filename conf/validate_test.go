package conf

import (
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestDefaultReturnsFreshCopies(t *testing.T) {
	a := Default()
	a.HTTP.APIKeys[0] = "changed"
	a.Trunks[0].Name = "changed"
	a.Callers[0] = "changed"
	b := Default()
	if b.HTTP.APIKeys[0] != "dev-key-change-me" || b.Trunks[0].Name != "carrier1" || b.Callers[0] != "+442079460000-+442079469999" {
		t.Fatalf("changing one Default() changed the next: %+v", b)
	}
}

func TestValidateRejects(t *testing.T) {
	trunk := func(mod func(*Trunk)) func(*Config) {
		return func(c *Config) { mod(&c.Trunks[0]) }
	}
	secondTrunk := func(name string) func(*Config) {
		return func(c *Config) {
			t2 := c.Trunks[0]
			t2.Name = name
			c.Trunks = append(c.Trunks, t2)
		}
	}
	tests := []struct {
		name    string
		mod     func(*Config)
		key     string
		problem string // substring of the problem
	}{
		{"http listen empty", func(c *Config) { c.HTTP.Listen = "" }, "http.listen", "is empty"},
		{"http listen no port", func(c *Config) { c.HTTP.Listen = "127.0.0.1" }, "http.listen", `"127.0.0.1" has no port`},
		{"http listen hostname", func(c *Config) { c.HTTP.Listen = "localhost:8080" }, "http.listen", `host "localhost" is not an IP address`},
		{"http listen port 0", func(c *Config) { c.HTTP.Listen = "127.0.0.1:0" }, "http.listen", `port "0" is not a number in 1..65535`},
		{"http listen port too big", func(c *Config) { c.HTTP.Listen = "127.0.0.1:65536" }, "http.listen", "1..65535"},
		{"http listen port name", func(c *Config) { c.HTTP.Listen = "127.0.0.1:http" }, "http.listen", `port "http"`},
		{"http listen port sign", func(c *Config) { c.HTTP.Listen = "127.0.0.1:+80" }, "http.listen", `port "+80"`},
		{"http listen no host", func(c *Config) { c.HTTP.Listen = ":8080" }, "http.listen", "has no host"},
		{"http listen bare ipv6", func(c *Config) { c.HTTP.Listen = "::1:8080" }, "http.listen", "[address]:port"},
		{"api keys empty list", func(c *Config) { c.HTTP.APIKeys = nil }, "http.api_keys", "at least one key is required (or set RINGPROOF_API_KEYS)"},
		{"api key empty", func(c *Config) { c.HTTP.APIKeys = []string{"good-key", ""} }, "http.api_keys[1]", "is empty"},
		{"api key with space", func(c *Config) { c.HTTP.APIKeys = []string{"bad key"} }, "http.api_keys[0]", "contains a space or control character"},
		{"max body zero", func(c *Config) { c.HTTP.MaxBodyBytes = 0 }, "http.max_body_bytes", "0 is below the minimum 1"},
		{"tcp connections negative", func(c *Config) { c.SIP.MaxTCPConnections = -1 }, "sip.max_tcp_connections", "-1 is below the minimum 0"},
		{"tcp connections per ip negative", func(c *Config) { c.SIP.MaxTCPConnectionsPerIP = -1 }, "sip.max_tcp_connections_per_ip", "-1 is below the minimum 0"},
		{"auth failures zero", func(c *Config) { c.HTTP.AuthFailuresPerIPPerMinute = 0 }, "http.auth_failures_per_ip_per_minute", "0 is out of range"},
		{"event streams negative", func(c *Config) { c.HTTP.MaxEventStreams = -1 }, "http.max_event_streams", "-1 is below the minimum 0"},
		{"event streams per ip negative", func(c *Config) { c.HTTP.MaxEventStreamsPerIP = -1 }, "http.max_event_streams_per_ip", "-1 is below the minimum 0"},
		{"admin key empty", func(c *Config) { c.HTTP.AdminKeys = AdminKeysOf("admin-1", "") }, "http.admin_keys[1]", "is empty"},
		{"admin key with space", func(c *Config) { c.HTTP.AdminKeys = AdminKeysOf("bad\tkey") }, "http.admin_keys[0]", "contains a space or control character"},
		{"admin key is an api key", func(c *Config) {
			c.HTTP.APIKeys = []string{"app-1", "shared"}
			c.HTTP.AdminKeys = AdminKeysOf("admin-1", "shared")
		}, "http.admin_keys[1]", "is also http.api_keys[1]; an admin key must not be an API key"},

		{"rtp ip hostname", func(c *Config) { c.Media.RTPIP = "media.example.com" }, "media.rtp_ip", `"media.example.com" is not an IP address`},
		{"rtp ip with port", func(c *Config) { c.Media.RTPIP = "10.0.0.1:4000" }, "media.rtp_ip", "is not an IP address"},
		{"rtp ip unspecified", func(c *Config) { c.Media.RTPIP = "0.0.0.0" }, "media.rtp_ip", `"0.0.0.0" is unspecified`},
		{"rtp ip unspecified v6", func(c *Config) { c.Media.RTPIP = "::" }, "media.rtp_ip", "is unspecified"},
		{"rtp ip zone", func(c *Config) { c.Media.RTPIP = "fe80::1%eth0" }, "media.rtp_ip", "IPv6 zone"},
		{"rtp port min low", func(c *Config) { c.Media.RTPPortMin = 1022 }, "media.rtp_port_min", "1022 is out of range 1024..65535"},
		{"rtp port max high", func(c *Config) { c.Media.RTPPortMax = 65536 }, "media.rtp_port_max", "65536 is out of range 1024..65535"},
		{"rtp port min odd", func(c *Config) { c.Media.RTPPortMin = 16385 }, "media.rtp_port_min", "16385 is odd"},
		{"rtp ports equal", func(c *Config) { c.Media.RTPPortMin, c.Media.RTPPortMax = 20000, 20000 }, "media.rtp_port_max", "20000 is not above media.rtp_port_min (20000)"},
		{"rtp ports reversed", func(c *Config) { c.Media.RTPPortMin, c.Media.RTPPortMax = 30000, 20001 }, "media.rtp_port_max", "is not above media.rtp_port_min (30000)"},
		{"no rtp timeout zero", func(c *Config) { c.Media.NoRTPTimeoutS = 0 }, "media.no_rtp_timeout_s", "0 is out of range 1..300"},
		{"no rtp timeout high", func(c *Config) { c.Media.NoRTPTimeoutS = 301 }, "media.no_rtp_timeout_s", "301 is out of range 1..300"},
		{"max call low", func(c *Config) { c.Media.MaxCallS = 4 }, "media.max_call_s", "4 is out of range 5..3600"},
		{"max call high", func(c *Config) { c.Media.MaxCallS = 3601 }, "media.max_call_s", "3601 is out of range 5..3600"},
		{"prompts dir missing", func(c *Config) { c.Media.PromptsDir = "no-such-dir/prompts" }, "media.prompts_dir", `"no-such-dir/prompts": no such file or directory`},
		{"prompts dir is a file", func(c *Config) { c.Media.PromptsDir = "validate_test.go" }, "media.prompts_dir", `"validate_test.go" is not a directory`},
		{"locale empty", func(c *Config) { c.Media.DefaultLocale = "" }, "media.default_locale", `"" is not a locale tag`},
		{"locale upper-case language", func(c *Config) { c.Media.DefaultLocale = "EN" }, "media.default_locale", `"EN" is not a locale tag`},
		{"locale underscore", func(c *Config) { c.Media.DefaultLocale = "en_GB" }, "media.default_locale", "is not a locale tag"},
		{"locale one-letter subtag", func(c *Config) { c.Media.DefaultLocale = "en-x" }, "media.default_locale", "is not a locale tag"},
		{"locale trailing newline", func(c *Config) { c.Media.DefaultLocale = "en\n" }, "media.default_locale", "is not a locale tag"},
		{"voice repeat zero", func(c *Config) { c.Media.VoiceRepeat = 0 }, "media.voice_repeat", "0 is out of range 1..5"},
		{"voice repeat high", func(c *Config) { c.Media.VoiceRepeat = 6 }, "media.voice_repeat", "6 is out of range 1..5"},

		{"sip listen hostname", func(c *Config) { c.SIP.Listen = "sip.example.com:5060" }, "sip.listen", `host "sip.example.com" is not an IP address`},
		{"sip listen unspecified", func(c *Config) { c.SIP.Listen = "0.0.0.0:5060" }, "sip.listen", "unspecified"},
		{"sip listen unspecified v6", func(c *Config) { c.SIP.Listen = "[::]:5060" }, "sip.listen", "unspecified"},
		{"sip listen no port", func(c *Config) { c.SIP.Listen = "[::1]" }, "sip.listen", "has no port"},
		{"udp read buffer negative", func(c *Config) { c.SIP.UDPReadBuffer = -1 }, "sip.udp_read_buffer", "-1 is below the minimum 0"},
		{"user agent newline", func(c *Config) { c.SIP.UserAgent = "ringproof\r\nX-Evil: 1" }, "sip.user_agent", "control character"},

		{"endpoint bad scheme", func(c *Config) { c.Store.Endpoints = []string{"ftp://10.0.0.1:2379"} }, "store.endpoints[0]", `scheme "ftp"`},
		{"endpoint no port", func(c *Config) { c.Store.Endpoints = []string{"10.0.0.1:2379", "http://10.0.0.2"} }, "store.endpoints[1]", "has no port"},
		{"endpoint bare no port", func(c *Config) { c.Store.Endpoints = []string{"etcd1"} }, "store.endpoints[0]", `"etcd1" has no port`},
		{"endpoint bad host", func(c *Config) { c.Store.Endpoints = []string{"etcd 1:2379"} }, "store.endpoints[0]", "is not an IP address or DNS name"},
		{"data dir empty when embedded", func(c *Config) { c.Store.DataDir = "" }, "store.data_dir", "is required when store.endpoints is empty"},
		{"prefix empty", func(c *Config) { c.Store.Prefix = "" }, "store.prefix", "is empty"},
		{"dial timeout zero", func(c *Config) { c.Store.DialTimeoutS = 0 }, "store.dial_timeout_s", "0 is below the minimum 1"},
		{"request timeout zero", func(c *Config) { c.Store.RequestTimeoutS = 0 }, "store.request_timeout_s", "0 is below the minimum 1"},
		{"client url hostname", func(c *Config) { c.Store.ClientURL = "https://etcd.example.com:2379" }, "store.client_url", "is not an IP address or localhost"},
		{"client url path", func(c *Config) { c.Store.ClientURL = "https://127.0.0.1:2379/" }, "store.client_url", "want only scheme://host:port"},
		{"client url without TLS", func(c *Config) { c.Store.ClientURL = "http://127.0.0.1:2379" }, "store.client_url", "takes only authenticated clients"},
		{"peer url with TLS", func(c *Config) { c.Store.PeerURL = "https://127.0.0.1:2380" }, "store.peer_url", "want http://"},
		{"peer url no scheme", func(c *Config) { c.Store.PeerURL = "127.0.0.1:2380" }, "store.peer_url", "is not a URL of the form http://IP:port"},
		{"peer url bad scheme", func(c *Config) { c.Store.PeerURL = "unix://127.0.0.1:2380" }, "store.peer_url", `scheme "unix" is not http or https`},
		{"peer url no port", func(c *Config) { c.Store.PeerURL = "http://127.0.0.1" }, "store.peer_url", "has no port"},
		{"tls ca without endpoints", func(c *Config) { c.Store.TLSCAFile = "validate_test.go" }, "store.tls_ca_file", "is set but store.endpoints is empty; TLS applies only to an external etcd cluster"},
		{"tls server name without endpoints", func(c *Config) { c.Store.TLSServerName = "etcd.example.com" }, "store.tls_server_name", "is set but store.endpoints is empty"},
		{"tls with an http endpoint", tlsStore(func(s *Store) {
			s.Endpoints = []string{"https://10.0.0.1:2379", "http://10.0.0.2:2379"}
			s.TLSCAFile = "validate_test.go"
		}), "store.endpoints[1]", `"http://10.0.0.2:2379" is http:// but TLS is configured`},
		{"tls ca missing", tlsStore(func(s *Store) { s.TLSCAFile = "no-such-dir/ca.pem" }), "store.tls_ca_file", `"no-such-dir/ca.pem": no such file or directory`},
		{"tls ca is a directory", tlsStore(func(s *Store) { s.TLSCAFile = "." }), "store.tls_ca_file", `"." is a directory, not a file`},
		{"tls cert missing", tlsStore(func(s *Store) { s.TLSCertFile, s.TLSKeyFile = "no-such.pem", "validate_test.go" }), "store.tls_cert_file", `"no-such.pem": no such file or directory`},
		{"tls key missing", tlsStore(func(s *Store) { s.TLSCertFile, s.TLSKeyFile = "validate_test.go", "no-such.key" }), "store.tls_key_file", `"no-such.key": no such file or directory`},
		{"tls cert without key", tlsStore(func(s *Store) { s.TLSCertFile = "validate_test.go" }), "store.tls_key_file", "is required when store.tls_cert_file is set"},
		{"tls key without cert", tlsStore(func(s *Store) { s.TLSKeyFile = "validate_test.go" }), "store.tls_cert_file", "is required when store.tls_key_file is set"},
		{"tls server name bad", tlsStore(func(s *Store) { s.TLSServerName = "etcd one" }), "store.tls_server_name", `"etcd one" is not an IP address or DNS name`},

		{"hmac key not hex", func(c *Config) { c.Privacy.HMACKeyHex = "zz" + hexKey(32)[2:] }, "privacy.hmac_key", "is not hex: want at least 32 bytes (64 hex digits)"},
		{"hmac key odd length", func(c *Config) { c.Privacy.HMACKeyHex = hexKey(32) + "0" }, "privacy.hmac_key", "has an odd number of hex digits (65)"},
		{"hmac key short", func(c *Config) { c.Privacy.HMACKeyHex = hexKey(31) }, "privacy.hmac_key", "is 31 bytes; want at least 32 bytes (64 hex digits)"},
		{"encryption key short", func(c *Config) { c.Privacy.EncryptionKeyHex = hexKey(16) }, "privacy.encryption_key", "is 16 bytes; want exactly 32 bytes (64 hex digits)"},
		{"encryption key long", func(c *Config) { c.Privacy.EncryptionKeyHex = hexKey(33) }, "privacy.encryption_key", "is 33 bytes; want exactly 32"},
		{"encryption key with 0x", func(c *Config) { c.Privacy.EncryptionKeyHex = "0x" + hexKey(31) }, "privacy.encryption_key", "is not hex"},
		{"old key empty", func(c *Config) { c.Privacy.OldEncryptionKeysHex = []string{oldKeyHex, ""} }, "privacy.old_encryption_keys[1]", "is empty"},
		{"old key short", func(c *Config) { c.Privacy.OldEncryptionKeysHex = []string{hexKey(24)} }, "privacy.old_encryption_keys[0]", "is 24 bytes; want exactly 32"},
		{"hmac key required with external store", func(c *Config) {
			c.Store.Endpoints = []string{"10.0.0.1:2379"}
			c.Privacy.EncryptionKeyHex = encKeyHex
		}, "privacy.hmac_key", "is required with an external etcd cluster (store.endpoints): every node must share it; set it or RINGPROOF_PRIVACY_HMAC_KEY"},
		{"encryption key required with external store", func(c *Config) {
			c.Store.Endpoints = []string{"10.0.0.1:2379"}
			c.Privacy.HMACKeyHex = hmacKeyHex
		}, "privacy.encryption_key", "is required with an external etcd cluster (store.endpoints): every node must share it; set it or RINGPROOF_PRIVACY_ENCRYPTION_KEY"},
		{"retention zero", func(c *Config) { c.Privacy.RetentionDays = 0 }, "privacy.retention_days", "0 is out of range 1..3650"},
		{"signing key required with external store", func(c *Config) {
			c.Store.Endpoints = []string{"10.0.0.1:2379"}
			c.Privacy.HMACKeyHex, c.Privacy.EncryptionKeyHex = hmacKeyHex, encKeyHex
		}, "privacy.signing_key", "is required with an external etcd cluster (store.endpoints): every node must share it; set it or RINGPROOF_PRIVACY_SIGNING_KEY"},
		{"signing key short", func(c *Config) { c.Privacy.SigningKeyHex = hexKey(31) }, "privacy.signing_key", "is 31 bytes; want exactly 32"},
		{"audit kept less than the data", func(c *Config) { c.Privacy.RetentionDays, c.Privacy.AuditRetentionDays = 90, 60 },
			"privacy.audit_retention_days", "60 is below privacy.retention_days (90)"},
		{"audit retention too long", func(c *Config) { c.Privacy.AuditRetentionDays = 36501 }, "privacy.audit_retention_days", "36501 is out of range 1..36500"},
		{"admin key name with a space", func(c *Config) { c.HTTP.AdminKeys = []AdminKey{{Name: "alice smith", Key: "k-1"}} }, "http.admin_keys[0].name", `"alice smith" holds ' '`},
		{"admin key names repeated", func(c *Config) {
			c.HTTP.AdminKeys = []AdminKey{{Name: "alice", Key: "k-1"}, {Name: "alice", Key: "k-2"}}
		}, "http.admin_keys[1].name", `"alice" is also the name of http.admin_keys[0]`},
		{"named admin key empty", func(c *Config) { c.HTTP.AdminKeys = []AdminKey{{Name: "alice"}} }, "http.admin_keys[0].key", "is empty"},
		{"history backend unknown", func(c *Config) { c.History.Backend = "bolt" }, "history.backend", `"bolt"`},
		{"history postgres without url", func(c *Config) { c.History.Backend = "postgres" }, "history.postgres_url", "is required with history.backend: postgres"},
		{"history postgres url not a url", func(c *Config) {
			c.History = History{Backend: "postgres", PostgresURL: "host=db user=secret-user"}
		}, "history.postgres_url", "is not a postgres://user:password@host:port/database URL"},
		{"embedded history in a cluster", func(c *Config) {
			c.Store.Endpoints = []string{"10.0.0.1:2379"}
			c.Privacy.HMACKeyHex, c.Privacy.EncryptionKeyHex, c.Privacy.SigningKeyHex = hmacKeyHex, encKeyHex, sigKeyHex
		}, "history.postgres_url", "is required with store.endpoints"},
		{"grace too long", func(c *Config) { c.Verification.GraceS = 86401 }, "verification.grace_s", "86401 is out of range 0..86400"},
		{"retention high", func(c *Config) { c.Privacy.RetentionDays = 3651 }, "privacy.retention_days", "3651 is out of range 1..3650"},

		{"no trunks", func(c *Config) { c.Trunks = nil }, "trunks", "at least one trunk is required"},
		{"trunk name empty", trunk(func(t *Trunk) { t.Name = "" }), "trunks[0].name", "is required"},
		{"trunk name repeated", secondTrunk("carrier1"), "trunks[1].name", `"carrier1" is also the name of trunks[0]`},
		{"trunk password variable shared", func(c *Config) {
			c.Trunks[0].Name = "carrier-1"
			secondTrunk("carrier_1")(c)
		}, "trunks[1].name", "share the password variable RINGPROOF_TRUNK_CARRIER_1_PASSWORD"},
		{"trunk address no port", trunk(func(t *Trunk) { t.Address = "127.0.0.1" }), "trunks[0].address", `"127.0.0.1" has no port`},
		{"trunk address empty", trunk(func(t *Trunk) { t.Address = "" }), "trunks[0].address", "is empty"},
		{"trunk address bad host", trunk(func(t *Trunk) { t.Address = "-bad-.example.com:5060" }), "trunks[0].address", "is not an IP address or DNS name"},
		{"trunk transport tls without a TLS listener", trunk(func(t *Trunk) { t.Transport = "tls" }), "trunks[0].transport", "tls needs sip.tls_listen"},
		{"trunk transport other", trunk(func(t *Trunk) { t.Transport = "UDP" }), "trunks[0].transport", `"UDP" is not one of udp, tcp, tls`},
		{"trunk max cps zero", trunk(func(t *Trunk) { t.MaxCPS = 0 }), "trunks[0].max_cps", "0 is below the minimum 1"},
		{"trunk username without password", trunk(func(t *Trunk) { t.Username = "alice" }), "trunks[0].password", "is required when username is set (or set RINGPROOF_TRUNK_CARRIER1_PASSWORD)"},
		{"trunk username control", trunk(func(t *Trunk) { t.Username, t.Password = "al\nice", "pw" }), "trunks[0].username", "control character"},
		{"trunk domain bad", trunk(func(t *Trunk) { t.Domain = "sip.example.com:5060" }), "trunks[0].domain", "is not an IP address or DNS name"},
		{"trunk inbound cidr bad", trunk(func(t *Trunk) { t.InboundCIDRs = []string{"203.0.113.0/24", "203.0.113.0/33"} }),
			"trunks[0].inbound_cidrs[1]", `"203.0.113.0/33" is not a CIDR prefix`},
		{"trunk inbound cidr hostname", trunk(func(t *Trunk) { t.InboundCIDRs = []string{"sip.carrier.example"} }),
			"trunks[0].inbound_cidrs[0]", "is not a CIDR prefix (203.0.113.0/24, 2001:db8::/32) or IP address"},
		{"trunk inbound cidr empty", trunk(func(t *Trunk) { t.InboundCIDRs = []string{""} }), "trunks[0].inbound_cidrs[0]", `"" is not a CIDR prefix`},
		{"trunk inbound cidr spaces", trunk(func(t *Trunk) { t.InboundCIDRs = []string{" 10.0.0.1"} }), "trunks[0].inbound_cidrs[0]", "is not a CIDR prefix"},
		{"trunk inbound cidr zone", trunk(func(t *Trunk) { t.InboundCIDRs = []string{"fe80::1%eth0"} }), "trunks[0].inbound_cidrs[0]", "has an IPv6 zone"},
		{"trunk inbound cidr on the second trunk", func(c *Config) {
			secondTrunk("carrier2")(c)
			c.Trunks[1].InboundCIDRs = []string{"10.0.0.0/8", "10.1.2.3-10.1.2.9"}
		}, "trunks[1].inbound_cidrs[1]", `"10.1.2.3-10.1.2.9"`},
		{"trunk region three letters", trunk(func(t *Trunk) { t.Region = "GBR" }), "trunks[0].region", `"GBR" is not an ISO 3166-1 alpha-2 region`},
		{"trunk region digit", trunk(func(t *Trunk) { t.Region = "G1" }), "trunks[0].region", "is not an ISO 3166-1 alpha-2 region"},
		{"trunk region numeric", trunk(func(t *Trunk) { t.Region = "44" }), "trunks[0].region", "is not an ISO 3166-1 alpha-2 region"},
		{"trunk region non-ASCII", trunk(func(t *Trunk) { t.Region = "ſ" }), "trunks[0].region", "is not an ISO 3166-1 alpha-2 region"},

		{"no callers", func(c *Config) { c.Callers = nil }, "callers", "at least one number range is required"},
		{"caller not e164", func(c *Config) { c.Callers = []string{"+442079460000", "+4420x"} }, "callers[1]", `"+4420x" is not an E.164 number`},
		{"caller reversed", func(c *Config) { c.Callers = []string{"+442079469999-+442079460000"} }, "callers[0]", "start is after end"},
		{"caller lengths differ", func(c *Config) { c.Callers = []string{"+44207946000-+442079469999"} }, "callers[0]", "ends have different lengths"},
		{"caller shorter than code", func(c *Config) {
			c.Callers = []string{"+12345678"}
			c.FlashCall.CodeLength = 9
		}, "callers[0]", "needs more than flashcall.code_length (9)"},
		{"callers overlap", func(c *Config) {
			c.Callers = []string{"+442079460000-+442079460099", "+442079460050-+442079460199"}
		}, "callers[1]", `overlaps callers[0] "+442079460000-+442079460099"`},
		{"callers overlap listed in reverse", func(c *Config) {
			c.Callers = []string{"+442079460050-+442079460199", "+442079460000-+442079460099"}
		}, "callers[1]", "overlaps callers[0]"},
		{"callers repeat a number", func(c *Config) {
			c.Callers = []string{"+442079460000-+442079460099", "+12025550100", "+442079460099"}
		}, "callers[2]", "overlaps callers[0]"},
		{"callers overlap a wide earlier range", func(c *Config) {
			c.Callers = []string{"+442079460000-+442079469999", "+442079461000-+442079461009", "+442079465000"}
		}, "callers[2]", "overlaps callers[0]"},

		{"inbound number not e164", func(c *Config) { c.Inbound.Numbers = []string{"01632960000"} }, "inbound.numbers[0]", `"01632960000" is not an E.164 number`},
		{"inbound numbers reversed", func(c *Config) { c.Inbound.Numbers = []string{"+441632960009-+441632960000"} }, "inbound.numbers[0]", "start is after end"},
		{"inbound numbers overlap", func(c *Config) {
			c.Inbound.Numbers = []string{"+441632960000-+441632960009", "+12025550100", "+441632960005"}
		}, "inbound.numbers[2]", `"+441632960005" overlaps inbound.numbers[0] "+441632960000-+441632960009"`},
		{"inbound numbers overlap listed in reverse", func(c *Config) {
			c.Inbound.Numbers = []string{"+441632960005-+441632960019", "+441632960000-+441632960009"}
		}, "inbound.numbers[1]", "overlaps inbound.numbers[0]"},
		{"final status 2xx", func(c *Config) { c.Inbound.FinalStatus = 200 }, "inbound.final_status", "200 is out of range 400..699"},
		{"final status low", func(c *Config) { c.Inbound.FinalStatus = 399 }, "inbound.final_status", "399 is out of range 400..699"},
		{"final status high", func(c *Config) { c.Inbound.FinalStatus = 700 }, "inbound.final_status", "700 is out of range 400..699"},
		{"inbound ring negative", func(c *Config) { c.Inbound.RingMS = -1 }, "inbound.ring_ms", "-1 is out of range 0..10000"},
		{"inbound ring high", func(c *Config) { c.Inbound.RingMS = 10001 }, "inbound.ring_ms", "10001 is out of range 0..10000"},
		{"unknown caller other", func(c *Config) { c.Inbound.UnknownCaller = "hangup" }, "inbound.unknown_caller", `"hangup" is not one of reject, announce`},
		{"unknown caller empty", func(c *Config) { c.Inbound.UnknownCaller = "" }, "inbound.unknown_caller", `"" is not one of reject, announce`},

		{"code length low", func(c *Config) { c.FlashCall.CodeLength = 2 }, "flashcall.code_length", "2 is out of range 3..6"},
		{"code length high", func(c *Config) { c.FlashCall.CodeLength = 9 }, "flashcall.code_length", "9 is out of range 3..6"},
		{"ring ms negative", func(c *Config) { c.FlashCall.RingMS = -1 }, "flashcall.ring_ms", "-1 is out of range 0..60000"},
		{"ring ms high", func(c *Config) { c.FlashCall.RingMS = 60001 }, "flashcall.ring_ms", "60001 is out of range 0..60000"},
		{"timeout zero", func(c *Config) { c.FlashCall.TimeoutS = 0 }, "flashcall.timeout_s", "0 is out of range 1..120"},
		{"timeout high", func(c *Config) { c.FlashCall.TimeoutS = 121 }, "flashcall.timeout_s", "121 is out of range 1..120"},
		{"cooldown negative", func(c *Config) { c.FlashCall.CooldownS = -1 }, "flashcall.cooldown_s", "-1 is below the minimum 0"},

		{"test number not E.164", func(c *Config) { c.TestNumbers = []TestNumber{{Number: "15005550006", Code: "1234"}} }, "test_numbers[0].number", "does not start with '+'"},
		{"test number twice", func(c *Config) {
			c.TestNumbers = []TestNumber{{Number: "+15005550006", Code: "1234"}, {Number: "+15005550006", Code: "4321"}}
		}, "test_numbers[1].number", `"+15005550006" is also test_numbers[0].number`},
		{"test code too short", func(c *Config) { c.TestNumbers = []TestNumber{{Number: "+15005550006", Code: "123"}} }, "test_numbers[0].code", `"123" must be 4 digits, as flashcall.code_length says`},
		{"test code not digits", func(c *Config) { c.TestNumbers = []TestNumber{{Number: "+15005550006", Code: "12a4"}} }, "test_numbers[0].code", "must be 4 digits"},
		{"test code follows code_length", func(c *Config) {
			c.FlashCall.CodeLength = 6
			c.TestNumbers = []TestNumber{{Number: "+15005550006", Code: "1234"}}
		}, "test_numbers[0].code", "must be 6 digits, as flashcall.code_length says"},

		{"service name twice", func(c *Config) {
			c.Services = []Service{{Name: "shop", APIKeys: []string{"k1"}}, {Name: "shop", APIKeys: []string{"k2"}}}
		}, "services[1].name", `"shop" is also the name of services[0]`},
		{"service named default", func(c *Config) { c.Services = []Service{{Name: "default", APIKeys: []string{"k1"}}} }, "services[0].name", "implicit service"},
		{"service name bad", func(c *Config) { c.Services = []Service{{Name: "my shop", APIKeys: []string{"k1"}}} }, "services[0].name", "is not a service name"},
		{"service key in two services", func(c *Config) {
			c.Services = []Service{{Name: "a", APIKeys: []string{"k1"}}, {Name: "b", APIKeys: []string{"k2", "k1"}}}
		}, "services[1].api_keys[1]", "is also services[0].api_keys[0]; a key belongs to one service"},
		{"service key also an api key", func(c *Config) { c.Services = []Service{{Name: "a", APIKeys: []string{c.HTTP.APIKeys[0]}}} }, "services[0].api_keys[0]", "is also http.api_keys[0]"},
		{"service without keys", func(c *Config) { c.Services = []Service{{Name: "a"}} }, "services[0].api_keys", "at least one key"},
		{"service method unknown", func(c *Config) {
			c.Services = []Service{{Name: "a", APIKeys: []string{"k1"}, Methods: []string{"sms", "pigeon"}}}
		}, "services[0].methods[1]", `"pigeon" is not a method`},
		{"service code length", func(c *Config) { c.Services = []Service{{Name: "a", APIKeys: []string{"k1"}, CodeLength: 9}} }, "services[0].code_length", "out of range 3..6"},
		{"service sms text", func(c *Config) { c.Services = []Service{{Name: "a", APIKeys: []string{"k1"}, SMSText: "no code"}} }, "services[0].sms_text", "must hold {code} exactly once"},
		{"service locale", func(c *Config) { c.Services = []Service{{Name: "a", APIKeys: []string{"k1"}, Locale: "EN"}} }, "services[0].locale", "is not a locale tag"},
		{"service limits", func(c *Config) {
			c.Services = []Service{{Name: "a", APIKeys: []string{"k1"}, Limits: Limits{PerKeyPerMinute: -1}}}
		}, "services[0].limits.per_key_per_minute", "out of range"},
		{"service webhook secret names its variable", func(c *Config) {
			c.Services = []Service{{Name: "a", APIKeys: []string{"k1"}, Webhooks: []Webhook{{URL: "https://a.example/h", Secret: "short", Events: []string{EventVerificationUpdated}}}}}
		}, "services[0].webhooks[0].secret", "or in RINGPROOF_SERVICES_0_WEBHOOKS_0_SECRET"},
		{"service webhook", func(c *Config) {
			c.Services = []Service{{Name: "a", APIKeys: []string{"k1"}, Webhooks: []Webhook{{URL: "ftp://x"}}}}
		}, "services[0].webhooks[0].url", "is not an absolute"},
		{"service test code follows its code length", func(c *Config) {
			c.Services = []Service{{Name: "a", APIKeys: []string{"k1"}, CodeLength: 6, TestNumbers: []TestNumber{{Number: "+15005550006", Code: "1234"}}}}
		}, "services[0].test_numbers[0].code", "must be 6 digits, as services[0].code_length says"},
		{"publishable key of no service", func(c *Config) {
			c.HTTP.PublishableKeys = []PublishableKey{{Key: "pk", Origins: []string{"https://a.example"}, Methods: []string{"flashcall"}, PerIPPerMinute: 5, Service: "shop"}}
		}, "http.publishable_keys[0].service", `"shop" names no service`},

		{"sms from not E.164", func(c *Config) { c.SMS.From = "Ringproof" }, "sms.from", "is not an E.164 number"},
		{"sms text without code", func(c *Config) { c.SMS.Text = "Your code" }, "sms.text", "must hold {code} exactly once"},
		{"sms text with two codes", func(c *Config) { c.SMS.Text = "{code} {code}" }, "sms.text", "must hold {code} exactly once"},
		{"sms text too long", func(c *Config) { c.SMS.Text = strings.Repeat("é", 155) + "{code}" }, "sms.text", "takes 161 of the 160 characters"},
		{"sms text extension characters count twice", func(c *Config) { c.SMS.Text = strings.Repeat("€", 78) + "{code}" }, "sms.text", "takes 162 of the 160"},
		{"sms text in UCS-2", func(c *Config) { c.SMS.Text = "Ваш код {code}. " + strings.Repeat("я", 56) }, "sms.text", "takes 72 of the 70 characters of one SMS: a character outside the GSM"},
		{"sms text control", func(c *Config) { c.SMS.Text = "code:\x00{code}" }, "sms.text", "control character"},
		{"sms timeout zero", func(c *Config) { c.SMS.TimeoutS = 0 }, "sms.timeout_s", "0 is out of range 1..32"},
		{"sms timeout high", func(c *Config) { c.SMS.TimeoutS = 33 }, "sms.timeout_s", "33 is out of range 1..32"},

		{"masking number bad", func(c *Config) { c.Masking.Numbers = []string{"+4420"} }, "masking.numbers[0]", "is not an E.164 number"},
		{"masking overlaps inbound", func(c *Config) { c.Masking.Numbers = []string{"+441632960005-+441632960020"} }, "masking.numbers[0]", "overlaps inbound.numbers[0]"},
		{"masking ttl low", func(c *Config) { c.Masking.MaxTTLS = 59 }, "masking.max_ttl_s", "59 is out of range 60..2592000"},
		{"masking unknown caller", func(c *Config) { c.Masking.UnknownCaller = "hangup" }, "masking.unknown_caller", `"hangup" is not one of announce, reject`},
		{"masking max call low", func(c *Config) { c.Masking.MaxCallS = 59 }, "masking.max_call_s", "59 is out of range 60..86400"},
		{"masking answer timeout high", func(c *Config) { c.Masking.AnswerTimeoutS = 181 }, "masking.answer_timeout_s", "181 is out of range 5..180"},

		{"expiry low", func(c *Config) { c.Verification.ExpiryS = 29 }, "verification.expiry_s", "29 is out of range 30..86400"},
		{"expiry high", func(c *Config) { c.Verification.ExpiryS = 86401 }, "verification.expiry_s", "86401 is out of range 30..86400"},
		{"attempts zero", func(c *Config) { c.Verification.MaxAttempts = 0 }, "verification.max_attempts", "0 is out of range 1..10"},
		{"attempts high", func(c *Config) { c.Verification.MaxAttempts = 11 }, "verification.max_attempts", "11 is out of range 1..10"},
		{"per hour zero", func(c *Config) { c.Verification.MaxPerNumberPerHour = 0 }, "verification.max_per_number_per_hour", "0 is below the minimum 1"},

		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level", `"verbose" is not one of debug, info, warn, error`},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", `"xml" is not one of text, json`},
		{"UDP reader", func(c *Config) { c.SIP.UDPReader = "epoll" }, "sip.udp_reader", `"epoll" is not one of thread, poller`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mod(c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, fe := range FieldErrors(err) {
				if fe.Key == tt.key && strings.Contains(fe.Problem, tt.problem) {
					return
				}
			}
			t.Fatalf("Validate() = %q\nwant a problem at %s containing %q", err, tt.key, tt.problem)
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"ipv6 listens", func(c *Config) { c.HTTP.Listen, c.SIP.Listen = "[::1]:8080", "[2001:db8::1]:5060" }},
		{"http on all interfaces", func(c *Config) { c.HTTP.Listen = "0.0.0.0:8080" }},
		{"sms text of exactly one GSM message", func(c *Config) { c.SMS.Text = strings.Repeat("a", 154) + "{code}" }},
		{"sms text of exactly one UCS-2 message", func(c *Config) { c.SMS.Text = "Ваш код {code}. " + strings.Repeat("я", 54) }},
		{"sms from", func(c *Config) { c.SMS.From = "+15005550006" }},
		{"test numbers", func(c *Config) {
			c.TestNumbers = []TestNumber{{Number: "+15005550006", Code: "0000"}, {Number: "+447700900123", Code: "4242"}}
		}},
		{"external store", func(c *Config) {
			c.Store.Endpoints = []string{"https://etcd1.example.com:2379", "10.0.0.2:2379", "etcd3:2379"}
			c.Store.DataDir = ""
			c.Privacy.HMACKeyHex, c.Privacy.EncryptionKeyHex, c.Privacy.SigningKeyHex = hmacKeyHex, encKeyHex, sigKeyHex
			c.History = History{Backend: "postgres", PostgresURL: "postgresql://u:p@db.example:5432/ringproof?sslmode=verify-full"}
		}},
		{"no grace", func(c *Config) { c.Verification.GraceS = 0 }},
		{"localhost bind urls", func(c *Config) { c.Store.ClientURL, c.Store.PeerURL = "https://localhost:2379", "http://[::1]:2380" }},
		{"tcp trunk by name with auth", func(c *Config) {
			c.Trunks[0] = Trunk{Name: "carrier-2", Address: "sip.carrier.example:5060", Transport: "tcp",
				Username: "alice", Password: "secret", MaxCPS: 1, Domain: "carrier.example", Weight: 1, ResponseTimeoutS: 5, RegisterExpiresS: 60}
		}},
		{"adjacent callers", func(c *Config) {
			c.Callers = []string{"+442079460000-+442079460099", "+442079460100-+442079460199", "+12025550100"}
		}},
		{"edges of ranges", func(c *Config) {
			c.FlashCall = FlashCall{CodeLength: 6, RingMS: 60000, TimeoutS: 120, CooldownS: 0}
			c.Verification = Verification{ExpiryS: 86400, MaxAttempts: 10, MaxPerNumberPerHour: 1}
		}},
		{"short api key", func(c *Config) { c.HTTP.APIKeys = []string{"k"} }},
		{"admin keys distinct from api keys", func(c *Config) { c.HTTP.AdminKeys = AdminKeysOf("admin-1", "admin-2") }},
		{"rtp ip and port edges", func(c *Config) {
			c.Media.RTPIP, c.Media.RTPPortMin, c.Media.RTPPortMax = "192.0.2.10", 1024, 1025
		}},
		{"rtp ipv6 and top ports", func(c *Config) {
			c.Media.RTPIP, c.Media.RTPPortMin, c.Media.RTPPortMax = "2001:db8::10", 65534, 65535
		}},
		{"media edges", func(c *Config) {
			c.Media.NoRTPTimeoutS, c.Media.MaxCallS, c.Media.VoiceRepeat = 300, 5, 5
		}},
		{"media other edges", func(c *Config) {
			c.Media.NoRTPTimeoutS, c.Media.MaxCallS, c.Media.VoiceRepeat = 1, 3600, 1
		}},
		{"prompts dir", func(c *Config) { c.Media.PromptsDir = os.TempDir() }},
		{"prompts dir relative", func(c *Config) { c.Media.PromptsDir = "." }},
		{"locale with region", func(c *Config) { c.Media.DefaultLocale = "pt-BR" }},
		{"locale with script and region", func(c *Config) { c.Media.DefaultLocale = "zh-Hant-TW" }},
		{"three-letter locale", func(c *Config) { c.Media.DefaultLocale = "yue" }},
		{"tls to an external cluster", tlsStore(func(s *Store) {
			s.Endpoints = []string{"https://10.0.0.1:2379", "10.0.0.2:2379"}
			s.TLSCAFile, s.TLSCertFile, s.TLSKeyFile = "validate_test.go", "validate.go", "conf.go"
			s.TLSServerName = "etcd.internal"
		})},
		{"tls with only a CA", tlsStore(func(s *Store) { s.TLSCAFile = "validate_test.go" })},
		{"tls with only a server name", tlsStore(func(s *Store) { s.TLSServerName = "10.0.0.9" })},
		{"privacy keys", func(c *Config) {
			c.Privacy = Privacy{
				HMACKeyHex:           strings.ToUpper(hexKey(64)),
				EncryptionKeyHex:     encKeyHex,
				OldEncryptionKeysHex: []string{oldKeyHex, hexKey(32)},
				RetentionDays:        3650,
				SigningKeyHex:        sigKeyHex,
				AuditRetentionDays:   3650,
			}
		}},
		{"only some privacy keys with the embedded store", func(c *Config) {
			c.Privacy.EncryptionKeyHex, c.Privacy.RetentionDays = encKeyHex, 1
		}},
		{"trunk inbound cidrs, pai and region", func(c *Config) {
			c.Trunks[0].InboundCIDRs = []string{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7", "2001:db8:1::5", "203.0.113.9/24"}
			c.Trunks[0].TrustPAI = true
			c.Trunks[0].Region = "GB"
		}},
		{"trunk region lower-case", func(c *Config) { c.Trunks[0].Region = "us" }},
		{"no inbound numbers", func(c *Config) { c.Inbound.Numbers = nil }},
		{"adjacent inbound numbers", func(c *Config) {
			c.Inbound.Numbers = []string{"+441632960000-+441632960009", "+441632960010", "+12025550100"}
		}},
		{"inbound numbers may be callers", func(c *Config) { c.Inbound.Numbers = []string{"+442079460000"} }},
		{"inbound edges", func(c *Config) { c.Inbound = Inbound{FinalStatus: 400, RingMS: 10000, UnknownCaller: "announce"} }},
		{"inbound other edges", func(c *Config) { c.Inbound.FinalStatus, c.Inbound.RingMS = 699, 0 }},
		{"json debug logs", func(c *Config) { c.Log = Log{Level: "debug", Format: "json"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mod(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Trunks[0].Address = "127.0.0.1"
	c.FlashCall.CodeLength = 9
	c.Callers = append(c.Callers, "+4420x")
	err := c.Validate()
	want := []string{
		`trunks[0].address: "127.0.0.1" has no port`,
		`callers[1]: "+4420x" is not an E.164 number`,
		`flashcall.code_length: 9 is out of range 3..6`,
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() = %v\nwant it to contain %q", err, w)
		}
	}
	if got := len(FieldErrors(err)); got != len(want) {
		t.Errorf("FieldErrors found %d problems, want %d: %v", got, len(want), err)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Key != "trunks[0].address" {
		t.Errorf("errors.As gave %+v, want the first problem, at trunks[0].address", fe)
	}
}

func TestValidateKeepsSecretsOutOfErrors(t *testing.T) {
	c := Default()
	c.HTTP.APIKeys = []string{"sup3r secret", "shared-k3y"}
	c.HTTP.AdminKeys = AdminKeysOf("shared-k3y", "adm1n secret")
	c.Store.Password = "st0re-secret"
	c.Trunks[0].Password = "trunk-secret"
	c.Trunks[0].Address = "nowhere"
	c.Privacy.HMACKeyHex = "5ecret" + "g" + hexKey(31)
	c.Privacy.EncryptionKeyHex = "5ecre7" + hexKey(1)
	c.Privacy.OldEncryptionKeysHex = []string{"01d5ecret"}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	if n := len(FieldErrors(err)); n != 7 {
		t.Errorf("Validate() found %d problems, want 7: %v", n, err)
	}
	for _, secret := range []string{"sup3r", "shared-k3y", "adm1n", "st0re-secret", "trunk-secret", "5ecre", "'g'", "01d5ecret"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows the secret %q", err, secret)
		}
	}
}

func TestInboundPrefixes(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	tests := []struct {
		name    string
		address string
		cidrs   []string
		want    []netip.Prefix
	}{
		{"default is the IPv4 address", "203.0.113.5:5060", nil, pfx("203.0.113.5/32")},
		{"default is the IPv6 address without zone", "[fe80::1%eth0]:5060", nil, pfx("fe80::1/128")},
		{"default unmaps an IPv4-mapped address", "[::ffff:203.0.113.5]:5060", nil, pfx("203.0.113.5/32")},
		{"no default for a DNS name", "sip.carrier.example:5060", nil, nil},
		{"no default for a bad address", "nowhere", nil, nil},
		{"listed prefixes replace the default", "sip.carrier.example:5060",
			[]string{"203.0.113.0/24", "2001:db8::/32"}, pfx("203.0.113.0/24", "2001:db8::/32")},
		{"single addresses", "203.0.113.5:5060", []string{"198.51.100.7", "2001:db8::5"}, pfx("198.51.100.7/32", "2001:db8::5/128")},
		{"host bits cleared", "203.0.113.5:5060", []string{"203.0.113.77/24", "2001:db8::1/32"}, pfx("203.0.113.0/24", "2001:db8::/32")},
		{"IPv4-mapped unmapped", "203.0.113.5:5060", []string{"::ffff:198.51.100.0/120", "::ffff:198.51.100.9"}, pfx("198.51.100.0/24", "198.51.100.9/32")},
		{"short IPv4-mapped prefix stays IPv6", "203.0.113.5:5060", []string{"::ffff:0:0/95"}, pfx("::fffe:0:0/95")},
		{"nil if any does not parse", "203.0.113.5:5060", []string{"198.51.100.7", "bad"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := Trunk{Name: "t", Address: tt.address, InboundCIDRs: tt.cidrs}
			if got := tr.InboundPrefixes(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("InboundPrefixes() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInboundRanges(t *testing.T) {
	c := Default()
	rs := c.InboundRanges()
	if len(rs) != 1 || rs[0].String() != "+441632960000-+441632960009" || rs[0].Size() != 10 {
		t.Errorf("Default().InboundRanges() = %v", rs)
	}
	c.Inbound.Numbers = []string{"+441632960000", "bad"}
	if rs := c.InboundRanges(); rs != nil {
		t.Errorf("InboundRanges() with a bad element = %v, want nil", rs)
	}
}

func TestPrivacyKeys(t *testing.T) {
	t.Run("empty gives nil", func(t *testing.T) {
		var p Privacy
		h, err1 := p.HMACKey()
		e, err2 := p.EncryptionKey()
		o, err3 := p.OldEncryptionKeys()
		if h != nil || e != nil || o != nil || err1 != nil || err2 != nil || err3 != nil {
			t.Errorf("got %v %v %v, errors %v %v %v; want all nil", h, e, o, err1, err2, err3)
		}
	})
	t.Run("decodes hex", func(t *testing.T) {
		p := Privacy{HMACKeyHex: hexKey(48), EncryptionKeyHex: encKeyHex, OldEncryptionKeysHex: []string{oldKeyHex, encKeyHex}}
		h, err := p.HMACKey()
		if err != nil || len(h) != 48 || h[0] != 0x0f {
			t.Errorf("HMACKey() = %x, %v", h, err)
		}
		e, err := p.EncryptionKey()
		if err != nil || len(e) != 32 || e[31] != 0xab {
			t.Errorf("EncryptionKey() = %x, %v", e, err)
		}
		o, err := p.OldEncryptionKeys()
		if err != nil || len(o) != 2 || len(o[0]) != 32 || o[0][0] != 0xcd || o[1][0] != 0xab {
			t.Errorf("OldEncryptionKeys() = %x, %v", o, err)
		}
	})
	tests := []struct {
		name, key string
		p         Privacy
		get       func(Privacy) error
	}{
		{"hmac not hex", "privacy.hmac_key", Privacy{HMACKeyHex: "5ecret" + hexKey(32)},
			func(p Privacy) error { _, err := p.HMACKey(); return err }},
		{"hmac short", "privacy.hmac_key", Privacy{HMACKeyHex: hexKey(16)},
			func(p Privacy) error { _, err := p.HMACKey(); return err }},
		{"encryption long", "privacy.encryption_key", Privacy{EncryptionKeyHex: hexKey(64)},
			func(p Privacy) error { _, err := p.EncryptionKey(); return err }},
		{"old key bad", "privacy.old_encryption_keys[1]", Privacy{OldEncryptionKeysHex: []string{oldKeyHex, "5ecret"}},
			func(p Privacy) error { _, err := p.OldEncryptionKeys(); return err }},
		{"old key empty", "privacy.old_encryption_keys[0]", Privacy{OldEncryptionKeysHex: []string{""}},
			func(p Privacy) error { _, err := p.OldEncryptionKeys(); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.get(tt.p)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Key != tt.key {
				t.Fatalf("error = %v, want a *FieldError for %s", err, tt.key)
			}
			if strings.Contains(err.Error(), "5ecret") || strings.Contains(err.Error(), "0f0f") {
				t.Errorf("error %q shows the key", err)
			}
		})
	}
}

// tlsStore returns a Config change that points the store at an external
// https:// cluster, with the privacy keys it requires, then applies mod.
func tlsStore(mod func(*Store)) func(*Config) {
	return func(c *Config) {
		c.Store.Endpoints = []string{"https://10.0.0.1:2379"}
		c.Privacy.HMACKeyHex, c.Privacy.EncryptionKeyHex, c.Privacy.SigningKeyHex = hmacKeyHex, encKeyHex, sigKeyHex
		c.History = History{Backend: "postgres", PostgresURL: "postgres://ringproof@10.0.0.5:5432/ringproof"}
		mod(&c.Store)
	}
}

func TestWebhooksValidated(t *testing.T) {
	c := Default()
	c.Webhooks = []Webhook{
		{URL: "https://app.example.com/hook", Secret: "0123456789abcdef", Events: []string{EventVerificationUpdated}},
		{URL: "ftp://x", Secret: "short", Events: []string{"verification.update"}},
		{URL: "", Secret: "0123456789abcdef"},
		{URL: "https://user:pw@app.example.com/", Secret: "0123456789abcdef", Events: []string{EventMaskingCallEnded}},
	}
	err := c.Validate()
	for _, want := range []string{
		`webhooks[1].url: "ftp://x" is not an absolute http:// or https:// URL`,
		`webhooks[1].secret: must be at least 16 characters`,
		`webhooks[1].events[0]: "verification.update" is not an event; events: verification.updated, masking.call_ended`,
		`webhooks[2].url: is required`,
		`webhooks[2].events: at least one event is required`,
		`webhooks[3].url: must not hold a user or password`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v\nwant it to contain %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "webhooks[0]") {
		t.Errorf("a good subscription refused: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "pw@") {
		t.Errorf("the URL's password is shown: %v", err)
	}
}
