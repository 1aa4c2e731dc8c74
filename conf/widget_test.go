package conf

import (
	"reflect"
	"strings"
	"testing"
)

func TestWidgetKeysRejected(t *testing.T) {
	pk := func(mod func(*PublishableKey)) func(*Config) {
		return func(c *Config) {
			k := PublishableKey{Key: "pk_test", Origins: []string{"https://app.example"}, Methods: []string{"flashcall"}, PerIPPerMinute: 20}
			mod(&k)
			c.HTTP.PublishableKeys = append(c.HTTP.PublishableKeys, k)
		}
	}
	tests := []struct {
		name, key, problem string
		mod                func(*Config)
	}{
		{"empty key", "http.publishable_keys[0].key", "is empty", pk(func(k *PublishableKey) { k.Key = "" })},
		{"key with space", "http.publishable_keys[0].key", "space", pk(func(k *PublishableKey) { k.Key = "pk test" })},
		{"key is the api key", "http.publishable_keys[0].key", "is also http.api_keys[0]", pk(func(k *PublishableKey) { k.Key = "dev-key-change-me" })},
		{"key twice", "http.publishable_keys[1].key", "is also http.publishable_keys[0].key", func(c *Config) {
			pk(func(*PublishableKey) {})(c)
			pk(func(*PublishableKey) {})(c)
		}},
		{"no origin", "http.publishable_keys[0].origins", "at least one origin", pk(func(k *PublishableKey) { k.Origins = nil })},
		{"origin with path", "http.publishable_keys[0].origins[0]", "no path", pk(func(k *PublishableKey) { k.Origins = []string{"https://app.example/signup"} })},
		{"origin with slash", "http.publishable_keys[0].origins[0]", "trailing slash", pk(func(k *PublishableKey) { k.Origins = []string{"https://app.example/"} })},
		{"origin wildcard", "http.publishable_keys[0].origins[0]", "wildcards", pk(func(k *PublishableKey) { k.Origins = []string{"https://*.example"} })},
		{"origin star", "http.publishable_keys[0].origins[0]", "wildcards", pk(func(k *PublishableKey) { k.Origins = []string{"*"} })},
		{"origin no scheme", "http.publishable_keys[0].origins[0]", "not an origin", pk(func(k *PublishableKey) { k.Origins = []string{"app.example"} })},
		{"origin ftp", "http.publishable_keys[0].origins[0]", "http or https", pk(func(k *PublishableKey) { k.Origins = []string{"ftp://app.example"} })},
		{"origin capitals", "http.publishable_keys[0].origins[0]", "lower case", pk(func(k *PublishableKey) { k.Origins = []string{"https://App.example"} })},
		{"origin default port", "http.publishable_keys[0].origins[0]", "default port", pk(func(k *PublishableKey) { k.Origins = []string{"https://app.example:443"} })},
		{"unknown method", "http.publishable_keys[0].methods[1]", `"fax" is not a method`, pk(func(k *PublishableKey) { k.Methods = []string{"sms", "fax"} })},
		{"bad service", "http.publishable_keys[0].service", "not a service name", pk(func(k *PublishableKey) { k.Service = "my app" })},
		{"per ip zero", "http.publishable_keys[0].per_ip_per_minute", "out of range 1..10000", pk(func(k *PublishableKey) { k.PerIPPerMinute = 0 })},
		{"cors origin path", "http.cors_origins[0]", "no path", func(c *Config) { c.HTTP.CORSOrigins = []string{"http://localhost:3000/x"} }},
		{"result token key short", "http.result_token_key", "is 4 bytes", func(c *Config) { c.HTTP.ResultTokenKeyHex = "00112233" }},
		{"result token key not hex", "http.result_token_key", "is not hex", func(c *Config) { c.HTTP.ResultTokenKeyHex = strings.Repeat("zz", 32) }},
		{"result token key for a cluster", "http.result_token_key", "is required with publishable keys and an external etcd cluster", func(c *Config) {
			c.Store.Endpoints = []string{"http://10.0.0.1:2379"}
			c.Privacy.HMACKeyHex = strings.Repeat("ab", 32)
			c.Privacy.EncryptionKeyHex = strings.Repeat("cd", 32)
			c.Privacy.SigningKeyHex = strings.Repeat("ef", 32)
			pk(func(*PublishableKey) {})(c)
		}},
		{"demo without a key", "http.demo", "needs a publishable key", func(c *Config) { c.HTTP.Demo = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mod(c)
			err := c.Validate()
			for _, fe := range FieldErrors(err) {
				if fe.Key == tt.key && strings.Contains(fe.Problem, tt.problem) {
					if strings.Contains(fe.Problem, "pk_test") || strings.Contains(fe.Problem, "dev-key-change-me") {
						t.Fatalf("the problem shows a key: %s", fe)
					}
					return
				}
			}
			t.Fatalf("Validate() = %v\nwant a problem at %s containing %q", err, tt.key, tt.problem)
		})
	}
}

func TestPublishableKeyDefaults(t *testing.T) {
	c, err := Parse([]byte(`
http:
  demo: true
  publishable_keys:
    - key: pk_a
      origins: [http://127.0.0.1:8080, https://app.example:8443]
    - key: pk_b
      origins: [https://app.example]
      methods: [flashcall, sms, inbound_missed]
      per_ip_per_minute: 5
      service: signup
  cors_origins: [http://localhost:3000]
  result_token_key: "`+strings.Repeat("0f", 32)+`"
services:
  - name: signup
    api_keys: [signup-key]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []PublishableKey{
		{Key: "pk_a", Origins: []string{"http://127.0.0.1:8080", "https://app.example:8443"}, Methods: []string{"flashcall"}, PerIPPerMinute: 20},
		{Key: "pk_b", Origins: []string{"https://app.example"}, Methods: []string{"flashcall", "sms", "inbound_missed"}, PerIPPerMinute: 5, Service: "signup"},
	}
	if !reflect.DeepEqual(c.HTTP.PublishableKeys, want) {
		t.Fatalf("publishable keys %+v\nwant %+v", c.HTTP.PublishableKeys, want)
	}
	if key, err := c.HTTP.ResultTokenKey(); err != nil || len(key) != 32 {
		t.Fatalf("ResultTokenKey() = %x, %v", key, err)
	}
	c, err = Parse([]byte("http:\n  result_token_key: ''\n"), func(k string) string {
		if k == EnvResultTokenKey {
			return strings.Repeat("1a", 40)
		}
		return ""
	})
	if err != nil || c.HTTP.ResultTokenKeyHex != strings.Repeat("1a", 40) {
		t.Fatalf("env override: %v %q", err, c.HTTP.ResultTokenKeyHex)
	}
}

// TestWalkthroughConfig keeps the README's walkthrough configuration
// loadable, with the demo on.
func TestWalkthroughConfig(t *testing.T) {
	c, err := LoadWith("../examples/walkthrough.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HTTP.Demo || len(c.HTTP.PublishableKeys) != 1 || !strings.Contains(strings.Join(c.HTTP.PublishableKeys[0].Origins, " "), "http://"+c.HTTP.Listen) {
		t.Fatalf("walkthrough: demo %v, keys %+v, listen %s", c.HTTP.Demo, c.HTTP.PublishableKeys, c.HTTP.Listen)
	}
}
