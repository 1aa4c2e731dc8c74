package verify

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

func TestLastWrites(t *testing.T) {
	type step struct {
		put     bool // put id at rev with value val
		clear   bool // forget everything; else get id
		id      string
		rev     int64
		val     string
		wantVal string // for a get
		wantRev int64
	}
	for _, tc := range []struct {
		name  string
		max   int
		steps []step
	}{
		{"remembers", 4, []step{
			{put: true, id: "a", rev: 5, val: "a5"},
			{id: "a", wantVal: "a5", wantRev: 5},
			{id: "b"},
		}},
		{"a later write replaces", 4, []step{
			{put: true, id: "a", rev: 5, val: "a5"},
			{put: true, id: "a", rev: 9, val: "a9"},
			{id: "a", wantVal: "a9", wantRev: 9},
		}},
		{"an earlier write does not", 4, []step{
			{put: true, id: "a", rev: 9, val: "a9"},
			{put: true, id: "a", rev: 5, val: "a5"},
			{id: "a", wantVal: "a9", wantRev: 9},
		}},
		{"nothing to remember", 4, []step{
			{put: true, id: "a", rev: 0, val: "a0"},
			{put: true, id: "b", rev: 3, val: ""},
			{id: "a"},
			{id: "b"},
		}},
		{"cleared", 2, []step{
			{put: true, id: "a", rev: 1, val: "a1"},
			{put: true, id: "b", rev: 2, val: "b2"},
			{clear: true},
			{id: "a"},
			{id: "b"},
			{put: true, id: "c", rev: 3, val: "c3"},
			{put: true, id: "d", rev: 4, val: "d4"},
			{id: "c", wantVal: "c3", wantRev: 3},
			{id: "d", wantVal: "d4", wantRev: 4},
		}},
		{"the oldest goes first", 2, []step{
			{put: true, id: "a", rev: 1, val: "a1"},
			{put: true, id: "b", rev: 2, val: "b2"},
			{put: true, id: "a", rev: 3, val: "a3"}, // not a new id: nothing goes
			{id: "a", wantVal: "a3", wantRev: 3},
			{put: true, id: "c", rev: 4, val: "c4"}, // a goes
			{id: "a"},
			{id: "b", wantVal: "b2", wantRev: 2},
			{put: true, id: "d", rev: 5, val: "d5"}, // b goes
			{id: "b"},
			{id: "c", wantVal: "c4", wantRev: 4},
			{id: "d", wantVal: "d5", wantRev: 5},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLastWrites(tc.max)
			for i, s := range tc.steps {
				if s.put {
					l.put(s.id, []byte(s.val), s.rev)
					continue
				}
				if s.clear {
					l.clear()
					continue
				}
				val, rev := l.get(s.id)
				if string(val) != s.wantVal || rev != s.wantRev {
					t.Fatalf("step %d: get(%q) = %q at %d, want %q at %d", i, s.id, val, rev, s.wantVal, s.wantRev)
				}
			}
			if len(l.byID) > tc.max {
				t.Fatalf("%d records held, at most %d wanted", len(l.byID), tc.max)
			}
		})
	}
}

// updatesSeen is a Store that notes, for each update, whether the caller
// held the record already (a revision) or had it read, and counts the
// update's attempts: an attempt more than updates is a compare-and-swap
// lost.
type updatesSeen struct {
	*store.Store
	mu       sync.Mutex
	held     int
	readOut  int
	updates  int
	attempts int
}

func (s *updatesSeen) UpdateWithFrom(ctx context.Context, key string, cur []byte, rev int64, fn func(cur []byte) ([]byte, []store.Op, error)) ([]byte, int64, error) {
	s.mu.Lock()
	s.updates++
	if rev > 0 {
		s.held++
	} else {
		s.readOut++
	}
	s.mu.Unlock()
	return s.Store.UpdateWithFrom(ctx, key, cur, rev, func(cur []byte) ([]byte, []store.Op, error) {
		s.mu.Lock()
		s.attempts++
		s.mu.Unlock()
		return fn(cur)
	})
}

// TestUpdatesStartFromThisNodesWrites runs two services, two nodes, on one
// etcd. A check on the node that wrote the record last needs no read; a
// check that starts from a record changed on the other node, or erased,
// still sees the change.
func TestUpdatesStartFromThisNodesWrites(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	// One vault: the nodes of a cluster share their encryption keys.
	cfg := Config{CodeLength: 4, MaxCodeLength: 6, Expiry: 5 * time.Minute, MaxAttempts: 3, MaxPerNumberPerHour: 100,
		Vault: testVault(t, st)}
	index := func(n string) string { return "k" + strings.TrimPrefix(n, "+") }
	seenA := &updatesSeen{Store: st}
	a := NewService(seenA, &fakeDialer{callerID: "+442079461234"}, cfg, index, storetest.Logger(t))
	t.Cleanup(func() { a.Close(context.Background()) })
	b := NewService(st, &fakeDialer{callerID: "+442079461234"}, cfg, index, storetest.Logger(t))
	t.Cleanup(func() { b.Close(context.Background()) })

	v, err := a.Create(ctx, CreateRequest{Number: "+447911123456", Method: "flashcall"})
	if err != nil {
		t.Fatal(err)
	}
	seenA.mu.Lock()
	seenA.held, seenA.readOut = 0, 0 // the call's events, written from A's own writes
	seenA.mu.Unlock()

	// A wrong code on A, then on B, then on A again: A's remembered record
	// is stale by then, and the third check must still count as the third.
	want := []int{2, 1, 0}
	for i, svc := range []*Service{a, b, a} {
		res, err := svc.Check(ctx, v.ID, "0000")
		if err != nil {
			t.Fatalf("check %d: %v", i+1, err)
		}
		if res.AttemptsLeft != want[i] {
			t.Fatalf("check %d: %d attempts left, want %d", i+1, res.AttemptsLeft, want[i])
		}
	}
	if res, err := a.Check(ctx, v.ID, "1234"); err != nil || res.Status != StatusFailed {
		t.Fatalf("right code after the last attempt: %+v, %v; want failed", res, err)
	}
	seenA.mu.Lock()
	if seenA.held < 3 || seenA.readOut != 0 {
		t.Errorf("A's checks: %d started from a record held, %d read it; want every one held", seenA.held, seenA.readOut)
	}
	seenA.mu.Unlock()

	// Erased behind A's back: A's check finds nothing, not its old record.
	v2, err := a.Create(ctx, CreateRequest{Number: "+447911123457", Method: "flashcall"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, recordKey(v2.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Check(ctx, v2.ID, "1234"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("check of an erased verification: %v, want ErrNotFound", err)
	}

	// An erasure anywhere in the cluster: A keeps no copy of any record.
	v3, err := a.Create(ctx, CreateRequest{Number: "+447911123458", Method: "flashcall"})
	if err != nil {
		t.Fatal(err)
	}
	// Close waits for the call, and so for its events' write: nothing
	// writes on A after this.
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ := a.lastWrites.get(v3.ID); cur == nil {
		t.Fatal("A does not remember the record it just wrote")
	}
	a.hangupErased()
	if cur, _ := a.lastWrites.get(v3.ID); cur != nil {
		t.Fatal("A still holds a record after an erasure")
	}
}

// TestUpdatesOfOneNodeTakeTurns: concurrent checks of one verification on
// one node, racing the call's events write too, each commit at the first
// attempt: they wait for each other instead of losing the
// compare-and-swap, and every one still counts.
func TestUpdatesOfOneNodeTakeTurns(t *testing.T) {
	st := storetest.New(t)
	seen := &updatesSeen{Store: st}
	cfg := Config{CodeLength: 4, MaxCodeLength: 6, Expiry: 5 * time.Minute, MaxAttempts: 20, MaxPerNumberPerHour: 100, Vault: testVault(t, st)}
	svc := NewService(seen, &fakeDialer{callerID: "+442079461234"}, cfg,
		func(n string) string { return "k" + strings.TrimPrefix(n, "+") }, storetest.Logger(t))
	t.Cleanup(func() { svc.Close(context.Background()) })
	ctx := context.Background()
	v, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: "flashcall"})
	if err != nil {
		t.Fatal(err)
	}
	const checks = 12
	var wg sync.WaitGroup
	for range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Check(ctx, v.ID, "0000"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Close waits for the call's events to be written.
	if err := svc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Get(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AttemptsLeft != cfg.MaxAttempts-checks {
		t.Fatalf("%d attempts left after %d wrong codes, want %d", got.AttemptsLeft, checks, cfg.MaxAttempts-checks)
	}
	seen.mu.Lock()
	defer seen.mu.Unlock()
	if seen.attempts != seen.updates {
		t.Fatalf("%d updates took %d attempts: %d compare-and-swaps lost on one node", seen.updates, seen.attempts, seen.attempts-seen.updates)
	}
}
