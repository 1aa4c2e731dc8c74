package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// holdJoins holds the first transaction's commit until n more wait in
// the queue behind it, so that the next batch is those n, deterministically.
func holdJoins(t *testing.T, s *store.Store, n int) (batches <-chan int) {
	t.Helper()
	full := make(chan struct{})
	sizes := make(chan int, 64)
	var once, first sync.Once
	store.HookJoins(s, func(q int) {
		if q == n {
			once.Do(func() { close(full) })
		}
	}, func(size int) {
		sizes <- size
		first.Do(func() {
			select {
			case <-full:
			case <-time.After(10 * time.Second):
				t.Error("the queue never reached", n)
			}
		})
	})
	return sizes
}

// TestIndependentWritesAreJoined: transactions that arrive while one is in
// flight go together in one etcd transaction, and each has its effect.
func TestIndependentWritesAreJoined(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	for i := range 8 {
		if err := s.Put(ctx, "rec/"+strconv.Itoa(i), []byte("0"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	batches := holdJoins(t, s, 8)
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	wg.Add(1)
	go func() { // the one in flight
		defer wg.Done()
		_, err := s.Commit(ctx, nil, []store.Op{store.OpPut("first", []byte("x"), 0)})
		errs <- err
	}()
	if size := <-batches; size != 1 {
		t.Fatalf("first batch of %d, want 1", size)
	}
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, err := s.Update(ctx, "rec/"+strconv.Itoa(i), func(cur []byte) ([]byte, error) { return append(cur, '+'), nil })
				errs <- err
				return
			}
			ok, err := s.Commit(ctx, []store.Cmp{store.IfAbsent("new/" + strconv.Itoa(i))},
				[]store.Op{store.OpPut("new/"+strconv.Itoa(i), []byte("n"), time.Minute)})
			if err == nil && !ok {
				err = errors.New("commit refused")
			}
			errs <- err
		}()
	}
	if size := <-batches; size != 8 {
		t.Fatalf("second batch of %d, want the 8 that waited", size)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 8 {
		key, want := "rec/"+strconv.Itoa(i), "0+"
		if i%2 == 1 {
			key, want = "new/"+strconv.Itoa(i), "n"
		}
		if err := wantValue(ctx, s, key, want); err != nil {
			t.Error(err)
		}
	}
	if joined, groups := s.JoinStats(); joined != 8 || groups != 1 {
		t.Fatalf("joined %d in %d transactions, want 8 in 1", joined, groups)
	}
}

// TestJoinedConflictIsTriedAlone: when one member's condition fails, the
// joined transaction writes nothing, and each member is committed alone:
// the others succeed, the one that conflicted sees its own failure with
// the keys it asked to read.
func TestJoinedConflictIsTriedAlone(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	if err := s.Put(ctx, "taken", []byte("someone"), 0); err != nil {
		t.Fatal(err)
	}
	batches := holdJoins(t, s, 3)
	go s.Commit(ctx, nil, []store.Op{store.OpPut("first", []byte("x"), 0)})
	<-batches
	type out struct {
		name string
		res  store.TxnResult
		err  error
	}
	outs := make(chan out, 3)
	for _, name := range []string{"a", "b", "c"} {
		go func() {
			t := store.Txn{Then: []store.Op{store.OpPut("mine/"+name, []byte(name), 0)}}
			if name == "b" {
				t = store.Txn{If: []store.Cmp{store.IfAbsent("taken")}, Then: []store.Op{store.OpPut("taken", []byte("b"), 0)}, Read: []string{"taken"}}
			}
			res, err := s.Apply(ctx, t)
			outs <- out{name, res, err}
		}()
	}
	if size := <-batches; size != 3 {
		t.Fatalf("batch of %d, want 3", size)
	}
	for range 3 {
		o := <-outs
		switch {
		case o.err != nil:
			t.Fatalf("%s: %v", o.name, o.err)
		case o.name == "b" && (o.res.OK || string(o.res.Read["taken"].Value) != "someone"):
			t.Fatalf("b: %+v, want refused with taken = someone", o.res)
		case o.name != "b" && !o.res.OK:
			t.Fatalf("%s refused", o.name)
		}
	}
	for _, name := range []string{"a", "c"} {
		if err := wantValue(ctx, s, "mine/"+name, name); err != nil {
			t.Error(err)
		}
	}
	if joined, _ := s.JoinStats(); joined != 0 {
		t.Fatalf("joined %d, want 0 (the joined transaction failed)", joined)
	}
}

// TestDependentWritesAreNotJoined: two transactions that each write a
// key the other's condition names would, joined, both see the other's key
// absent and both commit, which no order of the two allows. Run one at a
// time, exactly one commits.
func TestDependentWritesAreNotJoined(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	batches := holdJoins(t, s, 2)
	go s.Commit(ctx, nil, []store.Op{store.OpPut("first", []byte("x"), 0)})
	<-batches
	oks := make(chan bool, 2)
	for _, p := range [][2]string{{"x", "y"}, {"y", "x"}} {
		go func() {
			ok, err := s.Commit(ctx, []store.Cmp{store.IfAbsent(p[1])}, []store.Op{store.OpPut(p[0], []byte("1"), 0)})
			if err != nil {
				t.Error(err)
			}
			oks <- ok
		}()
	}
	for range 2 {
		if size := <-batches; size != 1 {
			t.Fatalf("batch of %d, want each alone", size)
		}
	}
	if a, b := <-oks, <-oks; a == b {
		t.Fatalf("commits %v and %v, want exactly one", a, b)
	}
}

// TestJoinedUpdatesUnderContention: many writers incrementing a few
// counters at once, every increment is counted exactly once.
func TestJoinedUpdatesUnderContention(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	const counters, writers, each = 4, 24, 10
	for c := range counters {
		if err := s.Put(ctx, fmt.Sprintf("n/%d", c), []byte("0"), 0); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				key := fmt.Sprintf("n/%d", (w+i)%counters)
				if _, err := s.Update(ctx, key, func(cur []byte) ([]byte, error) {
					n, err := strconv.Atoi(string(cur))
					return []byte(strconv.Itoa(n + 1)), err
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for c := range counters {
		v, _, err := s.Get(ctx, fmt.Sprintf("n/%d", c))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(string(v))
		total += n
	}
	if total != writers*each {
		t.Fatalf("counted %d increments, want %d", total, writers*each)
	}
}

// TestPatientWriteGoesWithTheNext: a patient write waits for the next
// write that cannot wait, and both go in one transaction; alone, it is
// committed once its wait is over.
func TestPatientWriteGoesWithTheNext(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	if err := s.Put(ctx, "rec", []byte("0"), 0); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{})
	sizes := make(chan int, 8)
	var once sync.Once
	store.HookJoins(s, func(n int) { once.Do(func() { close(waiting) }) }, func(n int) { sizes <- n })
	errs := make(chan error, 1)
	go func() {
		_, err := s.Update(store.Patient(ctx, time.Minute), "rec", func(cur []byte) ([]byte, error) { return []byte("1"), nil })
		errs <- err
	}()
	<-waiting
	if _, err := s.Apply(ctx, store.Txn{Then: []store.Op{store.OpPut("other", []byte("x"), 0)}}); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if n := <-sizes; n != 2 {
		t.Fatalf("batch of %d, want the patient write with the next", n)
	}
	if err := wantValue(ctx, s, "rec", "1"); err != nil {
		t.Fatal(err)
	}
	// Alone, it waits its time and goes.
	if _, err := s.Update(store.Patient(ctx, 5*time.Millisecond), "rec", func(cur []byte) ([]byte, error) { return []byte("2"), nil }); err != nil {
		t.Fatal(err)
	}
	if n := <-sizes; n != 1 {
		t.Fatalf("batch of %d, want 1", n)
	}
}
