package verify

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/store/storetest"
)

func TestStoreIPLimiter(t *testing.T) {
	st := storetest.New(t)
	l := NewStoreIPLimiter(st, func(s string) string { return "h(" + s + ")" })
	now := time.Date(2026, 11, 2, 10, 0, 15, 0, time.UTC)
	l.now = func() time.Time { return now }
	ctx := context.Background()
	allow := func(scope, ip string) (bool, time.Duration) {
		t.Helper()
		ok, retry, err := l.Allow(ctx, scope, ip, 3)
		if err != nil {
			t.Fatal(err)
		}
		return ok, retry
	}
	for i := range 3 {
		if ok, _ := allow("pk:a", "192.0.2.1"); !ok {
			t.Fatalf("request %d refused", i+1)
		}
	}
	if ok, retry := allow("pk:a", "192.0.2.1"); ok || retry != 45*time.Second {
		t.Fatalf("fourth request: %v, retry %v; want refused, 45s", ok, retry)
	}
	if ok, _ := allow("pk:a", "192.0.2.2"); !ok {
		t.Fatal("another IP was refused")
	}
	if ok, _ := allow("pk:b", "192.0.2.1"); !ok {
		t.Fatal("another key was refused")
	}
	now = now.Add(45 * time.Second)
	if ok, _ := allow("pk:a", "192.0.2.1"); !ok {
		t.Fatal("refused in the next minute")
	}
	kvs, err := st.List(ctx, IPLimitPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		if len(kv.Value) != 0 || !slices.Contains([]string{"pk:a", "pk:b"}, kv.Key[len(IPLimitPrefix):len(IPLimitPrefix)+4]) {
			t.Fatalf("counter %q = %q", kv.Key, kv.Value)
		}
	}
}

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
