package store_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

func TestIncr(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()

	tests := []struct {
		name      string
		ttl       time.Duration
		calls     int
		wantLease bool
	}{
		{"no ttl", 0, 3, false},
		{"with ttl", time.Hour, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "rl/" + tt.name
			for i := 1; i <= tt.calls; i++ {
				n, err := s.Incr(ctx, key, tt.ttl)
				if err != nil || n != int64(i) {
					t.Fatalf("Incr #%d = %d, %v; want %d", i, n, err, i)
				}
			}
			if got := leaseOf(t, s, key) != 0; got != tt.wantLease {
				t.Errorf("counter has a lease: %v, want %v", got, tt.wantLease)
			}
			if v, _, err := s.Get(ctx, key); err != nil || string(v) != "3" {
				t.Errorf("stored %q, %v; want \"3\"", v, err)
			}
		})
	}
}

func TestIncrConcurrentCountsEachOnce(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	const workers, each = 10, 5

	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got []int64
	)
	for range workers {
		wg.Go(func() {
			for range each {
				n, err := s.Incr(ctx, "rl/hot", time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	for i, n := range got {
		if n != int64(i+1) {
			t.Fatalf("Incr results %v, want each of 1..%d once", got, workers*each)
		}
	}
	if len(got) != workers*each {
		t.Fatalf("%d results, want %d", len(got), workers*each)
	}
}

func TestIncrRejectsNonCounter(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	if err := s.Put(ctx, "rl/x", []byte("not a number"), 0); err != nil {
		t.Fatal(err)
	}
	_, err := s.Incr(ctx, "rl/x", 0)
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Incr on a non-counter = %v, want a plain error", err)
	}
}
