package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestKeysMatch(t *testing.T) {
	ks := NewKeys([]string{"alpha", "beta"})
	tests := []struct {
		header string
		want   int
	}{
		{"Bearer alpha", 0},
		{"Bearer beta", 1},
		{"Bearer alph", -1},
		{"Bearer alphabet", -1},
		{"Bearer ", -1},
		{"alpha", -1},
		{"Basic alpha", -1},
		{"", -1},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		if got := ks.Match(r); got != tt.want {
			t.Errorf("Match(%q) = %d, want %d", tt.header, got, tt.want)
		}
	}
	if got := NewKeys([]string{""}).MatchToken(""); got != -1 {
		t.Errorf("an empty key matched an empty token: %d", got)
	}
}

func TestRequireKey(t *testing.T) {
	h := RequireKey([]string{"k"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	for _, tt := range []struct {
		key  string
		want int
	}{{"k", 204}, {"x", 401}, {"", 401}} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tt.key)
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("key %q: %d, want %d", tt.key, w.Code, tt.want)
		}
		if w.Code == 401 && w.Header().Get("WWW-Authenticate") != `Bearer realm="ringproof"` {
			t.Errorf("401 without a Bearer challenge: %q", w.Header().Get("WWW-Authenticate"))
		}
	}
}

// errorOf decodes an error body.
func errorOf(t *testing.T, w *httptest.ResponseRecorder) ErrorDetail {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var b ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	return b.Error
}

func TestDecodeBody(t *testing.T) {
	type req struct {
		Number string `json:"number"`
		Count  int    `json:"count"`
	}
	tests := []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"ok", `{"number":"+44","count":1}`, 200, "", ""},
		{"empty", ``, 400, "invalid_json", ""},
		{"truncated", `{"number":`, 400, "invalid_json", ""},
		{"two objects", `{}{}`, 400, "invalid_json", ""},
		{"array", `[]`, 400, "invalid_type", ""},
		{"unknown field", `{"pin":"1"}`, 400, "unknown_field", "pin"},
		{"wrong type", `{"count":"x"}`, 400, "invalid_type", "count"},
		{"too big", `{"number":"` + strings.Repeat("1", 100) + `"}`, 413, "body_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			var v req
			ok := DecodeBody(w, httptest.NewRequest("POST", "/", strings.NewReader(tt.body)), 64, &v)
			if ok != (tt.status == 200) {
				t.Fatalf("DecodeBody = %v for %q", ok, tt.body)
			}
			if ok {
				return
			}
			d := errorOf(t, w)
			if w.Code != tt.status || d.Code != tt.code || d.Field != tt.field {
				t.Fatalf("%d %+v, want %d %s %q", w.Code, d, tt.status, tt.code, tt.field)
			}
		})
	}
}

func TestDecodeEmpty(t *testing.T) {
	for body, want := range map[string]bool{"": true, " {} ": true, `{"a":1}`: false, "x": false} {
		w := httptest.NewRecorder()
		if got := DecodeEmpty(w, httptest.NewRequest("POST", "/", strings.NewReader(body)), 64); got != want {
			t.Errorf("DecodeEmpty(%q) = %v", body, got)
		}
	}
}

type refusal struct{ wait time.Duration }

func (r refusal) Error() string { return "too many" }
func (r refusal) Refusal() (int, string, string, time.Duration) {
	return 429, "rate_limited", "per_key", r.wait
}

func TestWriteRefusal(t *testing.T) {
	w := httptest.NewRecorder()
	if WriteRefusal(w, errors.New("plain"), "") {
		t.Fatal("a plain error was answered as a refusal")
	}
	w = httptest.NewRecorder()
	if !WriteRefusal(w, refusal{1500 * time.Millisecond}, "number") {
		t.Fatal("a refusal was not answered")
	}
	d := errorOf(t, w)
	if w.Code != 429 || d.Code != "rate_limited" || d.Reason != "per_key" || d.Limit != "per_key" || d.Field != "number" {
		t.Fatalf("%d %+v", w.Code, d)
	}
	if ra := w.Header().Get("Retry-After"); ra != "2" {
		t.Fatalf("Retry-After %q, want 2 (rounded up)", ra)
	}
}

func TestWriteInputError(t *testing.T) {
	w := httptest.NewRecorder()
	if !WriteInputError(w, &InputError{Field: "number", Code: "invalid", Message: "no"}) {
		t.Fatal("not answered")
	}
	if d := errorOf(t, w); w.Code != 400 || d.Field != "number" || d.Code != "invalid" {
		t.Fatalf("%d %+v", w.Code, d)
	}
	if WriteInputError(httptest.NewRecorder(), errors.New("x")) {
		t.Fatal("a plain error was answered")
	}
}

// TestReadBodyReturnsWhatDecodeBodyAnswers: ReadBody writes nothing and
// returns the status, code and field DecodeBody would answer with.
func TestReadBodyReturnsWhatDecodeBodyAnswers(t *testing.T) {
	type req struct {
		Number string `json:"number"`
	}
	for body, want := range map[string]*BodyError{
		`{"number":"+44"}`:                      nil,
		`{"pin":"1"}`:                           {Status: 400, Code: "unknown_field", Field: "pin"},
		`{"number":1}`:                          {Status: 400, Code: "invalid_type", Field: "number"},
		`{"number":"` + strings.Repeat("1", 80): {Status: 413, Code: "body_too_large"},
	} {
		w := httptest.NewRecorder()
		var v req
		got := ReadBody(w, httptest.NewRequest("POST", "/", strings.NewReader(body)), 64, &v)
		if w.Body.Len() != 0 {
			t.Errorf("%s: ReadBody wrote %q", body, w.Body)
		}
		if (got == nil) != (want == nil) || got != nil && (got.Status != want.Status || got.Code != want.Code || got.Field != want.Field || got.Message == "") {
			t.Errorf("%s: %+v, want %+v", body, got, want)
		}
	}
}
