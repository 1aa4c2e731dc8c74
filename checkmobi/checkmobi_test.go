package checkmobi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/verify"
)

// The handler's translation of requests, answers and errors, over a fake
// Verifier; cmd/ringproof's checkmobi_test.go drives the real service
// end to end.

type fakeVerifier struct {
	err error // returned by every call
	// createErrs are returned by the first creates, before err.
	createErrs []error
	created    verify.CreateRequest
	v          verify.Verification
	checked    string
	hangups    int
}

func (f *fakeVerifier) Create(_ context.Context, req verify.CreateRequest) (*verify.Verification, error) {
	f.created = req
	if len(f.createErrs) > 0 {
		err := f.createErrs[0]
		f.createErrs = f.createErrs[1:]
		return nil, err
	}
	v := f.v
	return &v, f.err
}

func (f *fakeVerifier) Get(context.Context, string) (*verify.Verification, error) {
	v := f.v
	return &v, f.err
}

func (f *fakeVerifier) Check(_ context.Context, id, code string) (*verify.CheckResult, error) {
	f.checked = code
	return &verify.CheckResult{ID: id, Status: f.v.Status}, f.err
}

func (f *fakeVerifier) Hangup(context.Context, string) (*verify.Verification, error) {
	f.hangups++
	v := f.v
	return &v, f.err
}

const key = "secret"

func serve(t *testing.T, f *fakeVerifier, method, path, auth, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	h := NewHandler(f, []string{key}, 1024, nil)
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON", method, path, w.Code, w.Body)
	}
	return w, out
}

func TestSecretKeyWithOrWithoutBearer(t *testing.T) {
	for _, tt := range []struct {
		auth string
		want int
	}{{key, 200}, {"Bearer " + key, 200}, {"", 401}, {"wrong", 401}, {"Bearer wrong", 401}, {"Basic " + key, 401}} {
		w, out := serve(t, &fakeVerifier{}, "GET", "/v1/validation/status/x", tt.auth, "")
		if w.Code != tt.want {
			t.Errorf("Authorization %q: %d, want %d", tt.auth, w.Code, tt.want)
		}
		if w.Code == 401 && out["code"] != float64(1) {
			t.Errorf("Authorization %q: %v, want CheckMobi's code 1", tt.auth, out)
		}
	}
}

func TestRequestMapsTypes(t *testing.T) {
	for typ, method := range map[string]verify.Method{"reverse_cli": "flashcall", "cli": "inbound_missed", "sms": "sms", "ivr": "voice"} {
		f := &fakeVerifier{v: verify.Verification{ID: "v1", Number: "+40743123456", CLIPrefix: "+4420794", DialNumber: "+441632960000"}}
		w, out := serve(t, f, "POST", "/v1/validation/request", key, `{"number":"40743123456","type":"`+typ+`","platform":"android","language":"ro"}`)
		if w.Code != 200 || out["id"] != "v1" || out["type"] != typ {
			t.Fatalf("%s: %d %v", typ, w.Code, out)
		}
		if f.created.Method != string(method) || f.created.Number != "+40743123456" || f.created.Platform != "android" || f.created.Locale != "ro" {
			t.Fatalf("%s created %+v", typ, f.created)
		}
		if want := map[bool]int{true: 4}[typ == "reverse_cli"]; f.created.CodeLength != want {
			t.Fatalf("%s: code_length %d, want %d", typ, f.created.CodeLength, want)
		}
		info := out["validation_info"].(map[string]any)
		if info["country_code"] != float64(40) || info["country_iso_code"] != "RO" || info["is_mobile"] != true ||
			info["e164_format"] != "+40743123456" || info["formatting"] != "+40 743 123 456" || info["carrier"] == "" {
			t.Fatalf("%s: validation_info %v", typ, info)
		}
	}
}

func TestErrorsInCheckMobisCodes(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		err                      error
		status, code             int
		field                    string
	}{
		{"bad JSON", "POST", "/v1/validation/request", `{"number":`, nil, 400, 7, ""},
		{"unknown field", "POST", "/v1/validation/request", `{"number":"+40743123456","type":"sms","pin":"1"}`, nil, 400, 7, "pin"},
		{"too large", "POST", "/v1/validation/request", `{"number":"` + strings.Repeat("1", 2000) + `"}`, nil, 413, 7, ""},
		{"no type", "POST", "/v1/validation/request", `{"number":"+40743123456"}`, nil, 400, 4, "type"},
		{"unknown type", "POST", "/v1/validation/request", `{"number":"+40743123456","type":"keypad_in"}`, nil, 400, 4, "type"},
		{"callback", "POST", "/v1/validation/request", `{"number":"+40743123456","type":"sms","notification_callback":"https://a.example/"}`, nil, 400, 9, "notification_callback"},
		{"bad number", "POST", "/v1/validation/request", `{"number":"12","type":"sms"}`,
			&api.InputError{Field: "number", Code: "invalid", Message: "not valid"}, 400, 2, "number"},
		{"no dial numbers", "POST", "/v1/validation/request", `{"number":"+40743123456","type":"cli"}`,
			&api.InputError{Field: "method", Code: "unsupported", Message: "needs inbound.numbers"}, 400, 8, "type"},
		{"type not the service's", "POST", "/v1/validation/request", `{"number":"+40743123456","type":"ivr"}`,
			&verify.MethodError{Field: "method", Message: "the service a may not create voice verifications"}, 403, 8, "type"},
		{"bad language", "POST", "/v1/validation/request", `{"number":"+40743123456","type":"ivr","language":"a/b"}`,
			&api.InputError{Field: "locale", Code: "invalid", Message: "no"}, 400, 7, "language"},
		{"number limit", "POST", "/v1/validation/request", `{"number":"+40743123456","type":"sms"}`,
			&verify.NumberLimitError{RetryAfter: time.Minute}, 429, 14, "number"},
		{"store down", "POST", "/v1/validation/request", `{"number":"+40743123456","type":"sms"}`,
			store.ErrUnavailable, 503, 503, ""},
		{"internal", "POST", "/v1/validation/request", `{"number":"+40743123456","type":"sms"}`,
			errors.New("boom"), 500, 500, ""},
		{"no id", "POST", "/v1/validation/verify", `{"pin":"1234"}`, nil, 400, 3, "id"},
		{"no pin", "POST", "/v1/validation/verify", `{"id":"v1"}`, nil, 400, 7, "pin"},
		{"pin as a number", "POST", "/v1/validation/verify", `{"id":"v1","pin":1234}`, nil, 400, 7, "pin"},
		{"unknown id", "POST", "/v1/validation/verify", `{"id":"v1","pin":"1234"}`, verify.ErrNotFound, 404, 3, "id"},
		{"malformed pin", "POST", "/v1/validation/verify", `{"id":"v1","pin":"12"}`,
			&api.InputError{Field: "code", Code: "invalid", Message: "code must be 4 digits"}, 400, 7, "pin"},
		{"unknown status", "GET", "/v1/validation/status/v1", "", verify.ErrNotFound, 404, 3, "id"},
		{"wrong method", "GET", "/v1/validation/request", "", nil, 405, 405, ""},
		{"no such route", "GET", "/v1/validation/other", "", nil, 404, 404, ""},
	}
	for _, tt := range tests {
		w, out := serve(t, &fakeVerifier{err: tt.err}, tt.method, tt.path, key, tt.body)
		if w.Code != tt.status || out["code"] != float64(tt.code) || out["error"] == "" || (out["field"] != nil && out["field"] != tt.field) || (out["field"] == nil && tt.field != "") {
			t.Errorf("%s: %d %v, want %d code %d field %q", tt.name, w.Code, out, tt.status, tt.code, tt.field)
		}
	}
}

func TestVerifyAnswersValidated(t *testing.T) {
	at := time.Unix(1416946931, 0)
	f := &fakeVerifier{v: verify.Verification{ID: "v1", Number: "+40743123456", Status: verify.StatusVerified, VerifiedAt: &at}}
	w, out := serve(t, f, "POST", "/v1/validation/verify", key, `{"id":"v1","pin":"1234","use_server_hangup":true}`)
	if w.Code != 200 || out["validated"] != true || out["validation_date"] != float64(1416946931) || out["number"] != "+40743123456" || out["charged_amount"] != float64(0) {
		t.Fatalf("%d %v", w.Code, out)
	}
	if f.checked != "1234" || f.hangups != 0 {
		t.Fatalf("checked %q, %d hang-ups", f.checked, f.hangups)
	}
	// A wrong pin with use_server_hangup ends the call all the same.
	f.v = verify.Verification{ID: "v1", Number: "+40743123456", Status: verify.StatusRinging}
	w, out = serve(t, f, "POST", "/v1/validation/verify", key, `{"id":"v1","pin":"9999","use_server_hangup":true}`)
	if w.Code != 200 || out["validated"] != false || out["validation_date"] != nil {
		t.Fatalf("wrong pin: %d %v", w.Code, out)
	}
	if f.hangups != 1 {
		t.Fatalf("a wrong pin with use_server_hangup hung up %d times", f.hangups)
	}
	// HANGUP is the service's to act on: no second hang-up.
	serve(t, f, "POST", "/v1/validation/verify", key, `{"id":"v1","pin":"HANGUP","use_server_hangup":true}`)
	if f.checked != "HANGUP" || f.hangups != 1 {
		t.Fatalf("HANGUP: checked %q, %d hang-ups", f.checked, f.hangups)
	}
}

// TestRequestForATestNumber: a test number's validation takes its code's
// configured length, and a number the plan does not know is described by
// its digits.
func TestRequestForATestNumber(t *testing.T) {
	f := &fakeVerifier{
		v:          verify.Verification{ID: "v1", Number: "+99912345"},
		createErrs: []error{&api.InputError{Field: "code_length", Code: "invalid", Message: "this test number's code has 6 digits"}},
	}
	w, out := serve(t, f, "POST", "/v1/validation/request", key, `{"number":"+99912345","type":"reverse_cli"}`)
	if w.Code != 200 || f.created.CodeLength != 0 {
		t.Fatalf("%d %v; created %+v", w.Code, out, f.created)
	}
	if info := out["validation_info"].(map[string]any); info["e164_format"] != "+99912345" || info["country_code"] != float64(0) {
		t.Fatalf("validation_info %v", info)
	}
}
