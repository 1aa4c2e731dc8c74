package conf

import (
	"errors"
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
		{"client url hostname", func(c *Config) { c.Store.ClientURL = "http://etcd.example.com:2379" }, "store.client_url", "is not an IP address or localhost"},
		{"client url path", func(c *Config) { c.Store.ClientURL = "http://127.0.0.1:2379/" }, "store.client_url", "want only scheme://host:port"},
		{"peer url no scheme", func(c *Config) { c.Store.PeerURL = "127.0.0.1:2380" }, "store.peer_url", "is not a URL of the form http://IP:port"},
		{"peer url bad scheme", func(c *Config) { c.Store.PeerURL = "unix://127.0.0.1:2380" }, "store.peer_url", `scheme "unix" is not http or https`},
		{"peer url no port", func(c *Config) { c.Store.PeerURL = "http://127.0.0.1" }, "store.peer_url", "has no port"},

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
		{"trunk transport tls", trunk(func(t *Trunk) { t.Transport = "tls" }), "trunks[0].transport", `"tls" is not supported yet`},
		{"trunk transport other", trunk(func(t *Trunk) { t.Transport = "UDP" }), "trunks[0].transport", `"UDP" is not one of udp, tcp`},
		{"trunk max cps zero", trunk(func(t *Trunk) { t.MaxCPS = 0 }), "trunks[0].max_cps", "0 is below the minimum 1"},
		{"trunk username without password", trunk(func(t *Trunk) { t.Username = "alice" }), "trunks[0].password", "is required when username is set (or set RINGPROOF_TRUNK_CARRIER1_PASSWORD)"},
		{"trunk username control", trunk(func(t *Trunk) { t.Username, t.Password = "al\nice", "pw" }), "trunks[0].username", "control character"},
		{"trunk domain bad", trunk(func(t *Trunk) { t.Domain = "sip.example.com:5060" }), "trunks[0].domain", "is not an IP address or DNS name"},

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

		{"code length low", func(c *Config) { c.FlashCall.CodeLength = 2 }, "flashcall.code_length", "2 is out of range 3..6"},
		{"code length high", func(c *Config) { c.FlashCall.CodeLength = 9 }, "flashcall.code_length", "9 is out of range 3..6"},
		{"ring ms negative", func(c *Config) { c.FlashCall.RingMS = -1 }, "flashcall.ring_ms", "-1 is out of range 0..60000"},
		{"ring ms high", func(c *Config) { c.FlashCall.RingMS = 60001 }, "flashcall.ring_ms", "60001 is out of range 0..60000"},
		{"timeout zero", func(c *Config) { c.FlashCall.TimeoutS = 0 }, "flashcall.timeout_s", "0 is out of range 1..120"},
		{"timeout high", func(c *Config) { c.FlashCall.TimeoutS = 121 }, "flashcall.timeout_s", "121 is out of range 1..120"},
		{"cooldown negative", func(c *Config) { c.FlashCall.CooldownS = -1 }, "flashcall.cooldown_s", "-1 is below the minimum 0"},

		{"expiry low", func(c *Config) { c.Verification.ExpiryS = 29 }, "verification.expiry_s", "29 is out of range 30..86400"},
		{"expiry high", func(c *Config) { c.Verification.ExpiryS = 86401 }, "verification.expiry_s", "86401 is out of range 30..86400"},
		{"attempts zero", func(c *Config) { c.Verification.MaxAttempts = 0 }, "verification.max_attempts", "0 is out of range 1..10"},
		{"attempts high", func(c *Config) { c.Verification.MaxAttempts = 11 }, "verification.max_attempts", "11 is out of range 1..10"},
		{"per hour zero", func(c *Config) { c.Verification.MaxPerNumberPerHour = 0 }, "verification.max_per_number_per_hour", "0 is below the minimum 1"},

		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level", `"verbose" is not one of debug, info, warn, error`},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", `"xml" is not one of text, json`},
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
		{"external store", func(c *Config) {
			c.Store.Endpoints = []string{"https://etcd1.example.com:2379", "10.0.0.2:2379", "etcd3:2379"}
			c.Store.DataDir = ""
		}},
		{"localhost bind urls", func(c *Config) { c.Store.ClientURL, c.Store.PeerURL = "http://localhost:2379", "https://[::1]:2380" }},
		{"tcp trunk by name with auth", func(c *Config) {
			c.Trunks[0] = Trunk{Name: "carrier-2", Address: "sip.carrier.example:5060", Transport: "tcp",
				Username: "alice", Password: "secret", MaxCPS: 1, Domain: "carrier.example"}
		}},
		{"adjacent callers", func(c *Config) {
			c.Callers = []string{"+442079460000-+442079460099", "+442079460100-+442079460199", "+12025550100"}
		}},
		{"edges of ranges", func(c *Config) {
			c.FlashCall = FlashCall{CodeLength: 6, RingMS: 60000, TimeoutS: 120, CooldownS: 0}
			c.Verification = Verification{ExpiryS: 86400, MaxAttempts: 10, MaxPerNumberPerHour: 1}
		}},
		{"short api key", func(c *Config) { c.HTTP.APIKeys = []string{"k"} }},
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
	c.HTTP.APIKeys = []string{"sup3r secret"}
	c.Store.Password = "st0re-secret"
	c.Trunks[0].Password = "trunk-secret"
	c.Trunks[0].Address = "nowhere"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	for _, secret := range []string{"sup3r", "st0re-secret", "trunk-secret"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows the secret %q", err, secret)
		}
	}
}
