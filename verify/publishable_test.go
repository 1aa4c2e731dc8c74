package verify

import (
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/ringproof/ringproof/conf"
)

func TestClientIP(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.7:5000":                  "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":      "2001:db8:1:2::/64",
		"[::ffff:192.0.2.9]:80":           "192.0.2.9",
		"not an address":                  "not an address",
		"[2001:db8:1:2:ffff::1%eth0]:443": "2001:db8:1:2::/64",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := ClientIP(r); got != want {
			t.Errorf("ClientIP(%q) = %q, want %q", remote, got, want)
		}
	}
}

func TestAllowedOrigin(t *testing.T) {
	origins := []string{"https://app.example", "http://127.0.0.1:8080"}
	tests := []struct {
		name, origin, fetchSite, host string
		ok                            bool
	}{
		{"listed", "https://app.example", "cross-site", "api.example", true},
		{"not listed", "https://evil.example", "cross-site", "api.example", false},
		{"null", "null", "", "api.example", false},
		{"same origin GET", "", "same-origin", "127.0.0.1:8080", true},
		{"same origin, host not listed", "", "same-origin", "localhost:8080", false},
		{"no origin, not a browser", "", "", "127.0.0.1:8080", false},
		{"no origin, cross-site", "", "cross-site", "127.0.0.1:8080", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/v1/widget", nil)
		r.Host = tt.host
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if tt.fetchSite != "" {
			r.Header.Set("Sec-Fetch-Site", tt.fetchSite)
		}
		if _, ok := allowedOrigin(r, origins); ok != tt.ok {
			t.Errorf("%s: allowed %v, want %v", tt.name, ok, tt.ok)
		}
	}
}

// TestMethodsKnownToConf keeps conf's list of method names, which
// publishable keys are checked against, equal to the methods served.
func TestMethodsKnownToConf(t *testing.T) {
	var served []string
	for m := range methods {
		served = append(served, string(m))
	}
	known := conf.VerificationMethods()
	slices.Sort(served)
	slices.Sort(known)
	if !slices.Equal(served, known) {
		t.Fatalf("conf knows methods %v, verify serves %v", known, served)
	}
}
