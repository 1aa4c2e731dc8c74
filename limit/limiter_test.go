package limit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// clock is a time that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newLimiter returns a limiter of r on st whose clock is c.
func newLimiter(st *store.Store, prefix string, r limit.Rate, c *clock) *limit.Limiter {
	l := limit.New(st, prefix, r)
	limit.SetClock(l, c.Now)
	return l
}

func allow(t *testing.T, l *limit.Limiter, subject string) (bool, time.Duration) {
	t.Helper()
	ok, wait, err := l.Allow(t.Context(), subject)
	if err != nil {
		t.Fatalf("Allow(%q): %v", subject, err)
	}
	return ok, wait
}

// TestAllow spends a budget of 3 a minute, is refused with the true wait,
// and is served again once that wait has passed.
func TestAllow(t *testing.T) {
	st := storetest.New(t)
	c := newClock()
	l := newLimiter(st, "limit/test/", limit.PerMinute(3), c)
	for i := range 3 {
		if ok, _ := allow(t, l, "k1"); !ok {
			t.Fatalf("event %d refused", i+1)
		}
	}
	ok, wait := allow(t, l, "k1")
	if ok || wait != 20*time.Second {
		t.Fatalf("4th event: ok %v, retry after %v; want refused, 20s", ok, wait)
	}
	if ok, _ := allow(t, l, "k2"); !ok {
		t.Fatal("another subject is refused")
	}
	c.Add(19 * time.Second)
	if ok, wait := allow(t, l, "k1"); ok || wait != time.Second {
		t.Fatalf("1 s early: ok %v, retry after %v; want refused, 1s", ok, wait)
	}
	c.Add(time.Second)
	if ok, _ := allow(t, l, "k1"); !ok {
		t.Fatal("refused once the wait had passed")
	}
}

// TestAllowKeyExpires checks that a subject's key is leased to expire when
// its budget is full again (not before, and at most the store's lease
// granularity after).
func TestAllowKeyExpires(t *testing.T) {
	st := storetest.New(t)
	l := limit.New(st, "limit/test/", limit.PerMinute(2))
	for range 2 {
		if ok, _ := allow(t, l, "k"); !ok {
			t.Fatal("refused")
		}
	}
	ctx := t.Context()
	resp, err := st.Client().Get(ctx, st.Prefix()+l.Key("k"))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get key: %v, %d keys", err, len(resp.Kvs))
	}
	kv := resp.Kvs[0]
	if kv.Lease == 0 {
		t.Fatal("the key has no lease: it would never expire")
	}
	ttl, err := st.Client().TimeToLive(ctx, clientLease(kv.Lease))
	if err != nil {
		t.Fatal(err)
	}
	// Two taken of 2 a minute: full again in 60 s.
	if ttl.TTL < 59 || ttl.TTL > 60+7 {
		t.Errorf("key expires in %d s, want 59 to 67", ttl.TTL)
	}
}

// TestAllowSharedByNodes has two limiters (two nodes, each guessing from
// what it saw) and many goroutines spend one budget: exactly the budget
// is granted.
func TestAllowSharedByNodes(t *testing.T) {
	st := storetest.New(t)
	c := newClock() // held still: nothing comes back into the budget
	nodes := []*limit.Limiter{
		newLimiter(st, "limit/test/", limit.PerHour(40), c),
		newLimiter(st, "limit/test/", limit.PerHour(40), c),
	}
	var granted, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Go(func() {
			l := nodes[g%2]
			for range 10 {
				ok, wait, err := l.Allow(t.Context(), "shared")
				if err != nil {
					errs <- err
					return
				}
				if ok {
					granted.Add(1)
				} else {
					refused.Add(1)
					if wait != 90*time.Second {
						errs <- fmt.Errorf("refused with retry after %v, want 1m30s", wait)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if granted.Load() != 40 || refused.Load() != 40 {
		t.Fatalf("granted %d, refused %d; want 40 and 40", granted.Load(), refused.Load())
	}
}

// TestReserveInCallersTransaction uses a limit inside a transaction that
// also creates a record: nothing is counted when the record's own
// condition fails, the record is not written when the limit refuses, and
// a reservation resting on a stale state is retried.
func TestReserveInCallersTransaction(t *testing.T) {
	st := storetest.New(t)
	ctx := t.Context()
	c := newClock()
	l := newLimiter(st, "limit/test/", limit.PerHour(2), c)
	// create writes record under the limit of subject "n", as a caller
	// would: reserve, build, apply, settle, retry when stale.
	create := func(l *limit.Limiter, record string) (created bool, wait time.Duration) {
		t.Helper()
		for range 5 {
			r, err := l.Reserve(ctx, "n")
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() {
				return false, r.RetryAfter()
			}
			txn := store.Txn{
				If:   []store.Cmp{store.IfAbsent(record)},
				Then: []store.Op{store.OpPut(record, []byte("x"), time.Minute)},
			}
			r.AddTo(&txn)
			res, err := st.Apply(ctx, txn)
			if err != nil {
				t.Fatal(err)
			}
			if stale := r.Settle(res); !stale {
				return res.OK, 0
			}
		}
		t.Fatal("still stale after 5 tries")
		return false, 0
	}
	if ok, _ := create(l, "rec/1"); !ok {
		t.Fatal("first create refused")
	}
	if ok, _ := create(l, "rec/1"); ok {
		t.Fatal("a second record under one key was created")
	}
	// The refused create took nothing: one event is left.
	other := newLimiter(st, "limit/test/", limit.PerHour(2), c) // another node
	if ok, _ := create(other, "rec/2"); !ok {
		t.Fatal("the event left was not granted: the refused create counted")
	}
	// l's view is stale now (it saw one taken); its reservation fails
	// the compare-and-swap and is retried, then refused.
	ok, wait := create(l, "rec/3")
	if ok || wait != 30*time.Minute {
		t.Fatalf("third create: %v, retry after %v; want refused, 30m", ok, wait)
	}
	if _, _, err := st.Get(ctx, "rec/3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused record written: %v", err)
	}
}

// TestAllowAfterStateDeleted: a subject's state removed from the store (an
// erasure, an operator's reset) is noticed within a second by a node that
// had refused it.
func TestAllowAfterStateDeleted(t *testing.T) {
	st := storetest.New(t)
	c := newClock()
	l := newLimiter(st, "limit/test/", limit.PerHour(1), c)
	if ok, _ := allow(t, l, "k"); !ok {
		t.Fatal("refused")
	}
	if ok, _ := allow(t, l, "k"); ok {
		t.Fatal("second event of one an hour granted")
	}
	if err := st.Delete(t.Context(), l.Key("k")); err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Second)
	if ok, wait := allow(t, l, "k"); !ok {
		t.Fatalf("refused after the state was deleted, retry after %v", wait)
	}
}

// TestUnlimited touches no store.
func TestUnlimited(t *testing.T) {
	l := limit.New(nil, "limit/test/", limit.Rate{})
	ok, _, err := l.Allow(context.Background(), "k")
	if !ok || err != nil {
		t.Fatalf("Allow = %v, %v", ok, err)
	}
	r, err := l.Reserve(context.Background(), "k")
	if err != nil || !r.OK() {
		t.Fatalf("Reserve = %v, %v", r.OK(), err)
	}
	var txn store.Txn
	r.AddTo(&txn)
	if len(txn.If)+len(txn.Then)+len(txn.Read) != 0 {
		t.Fatalf("unlimited reservation adds %+v", txn)
	}
	p := limit.NewPool(l, 0)
	if ok, _, err := p.Allow(context.Background(), "k"); !ok || err != nil {
		t.Fatalf("Pool.Allow = %v, %v", ok, err)
	}
}

// TestAllowKeyOutlivesItsTAT: a key still in the store long after its TAT
// (etcd may keep a lease longer than asked) is taken from, not fought
// over: the node stops guessing it gone once it has seen it there.
func TestAllowKeyOutlivesItsTAT(t *testing.T) {
	st := storetest.New(t)
	c := newClock()
	l := newLimiter(st, "limit/test/", limit.PerMinute(60), c)
	if ok, _ := allow(t, l, "k"); !ok {
		t.Fatal("refused")
	}
	// The key's lease runs on real time (a second or more); this node's
	// clock jumps a minute on.
	c.Add(time.Minute)
	for i := range 3 {
		if ok, wait := allow(t, l, "k"); !ok {
			t.Fatalf("take %d refused, retry after %v", i+1, wait)
		}
	}
}

// TestRefund: an event given back can be taken again, by this node or
// another; refunding a full budget changes nothing.
func TestRefund(t *testing.T) {
	st := storetest.New(t)
	c := newClock()
	l := newLimiter(st, "limit/test/", limit.PerHour(1), c)
	if err := l.Refund(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := allow(t, l, "k"); !ok {
		t.Fatal("refused")
	}
	if err := l.Refund(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	// other has not seen the subject: its first take guesses it fresh.
	other := newLimiter(st, "limit/test/", limit.PerHour(1), c)
	if ok, _ := allow(t, other, "k"); !ok {
		t.Fatal("the refunded event was not granted to another node")
	}
	if ok, _ := allow(t, l, "k"); ok {
		t.Fatal("a second event of one an hour granted")
	}
	// A refund by l, whose view is the state it read when refused.
	if err := l.Refund(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	// other trusts the refusal it saw for a second, then reads again.
	c.Add(2 * time.Second)
	if ok, _ := allow(t, other, "k"); !ok {
		t.Fatal("refund from a node with a stale view was lost")
	}
	// A node that never saw the subject reads it before refunding.
	fresh := newLimiter(st, "limit/test/", limit.PerHour(1), c)
	if err := fresh.Refund(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Second)
	if ok, _ := allow(t, other, "k"); !ok {
		t.Fatal("refund from a node that never saw the subject was lost")
	}
}
