package history_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/history"
)

func delivery(id string, at time.Time) history.Delivery {
	return history.Delivery{
		ID: id, Event: "verification.updated", URL: "http://127.0.0.1:1/hook", SecretID: "s1",
		Body: []byte(`{"id":"` + id + `"}`), CreatedAt: at, NextAt: at,
		GiveUpAt: at.Add(24 * time.Hour), ExpiresAt: at.Add(48 * time.Hour),
	}
}

// TestDeliveryLease: a claimed delivery is nobody else's until its lease
// ends; then another node takes it, and the first can no longer settle it.
// A delivery settled stays, so that enqueuing its id again adds nothing.
func TestDeliveryLease(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		if n, err := s.Enqueue(ctx, delivery("d1", t0), delivery("d1", t0), delivery("d2", t0.Add(time.Minute))); err != nil || n != 2 {
			t.Fatalf("enqueue: %d, %v", n, err)
		}
		st, err := s.DeliveryStats(ctx, t0.Add(time.Minute))
		if err != nil || st.Count != 2 || !st.Oldest.Equal(t0) {
			t.Fatalf("stats: %+v, %v", st, err)
		}
		got, err := s.ClaimDeliveries(ctx, "a", t0, 30*time.Second, 10)
		if err != nil || len(got) != 1 || got[0].ID != "d1" || string(got[0].Body) != `{"id":"d1"}` || !got[0].GiveUpAt.Equal(t0.Add(24*time.Hour)) {
			t.Fatalf("a claims what is due: %+v, %v", got, err)
		}
		if got, err := s.ClaimDeliveries(ctx, "b", t0.Add(10*time.Second), 30*time.Second, 10); err != nil || len(got) != 0 {
			t.Fatalf("b claims during a's lease: %+v, %v", got, err)
		}
		got, err = s.ClaimDeliveries(ctx, "b", t0.Add(31*time.Second), 30*time.Second, 10)
		if err != nil || len(got) != 1 || got[0].ID != "d1" {
			t.Fatalf("b takes over once the lease ended: %+v, %v", got, err)
		}
		if ok, err := s.SettleDelivery(ctx, "d1", "a", history.Settlement{State: history.DeliveryDelivered}); err != nil || ok {
			t.Fatalf("a settles what b holds: %v, %v", ok, err)
		}
		retry := history.Settlement{State: history.DeliveryPending, NextAt: t0.Add(40 * time.Second), Attempts: 1, LastError: "503"}
		if ok, err := s.SettleDelivery(ctx, "d1", "b", retry); err != nil || !ok {
			t.Fatalf("b settles: %v, %v", ok, err)
		}
		got, err = s.ClaimDeliveries(ctx, "a", t0.Add(time.Minute), 30*time.Second, 10)
		if err != nil || len(got) != 2 || got[0].ID != "d1" || got[0].Attempts != 1 || got[0].LastError != "503" {
			t.Fatalf("both due: %+v, %v", got, err)
		}
		for _, d := range got {
			if ok, err := s.SettleDelivery(ctx, d.ID, "a", history.Settlement{State: history.DeliveryDelivered, Attempts: d.Attempts + 1}); err != nil || !ok {
				t.Fatalf("settle %s: %v, %v", d.ID, ok, err)
			}
		}
		if got, err := s.ClaimDeliveries(ctx, "a", t0.Add(time.Hour), 30*time.Second, 10); err != nil || len(got) != 0 {
			t.Fatalf("delivered ones are claimed again: %+v, %v", got, err)
		}
		if n, err := s.Enqueue(ctx, delivery("d1", t0)); err != nil || n != 0 {
			t.Fatalf("a delivered id enqueued again: %d, %v", n, err)
		}
		if d, state, err := s.Delivery(ctx, "d1"); err != nil || state != history.DeliveryDelivered || d.Attempts != 2 {
			t.Fatalf("d1: %+v %s, %v", d, state, err)
		}
		if st, err := s.DeliveryStats(ctx, t0.Add(time.Hour)); err != nil || st.Count != 0 {
			t.Fatalf("stats: %+v, %v", st, err)
		}
		x, err := s.Expire(ctx, t0.Add(49*time.Hour))
		if err != nil || x.Webhooks != 2 {
			t.Fatalf("expire: %+v, %v", x, err)
		}
		if _, _, err := s.Delivery(ctx, "d1"); err != history.ErrNotFound {
			t.Fatalf("d1 after expiry: %v", err)
		}
	})
}

// TestDeliveriesComeWithTheirEntries: a batch's deliveries are written
// with its entries, and writing the batch again enqueues nothing new.
func TestDeliveriesComeWithTheirEntries(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		b := history.Batch{
			Entries:    []history.Entry{entry("v1", "nkA", t0, 1, "{}")},
			Deliveries: []history.Delivery{delivery("v1.1", t0), delivery("v1.2", t0), delivery("v1.1", t0)},
		}
		w, err := s.Write(ctx, b)
		if err != nil || w.Entries != 1 || w.Deliveries != 2 {
			t.Fatalf("write: %+v, %v", w, err)
		}
		if w, err = s.Write(ctx, b); err != nil || w.Deliveries != 0 {
			t.Fatalf("write again: %+v, %v", w, err)
		}
		if st, err := s.DeliveryStats(ctx, t0); err != nil || st.Count != 2 {
			t.Fatalf("stats: %+v, %v", st, err)
		}
	})
}

// TestClaimsRacing: nodes claiming at once never hold one delivery
// together.
func TestClaimsRacing(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		var ds []history.Delivery
		for i := range 60 {
			ds = append(ds, delivery(fmt.Sprintf("d%02d", i), t0))
		}
		if _, err := s.Enqueue(ctx, ds...); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		held := map[string]string{}
		var wg sync.WaitGroup
		for n := range 4 {
			owner := fmt.Sprintf("node%d", n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := s.ClaimDeliveries(ctx, owner, t0, time.Minute, 5)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, d := range got {
						if prev, ok := held[d.ID]; ok {
							t.Errorf("%s claimed by %s and %s", d.ID, prev, owner)
						}
						held[d.ID] = owner
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(held) != 60 {
			t.Fatalf("claimed %d of 60", len(held))
		}
	})
}

// TestIdempotencyKeys: the first claim wins; others see it in flight, then
// its answer; a claim left in flight past its lock is taken over by the
// same body only; an expired row is claimed afresh.
func TestIdempotencyKeys(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		c := history.IdempotencyClaim{Key: "k1", BodyHash: []byte("body1"), At: t0, LockedUntil: t0.Add(30 * time.Second), ExpiresAt: t0.Add(24 * time.Hour)}
		if _, ok, err := s.ClaimIdempotency(ctx, c); err != nil || !ok {
			t.Fatalf("first claim: %v, %v", ok, err)
		}
		again := c
		again.At = t0.Add(time.Second)
		row, ok, err := s.ClaimIdempotency(ctx, again)
		if err != nil || ok || row.Status != 0 || string(row.BodyHash) != "body1" {
			t.Fatalf("in flight: %+v %v, %v", row, ok, err)
		}
		if err := s.CompleteIdempotency(ctx, "k1", 201, []byte("answer")); err != nil {
			t.Fatal(err)
		}
		other := again
		other.BodyHash = []byte("body2")
		row, ok, err = s.ClaimIdempotency(ctx, other)
		if err != nil || ok || row.Status != 201 || string(row.Response) != "answer" || string(row.BodyHash) != "body1" {
			t.Fatalf("completed: %+v %v, %v", row, ok, err)
		}
		late := c
		late.At, late.LockedUntil, late.ExpiresAt = t0.Add(25*time.Hour), t0.Add(25*time.Hour+30*time.Second), t0.Add(49*time.Hour)
		if row, ok, err = s.ClaimIdempotency(ctx, late); err != nil || !ok {
			t.Fatalf("after expiry: %+v %v, %v", row, ok, err)
		}
		// Left in flight (its node died): past the lock, the same body
		// takes it over, another does not.
		other = late
		other.At, other.BodyHash = late.LockedUntil.Add(time.Second), []byte("body2")
		if row, ok, err = s.ClaimIdempotency(ctx, other); err != nil || ok {
			t.Fatalf("another body after the lock: %+v %v, %v", row, ok, err)
		}
		same := late
		same.At = late.LockedUntil.Add(time.Second)
		if row, ok, err = s.ClaimIdempotency(ctx, same); err != nil || !ok {
			t.Fatalf("same body after the lock: %+v %v, %v", row, ok, err)
		}
		if err := s.ReleaseIdempotency(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err = s.ClaimIdempotency(ctx, other); err != nil || !ok {
			t.Fatalf("after release: %v, %v", ok, err)
		}
		x, err := s.Expire(ctx, t0.Add(100*time.Hour))
		if err != nil || x.Idempotency != 1 {
			t.Fatalf("expire: %+v, %v", x, err)
		}
	})
}

// TestScheduledDeliveries: a scheduled delivery is replaced by a later
// enqueue of its id and removed by a cancellation, while untried; once
// tried, neither touches it.
func TestScheduledDeliveries(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		d := delivery("exp", t0.Add(time.Hour))
		d.Scheduled = true
		if n, err := s.Enqueue(ctx, d); err != nil || n != 1 {
			t.Fatalf("schedule: %d, %v", n, err)
		}
		d.Body, d.NextAt = []byte(`{"seq":3}`), t0.Add(2*time.Hour)
		if n, err := s.Enqueue(ctx, d); err != nil || n != 1 {
			t.Fatalf("replace: %d, %v", n, err)
		}
		if got, _, err := s.Delivery(ctx, "exp"); err != nil || string(got.Body) != `{"seq":3}` || !got.NextAt.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("replaced: %+v, %v", got, err)
		}
		if st, err := s.DeliveryStats(ctx, t0.Add(30*time.Minute)); err != nil || st.Count != 0 {
			t.Fatalf("a delivery scheduled ahead is counted waiting: %+v, %v", st, err)
		}
		if got, _ := s.ClaimDeliveries(ctx, "a", t0.Add(90*time.Minute), time.Minute, 10); len(got) != 0 {
			t.Fatalf("claimed before its time: %+v", got)
		}
		c := d
		c.Scheduled, c.Cancelled = false, true
		if _, err := s.Enqueue(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Delivery(ctx, "exp"); err != history.ErrNotFound {
			t.Fatalf("after cancel: %v", err)
		}
		// Tried once: it stays as it is.
		s.Enqueue(ctx, d)
		got, _ := s.ClaimDeliveries(ctx, "a", t0.Add(2*time.Hour), time.Minute, 10)
		if len(got) != 1 {
			t.Fatalf("claim: %+v", got)
		}
		s.SettleDelivery(ctx, "exp", "a", history.Settlement{State: history.DeliveryPending, NextAt: t0.Add(3 * time.Hour), Attempts: 1, LastError: "503"})
		d.Body = []byte(`{"seq":4}`)
		s.Enqueue(ctx, d, c)
		if got, _, err := s.Delivery(ctx, "exp"); err != nil || string(got.Body) != `{"seq":3}` || got.Attempts != 1 {
			t.Fatalf("a tried delivery changed: %+v, %v", got, err)
		}
	})
}
