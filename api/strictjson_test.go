package api

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDecodeBodyIsStricterThanEncodingJSON: what encoding/json lets by (a
// key twice, a key in another case) is refused naming the field, nested
// ones by their path, and type errors speak JSON, not Go.
func TestDecodeBodyIsStricterThanEncodingJSON(t *testing.T) {
	type inner struct {
		Purpose string `json:"purpose"`
	}
	type req struct {
		Number  string   `json:"number"`
		Count   int      `json:"count"`
		Tags    []string `json:"tags"`
		Consent *inner   `json:"consent"`
		Items   []inner  `json:"items"`
	}
	tests := []struct {
		body, code, field, message string
	}{
		{`{"number":"+441","number":"+442"}`, "duplicate_field", "number", "number is given twice"},
		{`{"consent":{"purpose":"a","purpose":"b"}}`, "duplicate_field", "consent.purpose", "consent.purpose is given twice"},
		{`{"items":[{"purpose":"a"},{"purpose":"a","purpose":"b"}]}`, "duplicate_field", "items[1].purpose", "items[1].purpose is given twice"},
		{`{"Number":"+441"}`, "unknown_field", "Number", `unknown field "Number" (keys are case-sensitive: "number")`},
		{`{"consent":{"PURPOSE":"a"}}`, "unknown_field", "consent.PURPOSE", `unknown field "PURPOSE" (keys are case-sensitive: "purpose")`},
		{`[]`, "invalid_type", "", "body must be a JSON object, not an array"},
		{`{"count":"3"}`, "invalid_type", "count", "count must be a whole number, not a string"},
		{`{"tags":"a"}`, "invalid_type", "tags", "tags must be an array of strings, not a string"},
		{`{"consent":[]}`, "invalid_type", "consent", "consent must be an object, not an array"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		var v req
		if DecodeBody(w, httptest.NewRequest("POST", "/", strings.NewReader(tt.body)), 1<<10, &v) {
			t.Errorf("%s: accepted", tt.body)
			continue
		}
		if d := errorOf(t, w); w.Code != 400 || d.Code != tt.code || d.Field != tt.field || d.Message != tt.message {
			t.Errorf("%s: %d %+v; want 400 %s %q %q", tt.body, w.Code, d, tt.code, tt.field, tt.message)
		}
	}
	// The same keys in other objects, and maps, are fine.
	w := httptest.NewRecorder()
	var v req
	if !DecodeBody(w, httptest.NewRequest("POST", "/", strings.NewReader(`{"number":"+441","items":[{"purpose":"a"},{"purpose":"b"}],"consent":{"purpose":"c"}}`)), 1<<10, &v) {
		t.Fatalf("a valid body refused: %s", w.Body)
	}
}

func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{`{"number":"+441","count":1}`, `{"a":{"a":{"a":[1,{"b":2,"b":3}]}}}`, `[]`, `{"Number":1}`, `{"count":1e999}`} {
		f.Add([]byte(s))
	}
	type req struct {
		Number  string            `json:"number"`
		Count   int               `json:"count"`
		Tags    []string          `json:"tags"`
		Extra   map[string]string `json:"extra"`
		Consent *struct {
			Purpose string `json:"purpose"`
		} `json:"consent"`
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		var v req
		if DecodeBody(w, httptest.NewRequest("POST", "/", strings.NewReader(string(body))), 4<<10, &v) {
			return
		}
		if w.Code != 400 && w.Code != 413 {
			t.Fatalf("%q: status %d", body, w.Code)
		}
		if d := errorOf(t, w); d.Code == "" || d.Message == "" {
			t.Fatalf("%q: error %+v", body, d)
		}
	})
}
