package limit_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/store/storetest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func clientLease(id int64) clientv3.LeaseID { return clientv3.LeaseID(id) }

// TestPoolSharedBudget has two nodes' pools spend one budget of 100 a
// second while time stands still: together they grant exactly 100, in
// fewer store transactions than events, and each refusal names the time
// until the next event.
func TestPoolSharedBudget(t *testing.T) {
	st := storetest.New(t)
	c := newClock()
	r := limit.PerSecond(100)
	pools := []*limit.Pool{
		limit.NewPool(newLimiter(st, "limit/global/", r, c), 100*time.Millisecond),
		limit.NewPool(newLimiter(st, "limit/global/", r, c), 100*time.Millisecond),
	}
	if got := limit.MaxBatch(pools[0]); got != 10 {
		t.Fatalf("max batch %d, want 10 (100/s for 100 ms)", got)
	}
	var granted atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			p := pools[g%2]
			for range 40 {
				ok, wait, err := p.Allow(t.Context(), "all")
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					granted.Add(1)
				} else if wait != 10*time.Millisecond {
					t.Errorf("refused with retry after %v, want 10ms", wait)
					return
				}
			}
		})
	}
	wg.Wait()
	if granted.Load() != 100 {
		t.Fatalf("granted %d, want exactly the budget, 100", granted.Load())
	}
}

// TestPoolBatchFollowsDemand: a lone event costs a transaction of one (the
// store's budget shows one taken), and Return hands an unused event to the
// next caller on the node.
func TestPoolBatchFollowsDemand(t *testing.T) {
	st := storetest.New(t)
	c := newClock()
	l := newLimiter(st, "limit/global/", limit.PerSecond(100), c)
	p := limit.NewPool(l, 100*time.Millisecond)
	if ok, _, err := p.Allow(t.Context(), "all"); !ok || err != nil {
		t.Fatalf("Allow = %v, %v", ok, err)
	}
	// Another node sees 99 left: take 99 at once from its own pool.
	other := newLimiter(st, "limit/global/", limit.PerSecond(100), c)
	for i := range 99 {
		if ok, _ := allow(t, other, "all"); !ok {
			t.Fatalf("the other node was refused its event %d: the lone event took more than one", i+1)
		}
	}
	if ok, _, _ := p.Allow(t.Context(), "all"); ok {
		t.Fatal("granted past the budget")
	}
	// Returned events are spent locally within the hold time.
	c.Add(10 * time.Millisecond) // one event back in the store's budget
	if ok, _, _ := p.Allow(t.Context(), "all"); !ok {
		t.Fatal("refused after one interval")
	}
	if err := p.Return(t.Context(), "all"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := p.Allow(t.Context(), "all"); !ok {
		t.Fatal("a returned event was not handed out again")
	}
	if ok, _, _ := p.Allow(t.Context(), "all"); ok {
		t.Fatal("a returned event was handed out twice")
	}
}

// TestPoolReturnAfterHold: an event returned once its batch has expired
// goes back to the store's budget.
func TestPoolReturnAfterHold(t *testing.T) {
	st := storetest.New(t)
	c := newClock()
	p := limit.NewPool(newLimiter(st, "limit/key/", limit.PerMinute(1), c), 100*time.Millisecond)
	if ok, _, err := p.Allow(t.Context(), "k"); !ok || err != nil {
		t.Fatalf("Allow = %v, %v", ok, err)
	}
	c.Add(time.Second) // the batch is gone; the budget is not back (60 s)
	if ok, _, _ := p.Allow(t.Context(), "k"); ok {
		t.Fatal("second event of one a minute granted")
	}
	if err := p.Return(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	other := limit.New(st, "limit/key/", limit.PerMinute(1))
	if ok, _, err := other.Allow(t.Context(), "k"); !ok || err != nil {
		t.Fatalf("the returned event was not in the store: %v, %v", ok, err)
	}
}
