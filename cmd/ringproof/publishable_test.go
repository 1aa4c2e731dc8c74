package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/resulttoken"
)

// Publishable keys, CORS and result tokens against the running server,
// with the test handset as the carrier: what a web page may and may not do
// with a key anyone can read.

const (
	pubKey      = "pk_test_signup"
	otherPubKey = "pk_test_other"
	appOrigin   = "https://app.example"
)

var resultTokenKeyHex = strings.Repeat("5a", 32)

// publishableServer runs a node with two publishable keys for appOrigin
// (the first also for the node's own address) and a handset as carrier.
func publishableServer(t *testing.T) (*testServer, <-chan string) {
	lines, carrier := phoneCarrier(t, 20)
	c := testConfig(t, carrier)
	c.HTTP.PublishableKeys = []conf.PublishableKey{
		{Key: pubKey, Origins: []string{appOrigin, "http://" + c.HTTP.Listen}, Methods: []string{"flashcall", "sms"}, PerIPPerMinute: 1000},
		{Key: otherPubKey, Origins: []string{appOrigin}, Methods: []string{"flashcall"}, PerIPPerMinute: 4},
	}
	c.HTTP.CORSOrigins = []string{"http://dashboard.example"}
	c.HTTP.ResultTokenKeyHex = resultTokenKeyHex
	return startServer(t, c), lines
}

// pageReply is an answer to a request a page made.
type pageReply struct {
	status int
	header http.Header
	body   map[string]any
}

// page sends a request as a web page on origin would, with key ("" for
// none); headers are extra name, value pairs.
func (s *testServer) page(method, path, key, origin, body string, headers ...string) pageReply {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	r := pageReply{status: res.StatusCode, header: res.Header}
	if len(data) > 0 && json.Unmarshal(data, &r.body) != nil {
		s.t.Fatalf("%s %s: %d %q is not JSON", method, path, res.StatusCode, data)
	}
	return r
}

// errorCode is the error.code of an error reply.
func (r pageReply) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestPublishableKeyVerifiesAFlashCall(t *testing.T) {
	t.Parallel()
	srv, lines := publishableServer(t)
	r := srv.page("POST", "/v1/verifications", pubKey, appOrigin, `{"number":"`+testNumber+`","method":"flashcall"}`)
	if r.status != http.StatusCreated || r.header.Get("Access-Control-Allow-Origin") != appOrigin {
		t.Fatalf("create: %d %v %v", r.status, r.header, r.body)
	}
	id, _ := r.body["id"].(string)
	if r.body["number"] != "+44*******456" || r.body["watch_token"] == "" || r.header.Get("Location") != "/v1/verifications/"+id {
		t.Fatalf("create answered %v", r.body)
	}
	code := nextLine(t, lines, regexp.MustCompile(`^phone: cancelled: call from \+\d+ to \+\d+ after .* \(flash-call code (\d{4})\)`))[1]
	srv.noteCode(code)
	srv.waitFor(id, "the call over", callOver)

	if c := srv.page("POST", "/v1/verifications/"+id+"/check", pubKey, appOrigin, `{"code":"`+wrongCode(code)+`"}`); c.status != 200 || c.body["attempts_left"] != float64(2) || c.body["result_token"] != nil {
		t.Fatalf("a wrong code: %d %v", c.status, c.body)
	}
	c := srv.page("POST", "/v1/verifications/"+id+"/check", pubKey, appOrigin, `{"code":"`+code+`"}`)
	if c.status != 200 || c.body["status"] != "verified" {
		t.Fatalf("the right code: %d %v", c.status, c.body)
	}
	key := mustHex(t, resultTokenKeyHex)
	token, _ := c.body["result_token"].(string)
	claims, err := resulttoken.Verify(key, token, time.Minute, time.Now())
	if err != nil || claims.ID != id || claims.Number != testNumber || claims.Status != "verified" {
		t.Fatalf("result token %q: %+v, %v", token, claims, err)
	}
	g := srv.page("GET", "/v1/verifications/"+id, pubKey, appOrigin, "")
	if g.status != 200 || g.body["status"] != "verified" || g.body["number"] != "+44*******456" || g.body["watch_token"] != nil {
		t.Fatalf("GET its own verification: %d %v", g.status, g.body)
	}
	if _, err := resulttoken.Verify(key, g.body["result_token"].(string), time.Minute, time.Now()); err != nil {
		t.Fatalf("GET's result token: %v", err)
	}
	// The application's server sees the same, with the number, by API key.
	if _, v := srv.call("GET", "/v1/verifications/"+id, ""); v["number"] != testNumber || v["result_token"] == nil {
		t.Fatalf("GET by API key: %v", v)
	}
}

func TestPublishableKeyIsConfined(t *testing.T) {
	t.Parallel()
	srv, _ := publishableServer(t)
	create := `{"number":"` + testNumber + `","method":"flashcall"}`
	theirs := srv.create("+447911123457") // by the application's API key
	other := srv.page("POST", "/v1/verifications", otherPubKey, appOrigin, `{"number":"+447911123458","method":"flashcall"}`)
	if other.status != http.StatusCreated {
		t.Fatalf("create with the other key: %d %v", other.status, other.body)
	}
	otherID := other.body["id"].(string)
	tests := []struct {
		name, method, path, key, origin, body string
		headers                               []string
		status                                int
		code                                  string
	}{
		{"no origin", "POST", "/v1/verifications", pubKey, "", create, nil, 403, "origin_not_allowed"},
		{"foreign origin", "POST", "/v1/verifications", pubKey, "https://evil.example", create, nil, 403, "origin_not_allowed"},
		{"origin of the other scheme", "POST", "/v1/verifications", pubKey, "http://app.example", create, nil, 403, "origin_not_allowed"},
		{"cross-site without origin", "GET", "/v1/widget", pubKey, "", "", []string{"Sec-Fetch-Site", "cross-site"}, 403, "origin_not_allowed"},
		{"method not allowed", "POST", "/v1/verifications", pubKey, appOrigin, `{"number":"` + testNumber + `","method":"voice"}`, nil, 403, "method_not_allowed"},
		{"fallback not allowed", "POST", "/v1/verifications", pubKey, appOrigin, `{"number":"` + testNumber + `","method":"flashcall","fallback":["voice"]}`, nil, 403, "method_not_allowed"},
		{"GET another's", "GET", "/v1/verifications/" + theirs, pubKey, appOrigin, "", nil, 404, "not_found"},
		{"GET another key's", "GET", "/v1/verifications/" + otherID, pubKey, appOrigin, "", nil, 404, "not_found"},
		{"check another's", "POST", "/v1/verifications/" + theirs + "/check", pubKey, appOrigin, `{"code":"1234"}`, nil, 404, "not_found"},
		{"hang up another's", "POST", "/v1/verifications/" + theirs + "/hangup", pubKey, appOrigin, "", nil, 404, "not_found"},
		{"cancel another's", "POST", "/v1/verifications/" + theirs + "/cancel", pubKey, appOrigin, "", nil, 404, "not_found"},
		{"cancel another key's", "POST", "/v1/verifications/" + otherID + "/cancel", pubKey, appOrigin, "", nil, 404, "not_found"},
		{"list", "GET", "/v1/verifications", pubKey, appOrigin, "", nil, 403, "forbidden"},
		{"events by key", "GET", "/v1/verifications/" + otherID + "/events", otherPubKey, appOrigin, "", nil, 401, "unauthorized"},
		{"cluster", "GET", "/v1/cluster", pubKey, appOrigin, "", nil, 401, "unauthorized"},
		{"masking", "GET", "/v1/masking/sessions/m0", pubKey, appOrigin, "", nil, 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.page(tt.method, tt.path, tt.key, tt.origin, tt.body, tt.headers...)
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Fatalf("%s %s: %d %v, want %d %s", tt.method, tt.path, r.status, r.body, tt.status, tt.code)
			}
		})
	}
	// The application's key still reads both, neither canceled.
	for _, id := range []string{theirs, otherID} {
		if status, v := srv.call("GET", "/v1/verifications/"+id, ""); status != 200 || v["status"] == "canceled" {
			t.Fatalf("API key GET %s: %d %v", id, status, v)
		}
	}
	// A key cancels its own, and sees it masked.
	if r := srv.page("POST", "/v1/verifications/"+otherID+"/cancel", otherPubKey, appOrigin, ""); r.status != 200 || r.body["status"] != "canceled" || r.body["number"] == "+447911123458" {
		t.Fatalf("cancel by its own key: %d %v", r.status, r.body)
	}
	// A page served by ringproof itself sends no Origin on a GET.
	if r := srv.page("GET", "/v1/widget", pubKey, "", "", "Sec-Fetch-Site", "same-origin"); r.status != 200 || fmt.Sprint(r.body["methods"]) != "[flashcall sms]" {
		t.Fatalf("same-origin settings: %d %v", r.status, r.body)
	}
	if r := srv.page("GET", "/v1/widget", otherPubKey, "", "", "Sec-Fetch-Site", "same-origin"); r.status != 403 {
		t.Fatalf("same-origin with a key not for this server: %d %v", r.status, r.body)
	}
}

func TestPublishableKeyIsLimitedPerClientIP(t *testing.T) {
	t.Parallel()
	srv, _ := publishableServer(t)
	// otherPubKey allows 4 requests a minute: a budget of 4 that refills
	// one every 15 s (package limit), so the fifth within 15 s is refused;
	// on a slow machine the budget may refill once or twice meanwhile.
	var last pageReply
	for range 9 {
		if last = srv.page("GET", "/v1/widget", otherPubKey, appOrigin, ""); last.status != 200 {
			break
		}
	}
	retry, err := strconv.Atoi(last.header.Get("Retry-After"))
	if last.status != 429 || last.errorCode() != "rate_limited" || err != nil || retry < 1 || retry > 60 {
		t.Fatalf("past the limit: %d %v Retry-After %q", last.status, last.body, last.header.Get("Retry-After"))
	}
	// Other keys count apart.
	if r := srv.page("GET", "/v1/widget", pubKey, appOrigin, ""); r.status != 200 {
		t.Fatalf("the other key: %d", r.status)
	}
}

func TestCORSPreflightAndEventStream(t *testing.T) {
	t.Parallel()
	srv, _ := publishableServer(t)
	// Preflights are answered without a key, for the widget's routes and
	// the event stream.
	preflights := []struct{ path, method string }{
		{"/v1/verifications", "POST"},
		{"/v1/verifications/v00000000000000000000000000000000/check", "POST"},
		{"/v1/verifications/v00000000000000000000000000000000/cancel", "POST"},
		{"/v1/verifications/v00000000000000000000000000000000/events", "GET"},
		{"/v1/widget", "GET"},
	}
	for _, tt := range []struct {
		origin string
		status int
	}{{appOrigin, 204}, {"http://dashboard.example", 204}, {"https://evil.example", 403}} {
		for _, p := range preflights {
			r := srv.page("OPTIONS", p.path, "", tt.origin, "",
				"Access-Control-Request-Method", p.method, "Access-Control-Request-Headers", "authorization,content-type")
			allow := r.header.Get("Access-Control-Allow-Origin")
			if r.status != tt.status || (tt.status == 204) != (allow == tt.origin) {
				t.Fatalf("preflight of %s %s from %s: %d, Access-Control-Allow-Origin %q", p.method, p.path, tt.origin, r.status, allow)
			}
			if tt.status == 204 && (!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST")) {
				t.Fatalf("preflight headers: %v", r.header)
			}
		}
	}
	// An API key's answers carry no CORS headers: API keys belong on
	// servers.
	req, _ := http.NewRequest("GET", srv.base+"/v1/verifications/v00000000000000000000000000000000", nil)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Origin", appOrigin)
	if res, err := http.DefaultClient.Do(req); err != nil || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("API key answer: %v %v", err, res.Header)
	} else {
		res.Body.Close()
	}
	// The event stream answers pages of allowed origins.
	created := srv.page("POST", "/v1/verifications", pubKey, appOrigin, `{"number":"`+testNumber+`","method":"flashcall"}`)
	id, token := created.body["id"].(string), created.body["watch_token"].(string)
	for origin, want := range map[string]string{"http://dashboard.example": "http://dashboard.example", appOrigin: appOrigin, "https://evil.example": ""} {
		req, _ := http.NewRequest("GET", srv.base+"/v1/verifications/"+id+"/events?token="+token, nil)
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != want {
			t.Fatalf("events from %s: %d, Access-Control-Allow-Origin %q", origin, res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

func TestPublishableKeyFallsBackToSMS(t *testing.T) {
	t.Parallel()
	srv, lines := publishableServer(t)
	r := srv.page("POST", "/v1/verifications", pubKey, appOrigin, `{"number":"`+testNumber+`","method":"flashcall","fallback":["sms"]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %v", r.status, r.body)
	}
	id := r.body["id"].(string)
	srv.noteCode(nextLine(t, lines, regexp.MustCompile(`flash-call code (\d{4})`))[1])
	srv.waitFor(id, "the call over", callOver)
	if h := srv.page("POST", "/v1/verifications/"+id+"/check", pubKey, appOrigin, `{"code":"HANGUP"}`); h.status != 200 {
		t.Fatalf("HANGUP: %d %v", h.status, h.body)
	}
	next := srv.waitFor(id, "a next link", func(v map[string]any) bool { return v["next_id"] != nil })["next_id"].(string)
	code := nextLine(t, lines, regexp.MustCompile(`^phone: text from .*: Your verification code is (\d{4})`))[1]
	srv.noteCode(code)
	// The link the server started belongs to the same key.
	c := srv.page("POST", "/v1/verifications/"+next+"/check", pubKey, appOrigin, `{"code":"`+code+`"}`)
	if c.status != 200 || c.body["status"] != "verified" || c.body["result_token"] == nil {
		t.Fatalf("the text's code on the next link: %d %v", c.status, c.body)
	}
	if o := srv.page("GET", "/v1/verifications/"+next, otherPubKey, appOrigin, ""); o.status != 404 {
		t.Fatalf("another key reads the next link: %d", o.status)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	var b []byte
	if _, err := fmt.Sscanf(s, "%x", &b); err != nil {
		t.Fatal(err)
	}
	return b
}
