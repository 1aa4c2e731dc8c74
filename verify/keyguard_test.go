package verify

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/store/storetest"
)

// TestKeyGuardRefusesAGuesser: an address whose requests fail
// authentication more often than the budget is refused (429 with
// Retry-After) for everything, its right key included, while other
// addresses go on; the budget is the cluster's, so failures spread over
// two nodes add up.
func TestKeyGuardRefusesAGuesser(t *testing.T) {
	st := storetest.New(t)
	const budget = 5
	failures := limit.New(st, "limit/authfail/", limit.PerHour(budget))
	node := func() *httptest.Server {
		app := api.RequireKey([]string{testKey}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}))
		srv := httptest.NewServer(NewKeyGuard(failures, func(ip string) string { return "h-" + ip }, storetest.Logger(t)).Wrap(app))
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := node(), node()
	call := func(srv *httptest.Server, from, key string) *http.Response {
		t.Helper()
		client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}}
		req, _ := http.NewRequest("GET", srv.URL+"/v1/anything", nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for i := range budget {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		if res := call(srv, "127.0.0.1", "guess"); res.StatusCode != 401 {
			t.Fatalf("guess %d: %d, want 401", i+1, res.StatusCode)
		}
	}
	// The budget is spent: the next failure, on either node, shuts the
	// address out; then even the right key is not looked at.
	if res := call(b, "127.0.0.1", "guess"); res.StatusCode != 401 {
		t.Fatalf("the failure past the budget: %d, want 401", res.StatusCode)
	}
	for _, key := range []string{"guess", testKey} {
		res := call(b, "127.0.0.1", key)
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("after the budget, key %q: %d, Retry-After %q; want 429 with Retry-After", key, res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
	if res := call(a, "127.0.0.1", "guess"); res.StatusCode != 401 {
		t.Fatalf("on the other node, first failure past the budget: %d, want 401", res.StatusCode)
	}
	if res := call(a, "127.0.0.1", testKey); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("on the other node after it: %d, want 429", res.StatusCode)
	}
	// Another address is served.
	if res := call(a, "127.0.0.2", testKey); res.StatusCode != http.StatusNoContent {
		t.Fatalf("another address with the right key: %d", res.StatusCode)
	}
	if res := call(a, "127.0.0.2", "guess"); res.StatusCode != 401 {
		t.Fatalf("another address's first failure: %d", res.StatusCode)
	}
}
