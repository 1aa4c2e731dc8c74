package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// recorder is a store.Observer that keeps what it is told.
type recorder struct {
	mu  sync.Mutex
	ops map[string]int // "op ok" or "op error" → count
}

func (r *recorder) ObserveRequest(op string, took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if took <= 0 {
		r.ops["non-positive duration"]++
	}
	r.ops[op+" "+result]++
}

func TestObserverSeesEachRequest(t *testing.T) {
	t.Parallel()
	rec := &recorder{ops: map[string]int{}}
	ctx := t.Context()
	s, err := store.Open(ctx, storetest.Config(t), storetest.Logger(t), store.WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	rec.mu.Lock()
	clear(rec.ops) // whatever Open itself read
	rec.mu.Unlock()

	if err := s.Put(ctx, "o/a", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "o/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, store.Txn{If: []store.Cmp{store.IfAbsent("o/b")}, Then: []store.Op{store.OpPut("o/b", []byte("2"), 0)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "o/a"); err != nil {
		t.Fatal(err)
	}
	// A key with a TTL needs a lease: the first in its bucket waits for
	// one to be granted.
	if err := s.Put(ctx, "o/ttl", []byte("3"), time.Hour); err != nil {
		t.Fatal(err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	// Put and Delete may be made as transactions; every request is seen
	// once, as succeeding, with a duration.
	if rec.ops["get ok"] != 1 {
		t.Errorf("get observed %d times, want 1 (all: %v)", rec.ops["get ok"], rec.ops)
	}
	if writes := rec.ops["put ok"] + rec.ops["delete ok"] + rec.ops["txn ok"]; writes != 4 {
		t.Errorf("%d writes observed, want 4 (all: %v)", writes, rec.ops)
	}
	if rec.ops["lease_grant ok"] != 1 {
		t.Errorf("lease grant observed %d times, want 1 (all: %v)", rec.ops["lease_grant ok"], rec.ops)
	}
	if rec.ops["txn ok"] < 1 {
		t.Errorf("Apply's transaction not observed: %v", rec.ops)
	}
	for k := range rec.ops {
		if k == "non-positive duration" || k[len(k)-5:] == "error" {
			t.Errorf("observed %q: %v", k, rec.ops)
		}
	}
}

func TestObserverSeesErrors(t *testing.T) {
	t.Parallel()
	rec := &recorder{ops: map[string]int{}}
	s, err := store.Open(t.Context(), storetest.Config(t), storetest.Logger(t), store.WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := s.Get(ctx, "o/gone"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get with a cancelled context: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.ops["get error"] != 1 {
		t.Errorf("failed get observed %d times, want 1 (all: %v)", rec.ops["get error"], rec.ops)
	}
}
