package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/history"
)

// receiver is an HTTP server that checks each delivery's signature and
// answers with the status its test sets.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []*http.Request
	bodies []string
	bad    []string
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{status: http.StatusServiceUnavailable}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := Verify([]byte(secret), req.Header.Get(SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			r.bad = append(r.bad, err.Error())
		}
		r.got, r.bodies = append(r.got, req), append(r.bodies, string(body))
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) answer(status int) {
	r.mu.Lock()
	r.status = status
	r.mu.Unlock()
}

func openQueue(t *testing.T) history.Store {
	s, err := history.OpenEmbedded(context.Background(), filepath.Join(t.TempDir(), history.EmbeddedFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestDispatcherRetriesThenDelivers: a delivery refused is retried
// within 10 s, signed each time, with the same id, until the receiver
// takes it; one that fails past a day is dropped.
func TestDispatcherRetriesThenDelivers(t *testing.T) {
	const secret = "whsec_dispatcher_test"
	rcv := newReceiver(t, secret)
	subs := []conf.Webhook{{URL: rcv.URL + "/hook", Secret: secret, Events: []string{conf.EventVerificationUpdated}}}
	hooks := NewHooks(func(s string) string { return "id-" + s[:6] })
	q, ctx := openQueue(t), context.Background()
	start := time.Now()
	ds, err := hooks.Deliveries(append(subs, conf.Webhook{URL: "http://127.0.0.1:1/", Secret: secret, Events: []string{conf.EventMaskingCallEnded}}),
		conf.EventVerificationUpdated, "v1/2", start, map[string]string{"id": "v1", "status": "ringing"})
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries: %+v, %v", ds, err)
	}
	if _, err := q.Enqueue(ctx, ds...); err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher(q, hooks, "node1", func() []conf.Webhook { return subs }, nil)
	now := start
	d.now = func() time.Time { return now }

	if n := d.round(ctx); n != 1 {
		t.Fatalf("first round claimed %d", n)
	}
	got, state, err := q.Delivery(ctx, ds[0].ID)
	if err != nil || state != history.DeliveryPending || got.Attempts != 1 || got.LastError != "receiver answered 503" {
		t.Fatalf("after a 503: %+v %s, %v", got, state, err)
	}
	if wait := got.NextAt.Sub(now); wait <= 0 || wait > 10*time.Second {
		t.Fatalf("first retry in %v", wait)
	}
	if n := d.round(ctx); n != 0 {
		t.Fatalf("retried before it was due: %d", n)
	}
	rcv.answer(http.StatusNoContent)
	now = got.NextAt
	if n := d.round(ctx); n != 1 {
		t.Fatalf("retry round claimed %d", n)
	}
	if _, state, _ := q.Delivery(ctx, ds[0].ID); state != history.DeliveryDelivered {
		t.Fatalf("state %s", state)
	}
	rcv.mu.Lock()
	if len(rcv.got) != 2 || len(rcv.bad) != 0 {
		t.Fatalf("receiver got %d, bad signatures %v", len(rcv.got), rcv.bad)
	}
	for i, r := range rcv.got {
		if r.Header.Get(IDHeader) != ds[0].ID || r.Header.Get(EventHeader) != conf.EventVerificationUpdated || r.Header.Get(AttemptHeader) != []string{"1", "2"}[i] {
			t.Errorf("attempt %d headers: %v", i+1, r.Header)
		}
	}
	rcv.mu.Unlock()
	if s := d.Stats(); s.Delivered != 1 || s.Retried != 1 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}

	// A delivery still failing a day later is dropped.
	ds, _ = hooks.Deliveries(subs, conf.EventVerificationUpdated, "v1/3", start, map[string]string{"id": "v1"})
	q.Enqueue(ctx, ds...)
	rcv.answer(http.StatusInternalServerError)
	now = start.Add(RetryFor + time.Second)
	d.round(ctx)
	if _, state, _ := q.Delivery(ctx, ds[0].ID); state != history.DeliveryDropped {
		t.Fatalf("state after a day %s", state)
	}
	if s := d.Stats(); s.Dropped != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestDeliveriesAreStable: the same occurrence makes the same ids; a
// subscription that does not want the event gets none.
func TestDeliveriesAreStable(t *testing.T) {
	hooks := NewHooks(func(s string) string { return s[:4] })
	subs := []conf.Webhook{
		{URL: "https://a.example/", Secret: "aaaa-secret-0123456", Events: []string{conf.EventVerificationUpdated}},
		{URL: "https://b.example/", Secret: "bbbb-secret-0123456", Events: []string{conf.EventVerificationUpdated, conf.EventMaskingCallEnded}},
		{URL: "https://c.example/", Secret: "cccc-secret-0123456", Events: []string{conf.EventMaskingCallEnded}},
	}
	at := fixtureTime
	one, _ := hooks.Deliveries(subs, conf.EventVerificationUpdated, "v1/2", at, map[string]int{"n": 1})
	two, _ := hooks.Deliveries(subs, conf.EventVerificationUpdated, "v1/2", at, map[string]int{"n": 1})
	three, _ := hooks.Deliveries(subs, conf.EventVerificationUpdated, "v1/3", at, map[string]int{"n": 1})
	if len(one) != 2 || one[0].ID != two[0].ID || one[1].ID != two[1].ID || one[0].ID == one[1].ID || one[0].ID == three[0].ID {
		t.Fatalf("ids: %+v %+v %+v", one, two, three)
	}
	if one[0].SecretID != "aaaa" || string(one[0].Body) != string(one[1].Body) || one[0].GiveUpAt.Sub(at) != RetryFor {
		t.Fatalf("delivery: %+v", one[0])
	}
}
