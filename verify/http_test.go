package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

const testKey = "test-key"

// fakeDialer stands in for the SIP side in tests of the API's logic; the
// same paths run against SIPp in cmd/ringproof's integration tests.
type fakeDialer struct {
	callerID string
	mu       sync.Mutex
	calls    int
	draws    atomic.Int64
	// textFails makes SendText fail with this SIP status; 0 sends.
	textFails atomic.Int32
	// answer, if set, answers the next Call with this conversation;
	// otherwise Call fails with 480.
	answer *fakeConversation
	// flash, if set, is what Flash does after counting the call;
	// otherwise the call rings and is cancelled at once.
	flash func(ctx context.Context, report func(CallEvent)) CallEvent
	// text, if set, is what SendText returns, and texts gets every body
	// sent (it must have room).
	text  *CallEvent
	texts chan string
}

// DrawCallerID always draws the same caller ID, under a lease key of its
// own each time so that one number can have several verifications.
func (d *fakeDialer) DrawCallerID(_, numberKey string) (CallerIDLease, error) {
	key := fmt.Sprintf("%s%s/%s/%d", "callerid/", numberKey, d.callerID, d.draws.Add(1))
	return CallerIDLease{CallerID: d.callerID, Key: key, TTL: time.Minute}, nil
}

func (d *fakeDialer) Flash(ctx context.Context, callerID, number string, report func(CallEvent)) CallEvent {
	d.mu.Lock()
	d.calls++
	flash := d.flash
	d.mu.Unlock()
	if flash != nil {
		return flash(ctx, report)
	}
	report(CallEvent{Kind: CallDialing, At: time.Now()})
	report(CallEvent{Kind: CallRinging, Status: 180, At: time.Now()})
	ev := CallEvent{Kind: CallCancelled, Status: 487, At: time.Now()}
	report(ev)
	return ev
}

func (d *fakeDialer) Call(ctx context.Context, number, locale string, report func(CallEvent)) (Conversation, CallEvent) {
	d.mu.Lock()
	conv := d.answer
	d.answer = nil
	d.mu.Unlock()
	if conv == nil {
		ev := CallEvent{Kind: CallFailed, Status: 480, At: time.Now()}
		report(ev)
		return nil, ev
	}
	report(CallEvent{Kind: CallDialing, At: time.Now(), Trunk: conv.trunk})
	report(CallEvent{Kind: CallRinging, Status: 180, At: time.Now(), Trunk: conv.trunk})
	ev := CallEvent{Kind: CallAnswered, Status: 200, At: time.Now(), Trunk: conv.trunk}
	report(ev)
	return conv, ev
}

// answerWith has the next Call answered with conv.
func (d *fakeDialer) answerWith(conv *fakeConversation) {
	d.mu.Lock()
	d.answer = conv
	d.mu.Unlock()
}

func (d *fakeDialer) SendText(ctx context.Context, number, body string) CallEvent {
	d.mu.Lock()
	text, texts := d.text, d.texts
	d.mu.Unlock()
	if texts != nil {
		texts <- body
	}
	if text != nil {
		ev := *text
		ev.At = time.Now()
		return ev
	}
	if st := d.textFails.Load(); st != 0 {
		return CallEvent{Kind: CallFailed, Status: int(st), At: time.Now()}
	}
	return CallEvent{Kind: CallSent, Status: 202, At: time.Now()}
}

func newTestService(t *testing.T, cfg Config) (*Service, *fakeDialer) {
	t.Helper()
	st := storetest.New(t)
	d := &fakeDialer{callerID: "+442079461234"}
	if cfg.CodeLength == 0 {
		cfg = Config{CodeLength: 4, MaxCodeLength: 6, Expiry: 5 * time.Minute, MaxAttempts: 3, MaxPerNumberPerHour: 100}
	}
	if cfg.Vault == nil {
		cfg.Vault = testVault(t, st)
	}
	svc := NewService(st, d, cfg, func(n string) string { return "k" + strings.TrimPrefix(n, "+") }, storetest.Logger(t))
	t.Cleanup(func() { svc.Close(context.Background()) })
	return svc, d
}

func newTestAPI(t *testing.T) (*httptest.Server, *Service) {
	svc, _ := newTestService(t, Config{})
	srv := httptest.NewServer(NewHandler(svc, []string{testKey, "other-key"}, 64<<10, storetest.Logger(t)))
	t.Cleanup(srv.Close)
	return srv, svc
}

func do(t *testing.T, srv *httptest.Server, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s: body is not JSON: %q", method, path, data)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	return res.StatusCode, out
}

func TestAPIRejectsBadInput(t *testing.T) {
	srv, _ := newTestAPI(t)
	_, created := do(t, srv, "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"flashcall"}`)
	id, _ := created["id"].(string)
	if id == "" {
		t.Fatalf("create failed: %v", created)
	}
	tests := []struct {
		name, method, path, key, body string
		status                        int
		code, field                   string
	}{
		{"no key", "POST", "/v1/verifications", "", `{}`, 401, "unauthorized", ""},
		{"wrong key", "POST", "/v1/verifications", "nope", `{}`, 401, "unauthorized", ""},
		{"key prefix", "POST", "/v1/verifications", "test", `{}`, 401, "unauthorized", ""},
		{"not JSON", "POST", "/v1/verifications", testKey, `{"number":`, 400, "invalid_json", ""},
		{"empty body", "POST", "/v1/verifications", testKey, ``, 400, "invalid_json", ""},
		{"array", "POST", "/v1/verifications", testKey, `[]`, 400, "invalid_type", ""},
		{"two objects", "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"flashcall"}{}`, 400, "invalid_json", ""},
		{"unknown field", "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"flashcall","pin":"1"}`, 400, "unknown_field", "pin"},
		{"duplicate key", "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"flashcall","number":"+447911123457"}`, 400, "duplicate_field", "number"},
		{"duplicate nested key", "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"flashcall","consent":{"purpose":"a","purpose":"b"}}`, 400, "duplicate_field", "consent.purpose"},
		{"key in another case", "POST", "/v1/verifications", testKey, `{"Number":"+447911123456","method":"flashcall"}`, 400, "unknown_field", "Number"},
		{"trailing junk in the number", "POST", "/v1/verifications", testKey, `{"number":"+447911128101x","method":"flashcall"}`, 400, "invalid", "number"},
		{"wrong type", "POST", "/v1/verifications", testKey, `{"number":447911123456,"method":"flashcall"}`, 400, "invalid_type", "number"},
		{"unknown method", "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"telepathy"}`, 400, "unsupported", "method"},
		{"no method", "POST", "/v1/verifications", testKey, `{"number":"+447911123456"}`, 400, "missing", "method"},
		{"invalid number", "POST", "/v1/verifications", testKey, `{"number":"12345","method":"flashcall"}`, 400, "invalid", "number"},
		{"letters", "POST", "/v1/verifications", testKey, `{"number":"call me","method":"flashcall"}`, 400, "invalid", "number"},
		{"national without region", "POST", "/v1/verifications", testKey, `{"number":"07911123456","method":"flashcall"}`, 400, "invalid", "number"},
		{"bad region", "POST", "/v1/verifications", testKey, `{"number":"07911123456","region":"ZZ","method":"flashcall"}`, 400, "invalid", "region"},
		{"code length", "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"flashcall","code_length":9}`, 400, "out_of_range", "code_length"},
		{"fallback not a list", "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"flashcall","fallback":"sms"}`, 400, "invalid_type", "fallback"},
		{"fallback unsupported", "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"flashcall","fallback":["keypad_in"]}`, 400, "unsupported", "fallback"},
		{"fallback of an inbound method", "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"inbound_missed","fallback":["sms"]}`, 400, "not_applicable", "fallback"},
		{"1 MB body", "POST", "/v1/verifications", testKey, `{"number":"` + strings.Repeat("1", 1<<20) + `"}`, 413, "body_too_large", ""},
		{"unknown id", "GET", "/v1/verifications/v0123456789abcdef0123456789abcdef", testKey, ``, 404, "not_found", "id"},
		{"junk id", "GET", "/v1/verifications/..%2f..%2fetc", testKey, ``, 404, "not_found", ""},
		{"check junk id", "POST", "/v1/verifications/nope/check", testKey, `{"code":"1234"}`, 404, "not_found", "id"},
		{"check letters", "POST", "/v1/verifications/" + id + "/check", testKey, `{"code":"12a4"}`, 400, "invalid", "code"},
		{"check short", "POST", "/v1/verifications/" + id + "/check", testKey, `{"code":"12"}`, 400, "invalid", "code"},
		{"check missing", "POST", "/v1/verifications/" + id + "/check", testKey, `{}`, 400, "missing", "code"},
		{"check number code", "POST", "/v1/verifications/" + id + "/check", testKey, `{"code":1234}`, 400, "invalid_type", "code"},
		{"hangup body", "POST", "/v1/verifications/" + id + "/hangup", testKey, `{"x":1}`, 400, "invalid_json", ""},
		{"delete", "DELETE", "/v1/verifications", testKey, ``, 405, "method_not_allowed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, srv, tt.method, tt.path, tt.key, tt.body)
			e, _ := body["error"].(map[string]any)
			if status != tt.status || e == nil || e["code"] != tt.code || (tt.field != "" && e["field"] != tt.field) {
				t.Fatalf("got %d %v; want %d code=%s field=%s", status, body, tt.status, tt.code, tt.field)
			}
			if msg, _ := e["message"].(string); msg == "" {
				t.Fatalf("error without a message: %v", body)
			}
		})
	}
	// None of that used up an attempt.
	_, v := do(t, srv, "GET", "/v1/verifications/"+id, testKey, "")
	if v["attempts_left"] != float64(3) {
		t.Fatalf("bad input used attempts: %v", v)
	}
}

// TestAPIErrorsSpeakJSON: a body of the wrong shape is explained in the
// API's terms (a JSON object, an array of strings), never by a Go type.
func TestAPIErrorsSpeakJSON(t *testing.T) {
	srv, _ := newTestAPI(t)
	tests := []struct{ body, want string }{
		{`[]`, "body must be a JSON object, not an array"},
		{`"x"`, "body must be a JSON object, not a string"},
		{`{"number":447911123456,"method":"flashcall"}`, "number must be a string, not a number"},
		{`{"number":"+447911123456","method":"flashcall","fallback":"sms"}`, "fallback must be an array of strings, not a string"},
		{`{"number":"+447911123456","method":"flashcall","code_length":"4"}`, "code_length must be a whole number, not a string"},
	}
	for _, tt := range tests {
		_, body := do(t, srv, "POST", "/v1/verifications", testKey, tt.body)
		e, _ := body["error"].(map[string]any)
		if msg, _ := e["message"].(string); msg != tt.want {
			t.Errorf("%s: message %q, want %q", tt.body, msg, tt.want)
		}
	}
}

func TestAPIFlow(t *testing.T) {
	srv, _ := newTestAPI(t)
	status, v := do(t, srv, "POST", "/v1/verifications", "other-key", `{"number":"07911123456","region":"GB","method":"flashcall","platform":"android","reference":"signup-42"}`)
	if status != 201 || v["status"] != "pending" || v["number"] != "+447911123456" || v["cli_prefix"] != "+44207946" || v["code_length"] != float64(4) {
		t.Fatalf("create: %d %v", status, v)
	}
	if _, leaked := v["caller_id"]; leaked {
		t.Fatalf("create response leaks the caller ID: %v", v)
	}
	id := v["id"].(string)
	status, c := do(t, srv, "POST", "/v1/verifications/"+id+"/check", testKey, `{"code":"0000"}`)
	if status != 200 || c["attempts_left"] != float64(2) || c["status"] == "verified" {
		t.Fatalf("wrong code: %d %v", status, c)
	}
	status, c = do(t, srv, "POST", "/v1/verifications/"+id+"/check", testKey, `{"pin":"1234"}`)
	if status != 200 || c["status"] != "verified" {
		t.Fatalf("right code: %d %v", status, c)
	}
}

func TestAttemptsCannotBeBeatenByConcurrency(t *testing.T) {
	svc, _ := newTestService(t, Config{})
	ctx := context.Background()
	v, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: "flashcall"})
	if err != nil {
		t.Fatal(err)
	}
	// 20 wrong guesses at once: exactly max_attempts of them count, and
	// the right code afterwards does not verify.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc.Check(ctx, v.ID, []string{"0000", "1111", "2222", "3333"}[i%4])
		}()
	}
	wg.Wait()
	res, err := svc.Check(ctx, v.ID, "1234")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFailed || res.AttemptsLeft != 0 {
		t.Fatalf("after 20 concurrent wrong guesses: %+v, want failed with 0 left", res)
	}
}

func TestRateLimitPerNumber(t *testing.T) {
	svc, _ := newTestService(t, Config{CodeLength: 4, MaxCodeLength: 6, Expiry: time.Minute, MaxAttempts: 3, MaxPerNumberPerHour: 2})
	ctx := context.Background()
	for i := range 2 {
		if _, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: "flashcall"}); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	// Two an hour: the budget comes back one create every 30 minutes, so
	// the third waits about that long (not until the clock's next hour).
	_, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: "flashcall"})
	var nl *NumberLimitError
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &nl) || nl.RetryAfter < 29*time.Minute || nl.RetryAfter > 30*time.Minute {
		t.Fatalf("third create: %v, want ErrRateLimited with about 30 minutes to wait", err)
	}
	if _, err := svc.Create(ctx, CreateRequest{Number: "+447911123457", Method: "flashcall"}); err != nil {
		t.Fatalf("another number is limited too: %v", err)
	}
}

// TestRateLimitIsExactUnderConcurrency: the count is taken in the
// transaction that stores the verification, so racing creates of one
// number get exactly the limit through, and refused ones count nothing.
func TestRateLimitIsExactUnderConcurrency(t *testing.T) {
	svc, _ := newTestService(t, Config{CodeLength: 4, MaxCodeLength: 6, Expiry: time.Minute, MaxAttempts: 3, MaxPerNumberPerHour: 3})
	ctx := context.Background()
	var wg sync.WaitGroup
	var ok, limited atomic.Int64
	for range 12 {
		wg.Go(func() {
			_, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: "flashcall"})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrRateLimited):
				limited.Add(1)
			default:
				t.Errorf("create: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 3 || limited.Load() != 9 {
		t.Fatalf("12 racing creates with a limit of 3: %d stored, %d refused", ok.Load(), limited.Load())
	}
}

func TestExpiry(t *testing.T) {
	svc, _ := newTestService(t, Config{})
	// The clock is read by the call's goroutines too: set it atomically;
	// 0 is the real time.
	var fake atomic.Int64
	fake.Store(time.Now().UnixNano())
	svc.now = func() time.Time {
		if n := fake.Load(); n != 0 {
			return time.Unix(0, n)
		}
		return time.Now()
	}
	ctx := context.Background()
	v, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: "flashcall"})
	if err != nil {
		t.Fatal(err)
	}
	fake.Store(v.ExpiresAt.Add(time.Second).UnixNano())
	got, err := svc.Get(ctx, v.ID)
	if err != nil || got.Status != StatusExpired || got.Reason != ReasonExpired {
		t.Fatalf("after expiry: %+v %v", got, err)
	}
	res, err := svc.Check(ctx, v.ID, "1234")
	if err != nil || res.Status != StatusExpired {
		t.Fatalf("right code after expiry: %+v %v", res, err)
	}
	// The expiry was written to the store, not only computed.
	fake.Store(0)
	if got, _ := svc.Get(ctx, v.ID); got.Status != StatusExpired {
		t.Fatalf("stored status %s, want expired", got.Status)
	}
}

func TestInboundMissedHasNoCode(t *testing.T) {
	svc, _ := newTestService(t, Config{})
	ctx := context.Background()
	if _, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: "inbound_missed"}); err == nil {
		t.Fatal("inbound_missed without inbound.numbers was accepted")
	}
}

// TestFullStoreAnswers507: a store past its space quota is not a transient
// failure: the API says so (507 store_full) instead of asking to retry.
func TestFullStoreAnswers507(t *testing.T) {
	c := storetest.Config(t)
	c.QuotaBytes = 4 << 20
	st := storetest.Open(t, c)
	val := strings.Repeat("x", 64<<10)
	for i := 0; ; i++ {
		err := st.Put(t.Context(), fmt.Sprintf("fill/%d", i), []byte(val), 0)
		if errors.Is(err, store.ErrFull) {
			break
		}
		if err != nil || i == 1000 {
			t.Fatalf("filling the store: %v after %d writes", err, i)
		}
	}
	svc := NewService(st, &fakeDialer{callerID: "+442079461234"},
		Config{CodeLength: 4, MaxCodeLength: 6, Expiry: time.Minute, MaxAttempts: 3, MaxPerNumberPerHour: 10, Vault: testVault(t, st)},
		func(n string) string { return "k" + strings.TrimPrefix(n, "+") }, storetest.Logger(t))
	t.Cleanup(func() { svc.Close(context.Background()) })
	srv := httptest.NewServer(NewHandler(svc, []string{testKey}, 64<<10, storetest.Logger(t)))
	t.Cleanup(srv.Close)
	status, body := do(t, srv, "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"flashcall"}`)
	e, _ := body["error"].(map[string]any)
	if status != http.StatusInsufficientStorage || e["code"] != "store_full" {
		t.Fatalf("create on a full store: %d %v, want 507 store_full", status, body)
	}
}

// TestAPICancel: cancel makes a verification final canceled, again and
// again; a verification that ended otherwise is 409 already_final naming
// its status. A check says whether its code proved the number (valid).
func TestAPICancel(t *testing.T) {
	srv, svc := newTestAPI(t)
	create := func() string {
		_, v := do(t, srv, "POST", "/v1/verifications", testKey, `{"number":"+447911123456","method":"flashcall"}`)
		id, _ := v["id"].(string)
		if id == "" {
			t.Fatalf("create: %v", v)
		}
		follow(t, svc, id, func(v *Verification) bool { return v.Status == StatusRang })
		return id
	}
	id := create()
	for range 2 {
		status, v := do(t, srv, "POST", "/v1/verifications/"+id+"/cancel", testKey, "")
		if status != 200 || v["status"] != "canceled" || v["reason"] != "cancel_requested" {
			t.Fatalf("cancel: %d %v", status, v)
		}
	}
	if status, c := do(t, srv, "POST", "/v1/verifications/"+id+"/check", testKey, `{"code":"1234"}`); status != 200 || c["status"] != "canceled" || c["valid"] != false {
		t.Fatalf("the right code once canceled: %d %v", status, c)
	}

	verified := create()
	if _, c := do(t, srv, "POST", "/v1/verifications/"+verified+"/check", testKey, `{"code":"0000"}`); c["valid"] != false || c["status"] != "rang" {
		t.Fatalf("a wrong code: %v", c)
	}
	if _, c := do(t, srv, "POST", "/v1/verifications/"+verified+"/check", testKey, `{"code":"1234"}`); c["valid"] != true || c["status"] != "verified" {
		t.Fatalf("the right code: %v", c)
	}
	status, body := do(t, srv, "POST", "/v1/verifications/"+verified+"/cancel", testKey, "")
	e, _ := body["error"].(map[string]any)
	if status != 409 || e["code"] != "already_final" || e["reason"] != "verified" {
		t.Fatalf("cancel a verified verification: %d %v", status, body)
	}
	if _, v := do(t, srv, "GET", "/v1/verifications/"+verified, testKey, ""); v["status"] != "verified" {
		t.Fatalf("after a refused cancel: %v", v)
	}
	for _, tt := range []struct{ path, body string }{
		{"/v1/verifications/v0123456789abcdef0123456789abcdef/cancel", ""},
		{"/v1/verifications/" + id + "/cancel", `{"x":1}`},
	} {
		if status, body := do(t, srv, "POST", tt.path, testKey, tt.body); status/100 != 4 || body["error"] == nil {
			t.Errorf("POST %s %s: %d %v", tt.path, tt.body, status, body)
		}
	}
}

// TestUnknownPathsAnswerJSON: the handler serves all of /v1/ in the
// server; a path or method it has no route for gets a JSON 404, not the
// mux's text (found by cmd/ringproof.FuzzAPI).
func TestUnknownPathsAnswerJSON(t *testing.T) {
	srv, _ := newTestAPI(t)
	for _, tt := range []struct{ method, path string }{
		{"GET", "/v1/"},
		{"GET", "/v1/nothing"},
		{"0", "/v1/"},
		{"POST", "/v1/verification"},
	} {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testKey)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var v map[string]any
		if res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &v) != nil || v["error"] == nil {
			t.Errorf("%s %s: %d %s %q; want a JSON 404", tt.method, tt.path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
}
