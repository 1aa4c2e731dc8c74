package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
)

// get sends GET path with key and returns the status.
func (s *testServer) getWith(key, path string) int {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.base+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func TestReloadSwapsKeysWithoutDroppingACall(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_ring_cancel.xml", 1)
	c := testConfig(t, sipp.Addr)
	c.FlashCall.RingMS = 1500 // the call rings across the reload
	srv := startServer(t, c)
	id := srv.create(testNumber)
	srv.waitFor(id, "ringing", status("ringing"))

	next := *c
	next.HTTP.APIKeys = []string{"new-api-key"}
	next.Log.Level = "warn"
	next.FlashCall.TimeoutS = 10
	applied, restart, err := srv.reload(&next)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(applied, "http.api_keys[0]") || !slices.Contains(applied, "log.level") || !slices.Equal(restart, []string{"flashcall.timeout_s"}) {
		t.Fatalf("applied %v, restart %v; want the key and level applied, flashcall.timeout_s for a restart", applied, restart)
	}
	if code := srv.getWith(apiKey, "/v1/verifications/"+id); code != 401 {
		t.Fatalf("the old key after the reload: %d, want 401", code)
	}
	// The call placed before the reload ends as it would have.
	if !poll(20*time.Second, func() bool {
		req, _ := http.NewRequest("GET", srv.base+"/v1/verifications/"+id, nil)
		req.Header.Set("Authorization", "Bearer new-api-key")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode == 200 && strings.Contains(string(body), `"status":"rang"`)
	}) {
		t.Fatal("the call in progress did not end rang after the reload")
	}
	// Reloading the same again applies nothing new; the restart stays due.
	applied, restart, err = srv.reload(&next)
	if err != nil || len(applied) != 0 || !slices.Equal(restart, []string{"flashcall.timeout_s"}) {
		t.Fatalf("second reload: applied %v, restart %v, %v", applied, restart, err)
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:9") // no call is placed
	c.HTTP.AdminKeys = conf.AdminKeysOf("admin-key-1")
	srv := startServer(t, c)
	srv.call("POST", "/v1/verifications", `{"number":"+447911123456","method":"nope"}`)
	srv.getWith("admin-key-1", "/v1/privacy/audit")
	srv.getWith("not-a-key", "/v1/verifications/v123")
	http.Get(srv.base + "/healthz")
	logs := srv.logs.String()
	for _, want := range []string{
		`msg="http request" component=http method=POST route="POST /v1/verifications" status=400 ms=`,
		`key=api_keys[0]`,
		`route=/v1/privacy/ status=200`,
		`key=admin_keys[0]`,
		`status=401`,
		`key=unknown`,
		`route="GET /healthz" status=200 ms=`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the access log lacks %s:\n%s", want, logs)
		}
	}
	for _, secret := range []string{apiKey, "admin-key-1", "not-a-key", "v123"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}

	// log.access: false turns it off, on a reload too.
	next := *c
	next.Log.Access = false
	if _, _, err := srv.reload(&next); err != nil {
		t.Fatal(err)
	}
	before := strings.Count(srv.logs.String(), `msg="http request"`)
	http.Get(srv.base + "/healthz")
	if after := strings.Count(srv.logs.String(), `msg="http request"`); after != before {
		t.Fatalf("%d access log lines after log.access: false, want %d", after, before)
	}
}
