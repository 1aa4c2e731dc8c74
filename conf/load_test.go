package conf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Privacy keys for tests; hexKey(n) is n bytes.
var (
	hmacKeyHex = hexKey(32)
	encKeyHex  = strings.Repeat("ab", 32)
	oldKeyHex  = strings.Repeat("CD", 32)
	sigKeyHex  = strings.Repeat("5e", 32)
	// sharedKeys is the privacy and history sections an external store
	// needs.
	sharedKeys = "privacy:\n  hmac_key: " + hmacKeyHex + "\n  encryption_key: " + encKeyHex + "\n  signing_key: " + sigKeyHex + "\n" +
		"history:\n  backend: postgres\n  postgres_url: postgres://ringproof@10.0.0.5:5432/ringproof\n"
)

func hexKey(n int) string { return strings.Repeat("0f", n) }

// env returns a getenv that reads m instead of the process environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseEmptyGivesDefault(t *testing.T) {
	for _, data := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		c, err := Parse([]byte(data), nil)
		if err != nil {
			t.Fatalf("Parse(%q) = %v", data, err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("Parse(%q) = %+v, want Default()", data, c)
		}
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, c *Config)
	}{
		{"absent keys keep defaults", "flashcall:\n  code_length: 6\n", func(t *testing.T, c *Config) {
			want := Default()
			want.FlashCall.CodeLength = 6
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got %+v\nwant %+v", c, want)
			}
		}},
		{"explicit zero is kept", "flashcall:\n  cooldown_s: 0\n", func(t *testing.T, c *Config) {
			if c.FlashCall.CooldownS != 0 {
				t.Errorf("cooldown_s = %d, want 0", c.FlashCall.CooldownS)
			}
		}},
		{"trunks replace the default list and get trunk defaults",
			"trunks:\n  - name: a\n    address: sip.a.example:5060\n  - name: b\n    address: 10.0.0.9:5080\n    transport: tcp\n    max_cps: 7\n    domain: b.example\n",
			func(t *testing.T, c *Config) {
				want := []Trunk{
					{Name: "a", Address: "sip.a.example:5060", Transport: "udp", MaxCPS: 100, Domain: "sip.a.example",
						Weight: 1, FailoverOn: defaultFailoverOn(), ResponseTimeoutS: 5, RegisterExpiresS: 3600, OptionsPingS: 30},
					{Name: "b", Address: "10.0.0.9:5080", Transport: "tcp", MaxCPS: 7, Domain: "b.example",
						Weight: 1, FailoverOn: defaultFailoverOn(), ResponseTimeoutS: 5, RegisterExpiresS: 3600, OptionsPingS: 30},
				}
				if !reflect.DeepEqual(c.Trunks, want) {
					t.Errorf("trunks = %+v\nwant %+v", c.Trunks, want)
				}
			}},
		{"callers replace the default list", "callers: [\"+12025550100-+12025550199\", \"+12025550300\"]\n", func(t *testing.T, c *Config) {
			want := []string{"+12025550100-+12025550199", "+12025550300"}
			if !reflect.DeepEqual(c.Callers, want) {
				t.Errorf("callers = %q, want %q", c.Callers, want)
			}
		}},
		{"external store", "store:\n  endpoints: [\"http://10.0.0.1:2379\", \"10.0.0.2:2379\"]\n  data_dir: \"\"\n" + sharedKeys, func(t *testing.T, c *Config) {
			if len(c.Store.Endpoints) != 2 || c.Store.DataDir != "" {
				t.Errorf("store = %+v", c.Store)
			}
		}},
		{"trunk region upper-cased, inbound keys kept",
			"trunks:\n  - name: a\n    address: sip.a.example:5060\n    region: gb\n    trust_pai: true\n    inbound_cidrs: [203.0.113.0/24, \"2001:db8::1\"]\n",
			func(t *testing.T, c *Config) {
				want := []Trunk{{Name: "a", Address: "sip.a.example:5060", Transport: "udp", MaxCPS: 100, Domain: "sip.a.example",
					InboundCIDRs: []string{"203.0.113.0/24", "2001:db8::1"}, TrustPAI: true, Region: "GB",
					Weight: 1, FailoverOn: defaultFailoverOn(), ResponseTimeoutS: 5, RegisterExpiresS: 3600, OptionsPingS: 30}}
				if !reflect.DeepEqual(c.Trunks, want) {
					t.Errorf("trunks = %+v\nwant %+v", c.Trunks, want)
				}
			}},
		{"empty lists read as nil",
			"trunks:\n  - name: a\n    address: 10.0.0.1:5060\n    inbound_cidrs: []\n" +
				"http:\n  admin_keys: []\ninbound:\n  numbers: []\nprivacy:\n  old_encryption_keys: []\n",
			func(t *testing.T, c *Config) {
				if c.Trunks[0].InboundCIDRs != nil || c.HTTP.AdminKeys != nil || c.Inbound.Numbers != nil || c.Privacy.OldEncryptionKeysHex != nil {
					t.Errorf("got %#v, %#v, %#v, %#v; want nil lists",
						c.Trunks[0].InboundCIDRs, c.HTTP.AdminKeys, c.Inbound.Numbers, c.Privacy.OldEncryptionKeysHex)
				}
			}},
		{"new sections", "media:\n  rtp_ip: 192.0.2.1\n  rtp_port_min: 20000\n  rtp_port_max: 20099\n  default_locale: fr\n" +
			"inbound:\n  numbers: [\"+12025550100-+12025550109\"]\n  final_status: 486\n  unknown_caller: announce\n" +
			"privacy:\n  retention_days: 7\n  encryption_key: " + encKeyHex + "\n",
			func(t *testing.T, c *Config) {
				want := Default()
				want.Media.RTPIP, want.Media.RTPPortMin, want.Media.RTPPortMax, want.Media.DefaultLocale = "192.0.2.1", 20000, 20099, "fr"
				want.Inbound = Inbound{Numbers: []string{"+12025550100-+12025550109"}, FinalStatus: 486, UnknownCaller: "announce"}
				want.Privacy.RetentionDays, want.Privacy.EncryptionKeyHex = 7, encKeyHex
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got %+v\nwant %+v", c, want)
				}
			}},
		{"anchors and merge keys inside trunks",
			"trunks:\n  - &a {name: a, address: \"10.0.0.1:5060\", transport: tcp, max_cps: 5}\n  - <<: *a\n    name: b\n",
			func(t *testing.T, c *Config) {
				if len(c.Trunks) != 2 || c.Trunks[1].Name != "b" || c.Trunks[1].Transport != "tcp" || c.Trunks[1].MaxCPS != 5 {
					t.Errorf("trunks = %+v", c.Trunks)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), nil)
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "htttp:\n  listen: 127.0.0.1:8080\n",
			[]string{"htttp: unknown key; known keys here: http, sip, media, store, privacy, routes, default_route, history, trunks, callers, inbound, flashcall, sms, masking, verification, fraud, limits, test_numbers, services, webhooks, log", "(line 1)"}},
		{"unknown nested key", "http:\n  listen: 127.0.0.1:8080\n  apikeys: [a]\n",
			[]string{"http.apikeys: unknown key; known keys here: listen, api_keys, admin_keys, max_body_bytes", "(line 3)"}},
		{"unknown trunk key", "trunks:\n  - name: a\n    address: 10.0.0.1:5060\n    passwd: x\n",
			[]string{"trunks[0].passwd: unknown key;", "(line 4)"}},
		{"every unknown key at once", "foo: 1\nlog:\n  colour: true\n",
			[]string{"foo: unknown key;", "(line 1)\nlog.colour: unknown key; known keys here: level, format, access (line 3)"}},
		{"key set twice", "log:\n  level: info\n  level: debug\n", []string{"log.level: set twice, first on line 2 (line 3)"}},
		// yaml.v3 reports the line of the construct it was in (the
		// mapping that began on line 2), not always the offending one.
		{"syntax error has a line", "http:\n  listen: 127.0.0.1:8080\n api_keys: [a]\n", []string{"yaml: line 2: did not find expected key"}},
		{"unclosed quote has a line", "log:\n  level: info\n  format: \"text\n", []string{"line 3"}},
		{"syntax error on the first line has a line", "a: b: c\nlog:\n  level: info\n", []string{"yaml: line 1: mapping values are not allowed"}},
		{"invalid UTF-8 has a line", "log:\n  level: \xff\n", []string{"yaml: line 2: invalid UTF-8"}},
		{"control character has a line", "log:\n  level: info\n  format: te\x01xt\n", []string{"yaml: line 3: character U+0001 is not allowed"}},
		{"unknown anchor has a line", "log:\n  level: info\n  format: *fmt\n", []string{"yaml: line 3: unknown anchor 'fmt' referenced"}},
		{"tab indentation has a line", "log:\n\tlevel: info\n", []string{"line 2"}},
		{"string for an integer", "flashcall:\n  code_length: four\n", []string{`flashcall.code_length: want an integer, got "four" (line 2)`}},
		{"float for an integer", "flashcall:\n  timeout_s: 1.5\n", []string{`flashcall.timeout_s: want an integer, got "1.5" (line 2)`}},
		{"quoted integer", "flashcall:\n  timeout_s: \"30\"\n", []string{`flashcall.timeout_s: want an integer, got "30"`}},
		{"integer overflow", "http:\n  max_body_bytes: 99999999999999999999999\n", []string{"http.max_body_bytes: want an integer"}},
		{"string for a list", "callers: \"+442079460000\"\n", []string{`callers: want a list, got "+442079460000" (line 1)`}},
		{"list for a string", "sip:\n  listen: [a, b]\n", []string{"sip.listen: want a string, got a list (line 2)"}},
		{"scalar for a section", "log: debug\n", []string{`log: want a mapping of keys, got "debug" (line 1)`}},
		{"list at top level", "- a\n- b\n", []string{"line 1: the document must be a mapping of keys, got a list"}},
		{"second document", "log:\n  level: info\n---\nlog:\n  level: debug\n", []string{"line 3: a second YAML document"}},
		{"self-referencing merge", "log: &l\n  <<: *l\n", []string{"log: merge key refers to a mapping that contains it (line 1)"}},
		{"merge of a scalar", "log:\n  <<: text\n", []string{`log: merge key (<<) wants a mapping, got "text" (line 2)`}},
		{"self-containing list", "trunks: &t [*t]\n", []string{"trunks[0]: want a mapping of keys, got a list (line 1)"}},
		{"exponential merges", expMerges(12), []string{"the document expands through aliases to too many nodes"}},
		{"explicit max_cps 0 is not defaulted", "trunks:\n  - name: a\n    address: 10.0.0.1:5060\n    max_cps: 0\n",
			[]string{"trunks[0].max_cps: 0 is below the minimum 1"}},
		{"empty trunks", "trunks: []\n", []string{"trunks: at least one trunk is required"}},
		// strings.ToUpper would turn the dotless i into I and pass "IE".
		{"region upper-cased as ASCII only", "trunks:\n  - name: a\n    address: 10.0.0.1:5060\n    region: ıe\n",
			[]string{`trunks[0].region: "ıE" is not an ISO 3166-1 alpha-2 region`}},
		{"string for a bool", "trunks:\n  - name: a\n    address: 10.0.0.1:5060\n    trust_pai: \"yes\"\n",
			[]string{`trunks[0].trust_pai: want true or false, got "yes" (line 4)`}},
		{"unknown media key", "media:\n  rtp_port: 5004\n",
			[]string{"media.rtp_port: unknown key; known keys here: rtp_ip, external_ip, rtp_port_min, rtp_port_max", "(line 2)"}},
		{"external store without privacy keys", "store:\n  endpoints: [\"10.0.0.1:2379\"]\n",
			[]string{"privacy.hmac_key: is required with an external etcd cluster", "privacy.encryption_key: is required with an external etcd cluster"}},
		{"null callers", "callers:\n", []string{"callers: at least one number range is required"}},
		{"validation runs", "trunks:\n  - name: a\n    address: 127.0.0.1\nflashcall:\n  code_length: 9\ncallers: [\"+442079460000\", \"+4420x\"]\n",
			[]string{
				`trunks[0].address: "127.0.0.1" has no port`,
				`callers[1]: "+4420x" is not an E.164 number`,
				`flashcall.code_length: 9 is out of range 3..6`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), nil)
			if err == nil {
				t.Fatalf("Parse = %+v, nil; want an error", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse error = %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// expMerges returns a document whose log section merges a mapping that
// merges another twice, and so on n deep: 2^n mappings from n lines.
func expMerges(n int) string {
	var b strings.Builder
	b.WriteString("x0: &m0 {level: info}\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "x%d: &m%d {<<: [*m%d, *m%d, *m%d, *m%d, *m%d, *m%d, *m%d, *m%d]}\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	fmt.Fprintf(&b, "log: *m%d\n", n)
	return b.String()
}

func TestUnknownKeyIsAFieldError(t *testing.T) {
	_, err := Parse([]byte("store:\n  endpoint: [\"10.0.0.1:2379\"]\n"), nil)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Key != "store.endpoint" || !strings.HasPrefix(fe.Problem, "unknown key") {
		t.Fatalf("Parse error = %v; want a *FieldError for store.endpoint", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	const authTrunks = "trunks:\n" +
		"  - name: carrier-1\n    address: 10.0.0.1:5060\n    username: alice\n" +
		"  - name: Backup.Trunk\n    address: 10.0.0.2:5060\n    username: bob\n    password: from-file\n"
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"api keys replace the file's", "http:\n  api_keys: [file-key]\n",
			map[string]string{"RINGPROOF_API_KEYS": " key-a, key-b ,,"},
			func(t *testing.T, c *Config) {
				if want := []string{"key-a", "key-b"}; !reflect.DeepEqual(c.HTTP.APIKeys, want) {
					t.Errorf("api_keys = %q, want %q", c.HTTP.APIKeys, want)
				}
			}},
		{"empty variable counts as unset", "http:\n  api_keys: [file-key]\n",
			map[string]string{"RINGPROOF_API_KEYS": ""},
			func(t *testing.T, c *Config) {
				if want := []string{"file-key"}; !reflect.DeepEqual(c.HTTP.APIKeys, want) {
					t.Errorf("api_keys = %q, want %q", c.HTTP.APIKeys, want)
				}
			}},
		{"api keys apply with no file", "",
			map[string]string{"RINGPROOF_API_KEYS": "prod-key"},
			func(t *testing.T, c *Config) {
				if want := []string{"prod-key"}; !reflect.DeepEqual(c.HTTP.APIKeys, want) {
					t.Errorf("api_keys = %q, want %q", c.HTTP.APIKeys, want)
				}
			}},
		{"store password", "store:\n  endpoints: [\"10.0.0.1:2379\"]\n  username: root\n  password: from-file\n" + sharedKeys,
			map[string]string{"RINGPROOF_STORE_PASSWORD": "from-env"},
			func(t *testing.T, c *Config) {
				if c.Store.Password != "from-env" {
					t.Errorf("store.password = %q, want from-env", c.Store.Password)
				}
			}},
		{"trunk passwords by upper-cased name", authTrunks,
			map[string]string{
				"RINGPROOF_TRUNK_CARRIER_1_PASSWORD":    "alice-env",
				"RINGPROOF_TRUNK_BACKUP_TRUNK_PASSWORD": "bob-env",
			},
			func(t *testing.T, c *Config) {
				if c.Trunks[0].Password != "alice-env" || c.Trunks[1].Password != "bob-env" {
					t.Errorf("passwords = %q, %q", c.Trunks[0].Password, c.Trunks[1].Password)
				}
			}},
		{"admin keys replace the file's", "http:\n  admin_keys: [file-admin]\n",
			map[string]string{"RINGPROOF_ADMIN_KEYS": "adm-a , adm-b"},
			func(t *testing.T, c *Config) {
				if want := AdminKeysOf("adm-a", "adm-b"); !reflect.DeepEqual(c.HTTP.AdminKeys, want) {
					t.Errorf("admin_keys = %q, want %q", c.HTTP.AdminKeys, want)
				}
			}},
		{"admin keys with names", "http:\n  admin_keys:\n    - {name: alice, key: k-a}\n    - k-b\n", nil,
			func(t *testing.T, c *Config) {
				if want := []AdminKey{{Name: "alice", Key: "k-a"}, {Key: "k-b"}}; !reflect.DeepEqual(c.HTTP.AdminKeys, want) {
					t.Errorf("admin_keys = %+v, want %+v", c.HTTP.AdminKeys, want)
				}
				if a, b := c.HTTP.Operator(0), c.HTTP.Operator(1); a != "alice" || b != "admin_keys[1]" {
					t.Errorf("operators %q, %q", a, b)
				}
			}},
		{"admin keys with names from the environment", "", map[string]string{"RINGPROOF_ADMIN_KEYS": "alice:k:a, k-b"},
			func(t *testing.T, c *Config) {
				if want := []AdminKey{{Name: "alice", Key: "k:a"}, {Key: "k-b"}}; !reflect.DeepEqual(c.HTTP.AdminKeys, want) {
					t.Errorf("admin_keys = %+v, want %+v", c.HTTP.AdminKeys, want)
				}
			}},
		{"admin keys of only commas empty the list", "http:\n  admin_keys: [file-admin]\n",
			map[string]string{"RINGPROOF_ADMIN_KEYS": ", ,"},
			func(t *testing.T, c *Config) {
				if c.HTTP.AdminKeys != nil {
					t.Errorf("admin_keys = %q, want nil", c.HTTP.AdminKeys)
				}
			}},
		{"privacy keys satisfy an external store", "store:\n  endpoints: [\"10.0.0.1:2379\"]\nprivacy:\n  old_encryption_keys: [" + encKeyHex + "]\nhistory:\n  backend: postgres\n",
			map[string]string{
				"RINGPROOF_HISTORY_POSTGRES_URL":        "postgres://u:p@10.0.0.5/ringproof",
				"RINGPROOF_PRIVACY_HMAC_KEY":            hmacKeyHex,
				"RINGPROOF_PRIVACY_ENCRYPTION_KEY":      encKeyHex,
				"RINGPROOF_PRIVACY_SIGNING_KEY":         sigKeyHex,
				"RINGPROOF_PRIVACY_OLD_ENCRYPTION_KEYS": oldKeyHex + ", " + hexKey(32),
			},
			func(t *testing.T, c *Config) {
				p := Privacy{HMACKeyHex: hmacKeyHex, EncryptionKeyHex: encKeyHex, SigningKeyHex: sigKeyHex,
					OldEncryptionKeysHex: []string{oldKeyHex, hexKey(32)}, RetentionDays: 30, AuditRetentionDays: 2190}
				if !reflect.DeepEqual(c.Privacy, p) {
					t.Errorf("privacy = %+v, want %+v", c.Privacy, p)
				}
			}},
		{"privacy keys replace the file's", "privacy:\n  hmac_key: " + hexKey(40) + "\n  encryption_key: " + hexKey(32) + "\n",
			map[string]string{"RINGPROOF_PRIVACY_HMAC_KEY": hmacKeyHex, "RINGPROOF_PRIVACY_ENCRYPTION_KEY": encKeyHex},
			func(t *testing.T, c *Config) {
				if c.Privacy.HMACKeyHex != hmacKeyHex || c.Privacy.EncryptionKeyHex != encKeyHex {
					t.Errorf("privacy = %+v", c.Privacy)
				}
			}},
		{"file password kept without a variable", authTrunks,
			map[string]string{"RINGPROOF_TRUNK_CARRIER_1_PASSWORD": "alice-env"},
			func(t *testing.T, c *Config) {
				if c.Trunks[1].Password != "from-file" {
					t.Errorf("trunks[1].password = %q, want from-file", c.Trunks[1].Password)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), env(tt.env))
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestEnvIsValidated(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"only commas", map[string]string{"RINGPROOF_API_KEYS": " , ,"}, "http.api_keys: at least one key is required"},
		{"key with a space", map[string]string{"RINGPROOF_API_KEYS": "a b"}, "http.api_keys[0]: contains a space"},
		{"admin key is an api key", map[string]string{"RINGPROOF_API_KEYS": "k1,k2", "RINGPROOF_ADMIN_KEYS": "k2"},
			"http.admin_keys[0]: is also http.api_keys[1]"},
		{"admin key named nothing", map[string]string{"RINGPROOF_ADMIN_KEYS": "k1,:k2"},
			`http.admin_keys: element 1: an element starts with ":"`},
		{"named admin key is an api key", map[string]string{"RINGPROOF_API_KEYS": "k1,k2", "RINGPROOF_ADMIN_KEYS": "bob:k2"},
			"http.admin_keys[0].key: is also http.api_keys[1]"},
		{"bad hmac key", map[string]string{"RINGPROOF_PRIVACY_HMAC_KEY": "abc"}, "privacy.hmac_key: has an odd number of hex digits"},
		{"bad old keys", map[string]string{"RINGPROOF_PRIVACY_OLD_ENCRYPTION_KEYS": encKeyHex + ",abcd"},
			"privacy.old_encryption_keys[1]: is 2 bytes; want exactly 32"},
		{"password still missing", map[string]string{"RINGPROOF_TRUNK_CARRIER1_PASSWORD_X": "x"},
			"trunks[0].password: is required when username is set (or set RINGPROOF_TRUNK_CARRIER1_PASSWORD)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := "trunks:\n  - name: carrier1\n    address: 10.0.0.1:5060\n    username: alice\n"
			if !strings.Contains(tt.want, "password") {
				yaml = ""
			}
			_, err := Parse([]byte(yaml), env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTrunkPasswordEnv(t *testing.T) {
	tests := []struct{ name, want string }{
		{"carrier1", "RINGPROOF_TRUNK_CARRIER1_PASSWORD"},
		{"carrier-1", "RINGPROOF_TRUNK_CARRIER_1_PASSWORD"},
		{"Backup.Trunk", "RINGPROOF_TRUNK_BACKUP_TRUNK_PASSWORD"},
		{"zürich 2", "RINGPROOF_TRUNK_Z_RICH_2_PASSWORD"},
	}
	for _, tt := range tests {
		if got := TrunkPasswordEnv(tt.name); got != tt.want {
			t.Errorf("TrunkPasswordEnv(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "log:\n  format: json\n")
	bad := write("bad.yaml", "log:\n  format: xml\n  level: loud\n")
	unknown := write("unknown.yaml", "logs: {}\n")

	c, err := LoadWith(good, nil)
	if err != nil || c.Log.Format != "json" {
		t.Fatalf("LoadWith(good) = %+v, %v", c, err)
	}
	if c, err := LoadWith("", env(map[string]string{"RINGPROOF_API_KEYS": "k1"})); err != nil || c.HTTP.APIKeys[0] != "k1" {
		t.Fatalf(`LoadWith("") = %+v, %v; want defaults with the environment applied`, c, err)
	}

	tests := []struct {
		name string
		path string
		want []string
	}{
		{"missing file", filepath.Join(dir, "nope.yaml"), []string{"nope.yaml", "no such file"}},
		{"invalid file names the path, one problem a line", bad,
			[]string{bad + ":\nlog.format: \"xml\" is not one of text, json (line 2)\nlog.level: \"loud\" is not one of debug, info, warn, error (line 3)"}},
		{"unknown key names the path", unknown, []string{unknown + ": logs: unknown key;", "(line 1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadWith(tt.path, nil)
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("LoadWith error = %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "nope.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an error wrapping os.ErrNotExist", err)
	}
}

func FuzzLoadBytes(f *testing.F) {
	if example, err := os.ReadFile("../examples/ringproof.yaml"); err == nil {
		f.Add(example)
	}
	for _, s := range []string{
		"", "~", "---\n---\n", "- a\n", "log: debug\n", "htttp: 1\n",
		"trunks:\n  - &a {name: a, address: \"10.0.0.1:5060\"}\n  - <<: *a\n    name: b\n",
		"log: &l\n  <<: *l\n", "trunks: &t [*t]\n", "callers: [\"+4420x\", \"+442079460000\"]\n",
		"flashcall: {code_length: 1.5, timeout_s: 0x10}\n", "http: {max_body_bytes: !!binary aGVsbG8=}\n",
		"a: &a [*a, *a]\nb: &b [*a, *a]\nc: &c [*b, *b]\n",
		"trunks:\n  - {name: a, address: \"sip.a.example:5060\", inbound_cidrs: [\"::ffff:10.0.0.0/104\", 10.1.2.3], region: gb}\n",
		"inbound: {numbers: [\"+441632960000\", \"+441632960001-+441632960009\"], final_status: 486}\n",
		"media: {rtp_ip: \"::1\", rtp_port_min: 1024, rtp_port_max: 1025, default_locale: pt-BR, prompts_dir: .}\n",
		"store: {endpoints: [\"10.0.0.1:2379\"]}\nprivacy: {hmac_key: " + hexKey(32) + ", encryption_key: " + hexKey(32) + ", old_encryption_keys: [" + hexKey(32) + "]}\n",
		"http: {api_keys: [a], admin_keys: [a, b]}\n",
	} {
		f.Add([]byte(s))
	}
	getenv := env(map[string]string{"RINGPROOF_TRUNK_CARRIER1_PASSWORD": "pw"})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, getenv)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse returned a config that fails Validate: %v", err)
		}
		if c.CallerRanges() == nil {
			t.Fatal("Parse returned a config whose callers do not parse")
		}
		if len(c.InboundRanges()) != len(c.Inbound.Numbers) {
			t.Fatal("Parse returned a config whose inbound numbers do not parse")
		}
		for i, tr := range c.Trunks {
			if len(tr.InboundCIDRs) > 0 && len(tr.InboundPrefixes()) != len(tr.InboundCIDRs) {
				t.Fatalf("Parse returned a config whose trunks[%d].inbound_cidrs do not parse", i)
			}
		}
		if _, err := c.Privacy.HMACKey(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Privacy.EncryptionKey(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Privacy.OldEncryptionKeys(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestEveryProblemOfAFileAtOnce checks that a value of the wrong type does
// not hide the file's other problems, and that each names its line, in
// the order of the file.
func TestEveryProblemOfAFileAtOnce(t *testing.T) {
	yaml := "http:\n  listen: nohost\nflashcall:\n  timeout_s: \"thirty\"\n  code_length: 9\n" +
		"trunks:\n  - name: a\n    address: 127.0.0.1\n    max_cps: many\n    username: bob\nlog:\n  levle: debug\n"
	_, err := Parse([]byte(yaml), nil)
	if err == nil {
		t.Fatal("Parse = nil error")
	}
	want := []string{
		`http.listen: "nohost" has no port (line 2)`,
		`flashcall.timeout_s: want an integer, got "thirty" (line 4)`,
		`flashcall.code_length: 9 is out of range 3..6 (line 5)`,
		`trunks[0].password: is required when username is set (or set RINGPROOF_TRUNK_A_PASSWORD) (line 7)`,
		`trunks[0].address: "127.0.0.1" has no port (line 8)`,
		`trunks[0].max_cps: want an integer, got "many" (line 9)`,
		`log.levle: unknown key; known keys here: level, format, access (line 12)`,
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse error:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}
