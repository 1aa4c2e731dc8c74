package fraud

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientsOf(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::1/128")}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"no proxy", "203.0.113.9:1234", nil, "203.0.113.9"},
		{"an untrusted peer's X-Forwarded-For is ignored", "203.0.113.9:1234", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted proxy", "10.1.2.3:1234", []string{"198.51.100.1"}, "198.51.100.1"},
		{"trusted proxy, client's forged entry left of the real one", "10.1.2.3:1234", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted proxies", "10.1.2.3:1234", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"several headers", "10.1.2.3:1234", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"trusted proxy without the header", "10.1.2.3:1234", nil, "10.1.2.3"},
		{"garbage stops at the last proxy", "10.1.2.3:1234", []string{"198.51.100.1, junk"}, "10.1.2.3"},
		{"IPv6 proxy", "[2001:db8::1]:443", []string{"2001:db8:1::5"}, "2001:db8:1::5"},
		{"IPv4-mapped peer", "[::ffff:203.0.113.9]:1", nil, "203.0.113.9"},
	}
	c := NewClients(trusted)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/verifications", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := c.Of(r).IP.String(); got != tt.want {
				t.Fatalf("client %s, want %s", got, tt.want)
			}
		})
	}
}

func TestClientKeyIsAHash(t *testing.T) {
	r := httptest.NewRequest("POST", "/v1/verifications", nil)
	r.Header.Set("Authorization", "Bearer secret-key")
	k := NewClients(nil).Of(r).Key
	if k == "" || k == "secret-key" || len(k) != 24 {
		t.Fatalf("key id %q", k)
	}
	r.Header.Set("Authorization", "Bearer other-key")
	if NewClients(nil).Of(r).Key == k {
		t.Fatal("two keys share an id")
	}
}

func TestIPSubject(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.9":          "203.0.113.9",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::ffff":   "2001:db8:1:2::/64",
	} {
		if got := ipSubject(netip.MustParseAddr(in)); got != want {
			t.Errorf("ipSubject(%s) = %s, want %s", in, got, want)
		}
	}
}
