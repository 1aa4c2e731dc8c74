package idempotency

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ringproof/ringproof/history"
)

func keyed(domain string, parts ...string) []byte {
	m := hmac.New(sha256.New, []byte("test key of at least thirty-two bytes"))
	m.Write([]byte(domain))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

type fixture struct {
	srv     *httptest.Server
	runs    atomic.Int64
	status  atomic.Int64
	release chan struct{} // if set, the handler waits for it
	entered chan struct{}
	st      history.Store
}

func newFixture(t *testing.T) *fixture {
	st, err := history.OpenEmbedded(context.Background(), filepath.Join(t.TempDir(), history.EmbeddedFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st}
	f.status.Store(http.StatusCreated)
	g := New(st, func(r *http.Request) string {
		if a := r.Header.Get("Authorization"); a != "Bearer public" {
			return a
		}
		return ""
	}, keyed, 1<<16, nil, "/v1/things")
	f.srv = httptest.NewServer(g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.runs.Add(1)
		if f.release != nil {
			f.entered <- struct{}{}
			<-f.release
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/v1/things/"+string(rune('0'+n)))
		w.WriteHeader(int(f.status.Load()))
		json.NewEncoder(w).Encode(map[string]any{"run": n, "body": string(body)})
	})))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) post(t *testing.T, auth, key, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/things", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if key != "" {
		req.Header.Set(Header, key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestReplaysTheFirstAnswer(t *testing.T) {
	f := newFixture(t)
	r1, b1 := f.post(t, "Bearer k1", "abc", `{"n":1}`)
	r2, b2 := f.post(t, "Bearer k1", "abc", `{"n":1}`)
	if r1.StatusCode != 201 || r2.StatusCode != 201 || b1 != b2 || f.runs.Load() != 1 {
		t.Fatalf("first %d %s, again %d %s, runs %d", r1.StatusCode, b1, r2.StatusCode, b2, f.runs.Load())
	}
	if r2.Header.Get(ReplayedHeader) != "true" || r1.Header.Get(ReplayedHeader) != "" || r2.Header.Get("Location") != r1.Header.Get("Location") {
		t.Fatalf("headers: first %v, replay %v", r1.Header, r2.Header)
	}
	// Another body with the key: 422 naming the header.
	r3, b3 := f.post(t, "Bearer k1", "abc", `{"n":2}`)
	if r3.StatusCode != 422 || !strings.Contains(b3, `"code":"idempotency_key_reused"`) || !strings.Contains(b3, `"field":"Idempotency-Key"`) {
		t.Fatalf("another body: %d %s", r3.StatusCode, b3)
	}
	// The same key from another API key is another request.
	if r, _ := f.post(t, "Bearer k2", "abc", `{"n":2}`); r.StatusCode != 201 || f.runs.Load() != 2 {
		t.Fatalf("another API key: %d, runs %d", r.StatusCode, f.runs.Load())
	}
	// Without the header, nothing is kept.
	f.post(t, "Bearer k1", "", `{"n":1}`)
	if f.runs.Load() != 3 {
		t.Fatalf("runs %d", f.runs.Load())
	}
	// Nor for a key that is not secret.
	f.post(t, "Bearer public", "abc", `{"n":1}`)
	if r, _ := f.post(t, "Bearer public", "abc", `{"n":1}`); r.Header.Get(ReplayedHeader) != "" || f.runs.Load() != 5 {
		t.Fatalf("a public key's request replayed: runs %d", f.runs.Load())
	}
}

func TestRetryableAnswersAreNotKept(t *testing.T) {
	f := newFixture(t)
	f.status.Store(http.StatusServiceUnavailable)
	if r, _ := f.post(t, "Bearer k1", "k", `{}`); r.StatusCode != 503 {
		t.Fatalf("status %d", r.StatusCode)
	}
	f.status.Store(http.StatusCreated)
	if r, _ := f.post(t, "Bearer k1", "k", `{}`); r.StatusCode != 201 || f.runs.Load() != 2 {
		t.Fatalf("after a 503: %d, runs %d", r.StatusCode, f.runs.Load())
	}
}

func TestInFlightIsConflict(t *testing.T) {
	f := newFixture(t)
	f.release, f.entered = make(chan struct{}), make(chan struct{}, 1)
	done := make(chan string)
	go func() {
		_, b := f.post(t, "Bearer k1", "k", `{}`)
		done <- b
	}()
	<-f.entered
	r, b := f.post(t, "Bearer k1", "k", `{}`)
	if r.StatusCode != 409 || r.Header.Get("Retry-After") == "" || !strings.Contains(b, "idempotency_key_in_flight") {
		t.Fatalf("concurrent duplicate: %d %s", r.StatusCode, b)
	}
	close(f.release)
	first := <-done
	f.release = nil
	if _, b := f.post(t, "Bearer k1", "k", `{}`); b != first || f.runs.Load() != 1 {
		t.Fatalf("after the first ended: %s (first %s), runs %d", b, first, f.runs.Load())
	}
}

func TestBadKeys(t *testing.T) {
	f := newFixture(t)
	for _, k := range []string{strings.Repeat("x", MaxKeyLength+1), "tab\there"} {
		r, b := f.post(t, "Bearer k1", k, `{}`)
		if r.StatusCode != 400 || !strings.Contains(b, `"field":"Idempotency-Key"`) {
			t.Errorf("key %q: %d %s", k, r.StatusCode, b)
		}
	}
	if f.runs.Load() != 0 {
		t.Fatalf("runs %d", f.runs.Load())
	}
}
