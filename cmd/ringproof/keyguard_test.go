package main

import (
	"net/http"
	"testing"
)

// TestServeRefusesAKeyGuesser: past http.auth_failures_per_ip_per_minute
// requests with a wrong key, a node answers 429 with Retry-After to that
// address, whatever the route and even with the right key.
func TestServeRefusesAKeyGuesser(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:9")
	c.HTTP.AuthFailuresPerIPPerMinute = 3
	srv := startServer(t, c)
	get := func(path, key string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for i, path := range []string{"/v1/verifications/v0123456789abcdef0123456789abcdef", "/v1/cluster", "/v1/masking/sessions/x", "/v1/verifications/x"} {
		if res := get(path, "guess"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d (%s): %d, want 401", i+1, path, res.StatusCode)
		}
	}
	res := get("/v1/cluster", apiKey)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("the right key after the guesses: %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
}
