package conf

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestEveryKeyFromTheEnvironment(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"listen addresses", "", map[string]string{
			"RINGPROOF_HTTP_LISTEN": "0.0.0.0:8080", "RINGPROOF_SIP_LISTEN": "192.0.2.7:5060", "RINGPROOF_STORE_DATA_DIR": "/data",
		}, func(t *testing.T, c *Config) {
			if c.HTTP.Listen != "0.0.0.0:8080" || c.SIP.Listen != "192.0.2.7:5060" || c.Store.DataDir != "/data" {
				t.Errorf("http.listen %q, sip.listen %q, store.data_dir %q", c.HTTP.Listen, c.SIP.Listen, c.Store.DataDir)
			}
		}},
		{"the environment overrides the file", "http:\n  listen: 127.0.0.1:9000\n  max_body_bytes: 10\n",
			map[string]string{"RINGPROOF_HTTP_MAX_BODY_BYTES": "2048"},
			func(t *testing.T, c *Config) {
				if c.HTTP.Listen != "127.0.0.1:9000" || c.HTTP.MaxBodyBytes != 2048 {
					t.Errorf("http = %+v", c.HTTP)
				}
			}},
		{"booleans and lists", "", map[string]string{
			"RINGPROOF_HTTP_PPROF": "true", "RINGPROOF_HTTP_ADMIN_KEYS": "adm-1, alice:adm-2",
			"RINGPROOF_CALLERS": "+12025550100-+12025550199, +12025550300",
		}, func(t *testing.T, c *Config) {
			if !c.HTTP.Pprof || !slices.Equal(c.HTTP.AdminKeys, []AdminKey{{Key: "adm-1"}, {Name: "alice", Key: "adm-2"}}) ||
				!slices.Equal(c.Callers, []string{"+12025550100-+12025550199", "+12025550300"}) {
				t.Errorf("pprof %v, admin_keys %q, callers %q", c.HTTP.Pprof, c.HTTP.AdminKeys, c.Callers)
			}
		}},
		{"a lone comma empties a list", "inbound:\n  numbers: [\"+12025550100\"]\n", map[string]string{"RINGPROOF_INBOUND_NUMBERS": ","},
			func(t *testing.T, c *Config) {
				if c.Inbound.Numbers != nil {
					t.Errorf("inbound.numbers = %q, want none", c.Inbound.Numbers)
				}
			}},
		{"a trunk's key by index; its domain follows its address", "",
			map[string]string{"RINGPROOF_TRUNKS_0_ADDRESS": "sip.carrier.example:5060", "RINGPROOF_TRUNKS_0_MAX_CPS": "7"},
			func(t *testing.T, c *Config) {
				want := []Trunk{{Name: "carrier1", Address: "sip.carrier.example:5060", Transport: "udp", MaxCPS: 7, Domain: "sip.carrier.example",
					Weight: 1, FailoverOn: defaultFailoverOn(), ResponseTimeoutS: 5, RegisterExpiresS: 3600, OptionsPingS: 30}}
				if !reflect.DeepEqual(c.Trunks, want) {
					t.Errorf("trunks = %+v\nwant %+v", c.Trunks, want)
				}
			}},
		{"a domain the file sets stays", "trunks:\n  - name: a\n    address: 10.0.0.1:5060\n    domain: a.example\n",
			map[string]string{"RINGPROOF_TRUNKS_0_ADDRESS": "10.0.0.2:5060"},
			func(t *testing.T, c *Config) {
				if c.Trunks[0].Address != "10.0.0.2:5060" || c.Trunks[0].Domain != "a.example" {
					t.Errorf("trunks[0] = %+v", c.Trunks[0])
				}
			}},
		{"the next index adds a trunk, with trunk defaults", "",
			map[string]string{"RINGPROOF_TRUNKS_1_NAME": "backup", "RINGPROOF_TRUNKS_1_ADDRESS": "10.0.0.9:5080", "RINGPROOF_TRUNKS_1_INBOUND_CIDRS": "10.0.0.0/24"},
			func(t *testing.T, c *Config) {
				want := Trunk{Name: "backup", Address: "10.0.0.9:5080", Transport: "udp", MaxCPS: 100, Domain: "10.0.0.9", InboundCIDRs: []string{"10.0.0.0/24"},
					Weight: 1, FailoverOn: defaultFailoverOn(), ResponseTimeoutS: 5, RegisterExpiresS: 3600, OptionsPingS: 30}
				if len(c.Trunks) != 2 || !reflect.DeepEqual(c.Trunks[1], want) {
					t.Errorf("trunks = %+v\nwant [carrier1 %+v]", c.Trunks, want)
				}
			}},
		{"a route's trunks, a shared place written a|b", "",
			map[string]string{"RINGPROOF_TRUNKS_1_NAME": "b", "RINGPROOF_TRUNKS_1_ADDRESS": "10.0.0.9:5080",
				"RINGPROOF_ROUTES_0_PREFIX": "+1", "RINGPROOF_ROUTES_0_TRUNKS": "carrier1|b, b2", "RINGPROOF_TRUNKS_2_NAME": "b2",
				"RINGPROOF_TRUNKS_2_ADDRESS": "10.0.0.10:5080", "RINGPROOF_DEFAULT_ROUTE_TRUNKS": "b"},
			func(t *testing.T, c *Config) {
				want := []Route{{Prefix: "+1", Trunks: []TrunkGroup{{"carrier1", "b"}, {"b2"}}}}
				if !reflect.DeepEqual(c.Routes, want) || !reflect.DeepEqual(c.DefaultRoute.Trunks, []TrunkGroup{{"b"}}) {
					t.Errorf("routes = %#v, default route %#v", c.Routes, c.DefaultRoute)
				}
			}},
		{"the long and the old name agree", "", map[string]string{"RINGPROOF_HTTP_API_KEYS": "k1", "RINGPROOF_API_KEYS": "k1"},
			func(t *testing.T, c *Config) {
				if !slices.Equal(c.HTTP.APIKeys, []string{"k1"}) {
					t.Errorf("api_keys = %q", c.HTTP.APIKeys)
				}
			}},
		{"a trunk password by index", "trunks:\n  - name: a\n    address: 10.0.0.1:5060\n    username: alice\n",
			map[string]string{"RINGPROOF_TRUNKS_0_PASSWORD": "secret"},
			func(t *testing.T, c *Config) {
				if c.Trunks[0].Password != "secret" {
					t.Errorf("password = %q", c.Trunks[0].Password)
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

func TestEnvironmentProblemsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{"not an integer", "", map[string]string{"RINGPROOF_FLASHCALL_TIMEOUT_S": "thirty"},
			[]string{`flashcall.timeout_s: want an integer, got "thirty" (from RINGPROOF_FLASHCALL_TIMEOUT_S)`}},
		{"not a boolean", "", map[string]string{"RINGPROOF_HTTP_PPROF": "yes"},
			[]string{`http.pprof: want true or false, got "yes" (from RINGPROOF_HTTP_PPROF)`}},
		{"a value validation refuses", "", map[string]string{"RINGPROOF_HTTP_LISTEN": "localhost"},
			[]string{`http.listen: "localhost" has no port (from RINGPROOF_HTTP_LISTEN)`}},
		{"a gap in a list of sections", "", map[string]string{"RINGPROOF_TRUNKS_2_ADDRESS": "10.0.0.1:5060"},
			[]string{"trunks: index 2 leaves a gap: the list has 1 elements, so the next is 1 (from RINGPROOF_TRUNKS_2_...)"}},
		{"an added trunk without a name", "", map[string]string{"RINGPROOF_TRUNKS_1_ADDRESS": "10.0.0.1:5060"},
			[]string{"trunks[1].name: is required (from RINGPROOF_TRUNKS_1_...)"}},
		{"old and new names disagree", "", map[string]string{"RINGPROOF_HTTP_API_KEYS": "s3cr3t-A", "RINGPROOF_API_KEYS": "s3cr3t-B"},
			[]string{"http.api_keys: says otherwise than RINGPROOF_HTTP_API_KEYS; set one of them (from RINGPROOF_API_KEYS)"}},
		{"both passwords of a trunk disagree", "trunks:\n  - name: a\n    address: 10.0.0.1:5060\n    username: alice\n",
			map[string]string{"RINGPROOF_TRUNKS_0_PASSWORD": "s3cr3t-A", "RINGPROOF_TRUNK_A_PASSWORD": "s3cr3t-B"},
			[]string{"trunks[0].password: says otherwise than RINGPROOF_TRUNKS_0_PASSWORD; set one of them (from RINGPROOF_TRUNK_A_PASSWORD)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), env(tt.env))
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Parse error = %v\nwant it to contain %q", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error quotes a secret: %v", err)
			}
		})
	}
}

func TestLoadRefusesAVariableThatSetsNothing(t *testing.T) {
	environ := []string{"RINGPROOF_HTTP_LISTN=0.0.0.0:8080", "RINGPROOF_CONFIG=/etc/ringproof.yaml", "RINGPROOF_EMPTY=", "RINGPROOF_TEST_ARTIFACTS=/tmp/shots", "HOME=/root"}
	getenv := func(k string) string {
		for _, kv := range environ {
			if name, v, _ := strings.Cut(kv, "="); name == k {
				return v
			}
		}
		return ""
	}
	_, err := parse(nil, getenv, environ)
	if err == nil || !strings.Contains(err.Error(), "sets no configuration key") || !strings.Contains(err.Error(), "RINGPROOF_HTTP_LISTN") {
		t.Fatalf("parse = %v, want RINGPROOF_HTTP_LISTN refused", err)
	}
	if strings.Contains(err.Error(), "RINGPROOF_CONFIG") || strings.Contains(err.Error(), "RINGPROOF_EMPTY") || strings.Contains(err.Error(), "RINGPROOF_TEST_") {
		t.Fatalf("parse = %v: refused a variable it should leave alone", err)
	}
}

// TestEnvVarsCoverTheSchema checks that every key of the schema has one
// variable of its own and that EnvVars lists it.
func TestEnvVarsCoverTheSchema(t *testing.T) {
	vars := EnvVars()
	byName := map[string]string{}
	keys := map[string]bool{}
	for _, v := range vars {
		if other, dup := byName[v.Name]; dup {
			t.Errorf("%s sets both %s and %s", v.Name, other, v.Key)
		}
		byName[v.Name] = v.Key
		keys[v.Key] = true
	}
	all := schemaKeys(reflect.TypeFor[Config](), "")
	for _, key := range all {
		section := slices.ContainsFunc(all, func(k string) bool {
			return strings.HasPrefix(k, key+".") || strings.HasPrefix(k, key+"[].")
		})
		// The keys of list elements with a text form (admin_keys[].name)
		// are set by the list's variable.
		list, _, _ := strings.Cut(key, "[]")
		if k := strings.ReplaceAll(key, "[]", "[i]"); !section && !keys[k] && !keys[list] {
			t.Errorf("no variable sets %s", key)
		}
	}
	for name, key := range map[string]string{
		"RINGPROOF_HTTP_LISTEN":        "http.listen",
		"RINGPROOF_TRUNKS_<i>_ADDRESS": "trunks[i].address",
		"RINGPROOF_STORE_PASSWORD":     "store.password",
		EnvHMACKey:                     "privacy.hmac_key",
		EnvOldEncryptionKeys:           "privacy.old_encryption_keys",
	} {
		if byName[name] != key {
			t.Errorf("%s sets %q, want %s", name, byName[name], key)
		}
	}
}

// TestEveryVariableIsApplied sets every variable EnvVars lists and checks
// that each changed its key: a variable listed but not read would fail.
func TestEveryVariableIsApplied(t *testing.T) {
	for _, v := range EnvVars() {
		name := strings.ReplaceAll(v.Name, "<i>", "0")
		value := map[string]string{"string": "x", "integer": "7", "true or false": "true", "comma-separated list": "x,y", "number": "1.5"}[v.Kind]
		c := Default()
		set, _, problems := c.applyEnv(env(map[string]string{name: value}))
		if len(problems) > 0 {
			t.Errorf("%s=%s: %v", name, value, problems)
			continue
		}
		if key := strings.ReplaceAll(v.Key, "[i]", "[0]"); set[key] != name {
			t.Errorf("%s=%s set %v, want %s", name, value, set, key)
		}
	}
}
