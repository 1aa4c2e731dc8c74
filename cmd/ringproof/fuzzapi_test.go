package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/sip/sipptest"
	"github.com/ringproof/ringproof/store/storetest"
)

// fuzzKeys are the credentials FuzzAPI's requests may carry, by index:
// none, the API key, the admin key, a publishable key, a wrong key.
var fuzzKeys = []string{"", apiKey, adminKey, "pk_test_fuzz", "wrong-key"}

// apiServer starts, for f, a node serving every route there is (the
// privacy API, masking, the widget and publishable keys, pprof), with no
// limit on failed authentications that would soon refuse every request,
// and one verification whose id and watch token the seeds use.
func apiServer(f *testing.F) (*server, map[string]any) {
	c := conf.Default()
	c.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(f))
	c.HTTP.APIKeys = []string{apiKey}
	c.HTTP.AdminKeys = []conf.AdminKey{{Name: "carol", Key: adminKey}}
	c.HTTP.PublishableKeys = []conf.PublishableKey{{Key: fuzzKeys[3], Origins: []string{"https://shop.example"}}}
	c.HTTP.Pprof = true
	c.HTTP.Demo = true
	c.HTTP.AuthFailuresPerIPPerMinute = 1 << 30
	c.SIP.Listen = fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(f))
	c.Store = storetest.Config(f)
	c.Trunks[0].Address = fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(f))
	c.Trunks[0].Domain = ""
	c.Trunks[0].OptionsPingS = 0
	c.Inbound.Numbers = []string{dialRange}
	c.Masking.Numbers = []string{proxyPool}
	c.Log.Level = "error"
	c.Fraud.PumpingGuard.MinAttempts = 1_000_000
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := start(ctx, c, newLogger(c.Log, &logBuffer{}))
	if err != nil {
		f.Fatalf("start: %v", err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	rec, _ := serveFuzz(srv, "POST", "/v1/verifications", apiKey, `{"number":"+447911123456","method":"inbound_missed"}`)
	var v map[string]any
	if rec == nil || rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &v) != nil {
		f.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	return srv, v
}

// serveFuzz serves one request through the node's HTTP handler, the one
// its port serves, for at most 200 ms (an event stream lasts that long).
// It reports false, serving nothing, for a request line net/http's server
// would not read.
func serveFuzz(srv *server, method, target, key, body string) (*httptest.ResponseRecorder, bool) {
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")))
	if err != nil || req.Method != method || req.RequestURI != target {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req = req.WithContext(ctx)
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	req.RemoteAddr = "192.0.2.7:40000"
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if method == "POST" || method == "PUT" || method == "PATCH" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec, true
}

// FuzzAPI sends requests (method, path and query, credentials, JSON body)
// through the handler the HTTP port serves: every route, behind the key
// guard and the access log. None may panic; every answer must be a status
// of its own (not 500: bad input is the client's fault) and, under /v1/
// and for every error, a JSON body; every error names what went wrong.
func FuzzAPI(f *testing.F) {
	srv, v := apiServer(f)
	id, token := v["id"].(string), v["watch_token"].(string)
	seeds := []struct {
		method, target string
		key            byte
		body           string
	}{
		{"POST", "/v1/verifications", 1, `{"number":"+447911123456","method":"flashcall"}`},
		{"POST", "/v1/verifications", 1, `{"number":"07911123456","region":"GB","method":"sms","code_length":6,"locale":"pt-BR","reference":"user-42"}`},
		{"POST", "/v1/verifications", 1, `{"number":"+447911123456","method":"flashcall","fallback":["sms","voice"],"consent":{"purpose":"sign-up","given_at":"2026-01-02T03:04:05Z"}}`},
		{"POST", "/v1/verifications", 1, `{"number":"+447911123456","number":"+447911123457","method":"flashcall"}`},
		{"POST", "/v1/verifications", 1, `[{"number":"+447911128101x"}]`},
		{"POST", "/v1/verifications", 3, `{"number":"+447911123456","method":"flashcall"}`},
		{"POST", "/v1/verifications/" + id + "/check", 1, `{"code":"1234"}`},
		{"POST", "/v1/verifications/" + id + "/check", 1, `{"code":1234}`},
		{"POST", "/v1/verifications/" + id + "/hangup", 1, ``},
		{"GET", "/v1/verifications/" + id, 1, ``},
		{"GET", "/v1/verifications/" + id + "/events?token=" + token, 0, ``},
		{"GET", "/v1/verifications/" + id + "/events", 1, ``},
		{"GET", "/v1/verifications/v0000/events?token=x", 0, ``},
		{"POST", "/v1/masking/sessions", 1, `{"a":"+447911123456","b":"+447911123457","ttl_s":3600}`},
		{"GET", "/v1/masking/sessions/m1", 1, ``},
		{"DELETE", "/v1/masking/sessions/m1", 1, ``},
		{"GET", "/v1/privacy/export?number=%2B447911123456", 2, ``},
		{"POST", "/v1/privacy/erase", 2, `{"number":"+447911123456","dry_run":true}`},
		{"GET", "/v1/privacy/audit?number=%2B447911123456", 2, ``},
		{"GET", "/v1/privacy/audit/verify", 2, ``},
		{"GET", "/v1/privacy/report", 2, ``},
		{"GET", "/v1/fraud/prefixes", 2, ``},
		{"DELETE", "/v1/fraud/prefixes/447911", 2, ``},
		{"GET", "/v1/cluster", 1, ``},
		{"GET", "/v1/widget", 3, ``},
		{"OPTIONS", "/v1/verifications", 0, ``},
		{"GET", "/healthz", 0, ``},
		{"GET", "/readyz", 0, ``},
		{"GET", "/metrics", 0, ``},
		{"GET", "/widget/v1/ringproof.js", 0, ``},
		{"GET", "/demo", 0, ``},
		{"GET", "/debug/pprof/cmdline", 2, ``},
		{"GET", "/v1/verifications/%2e%2e/x", 4, ``},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.key, s.body)
	}
	f.Fuzz(func(t *testing.T, method, target string, key byte, body string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/") || strings.HasPrefix(u.Path, "/debug/pprof/") {
			return // not a path (a proxy's request); profiles take seconds, and are Go's
		}
		rec, ok := serveFuzz(srv, method, target, fuzzKeys[int(key)%len(fuzzKeys)], body)
		if !ok {
			return // net/http's server reads no such request
		}
		res := rec.Result()
		got := rec.Body.Bytes()
		if res.StatusCode < 200 || res.StatusCode > 599 || res.StatusCode == http.StatusInternalServerError {
			t.Fatalf("%s %q: %d %s", method, target, res.StatusCode, got)
		}
		ct, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
		if ct == "text/event-stream" || res.StatusCode == http.StatusNoContent || method == "HEAD" {
			return
		}
		if res.StatusCode >= 300 && res.StatusCode < 400 {
			return // the mux's redirect to a cleaned path ("/v1//x", "/v1/./x")
		}
		if !strings.HasPrefix(u.Path, "/v1/") && res.StatusCode < 400 {
			return // the widget's script, the demo page, /metrics
		}
		var answer map[string]any
		if ct != "application/json" || json.Unmarshal(got, &answer) != nil {
			t.Fatalf("%s %q: %d %s %q is no JSON object", method, target, res.StatusCode, ct, got)
		}
		if res.StatusCode >= 400 {
			e, _ := answer["error"].(map[string]any)
			if msg, _ := e["message"].(string); msg == "" {
				t.Fatalf("%s %q: %d %s: no error message", method, target, res.StatusCode, got)
			}
		}
	})
}
