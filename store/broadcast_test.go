package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// closed waits for events to close, failing t if it has not within 5 s.
func closed(t *testing.T, events <-chan store.Event) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("subscription still open after 5 s")
		}
	}
}

func TestBroadcastDeliversEachKeyToItsSubscribers(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	b := s.Broadcast("v/")
	a1, err := b.Subscribe(ctx, "v/a")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := b.Subscribe(ctx, "v/a")
	other, _ := b.Subscribe(ctx, "v/b")
	if _, err := b.Subscribe(ctx, "w/a"); err == nil {
		t.Fatal("a key outside the prefix was taken")
	}

	if err := s.Create(ctx, "v/a", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "v/ab", []byte("not a"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "v/a"); err != nil {
		t.Fatal(err)
	}
	for _, events := range []<-chan store.Event{a1, a2} {
		if ev := next(t, events); ev.Key != "v/a" || string(ev.Value) != "1" || ev.Deleted {
			t.Fatalf("first event %+v", ev)
		}
		if ev := next(t, events); ev.Key != "v/a" || !ev.Deleted {
			t.Fatalf("second event %+v, want the deletion", ev)
		}
	}
	select {
	case ev := <-other:
		t.Fatalf("v/b's subscriber got %+v", ev)
	default:
	}
	if n := store.WatchesOpened(b); n != 1 {
		t.Fatalf("%d etcd watches for three subscribers, want 1", n)
	}
}

// TestBroadcastManySubscribersOneWatch: a thousand subscribers coming and
// going at once share one etcd watch, and leave nothing behind.
func TestBroadcastManySubscribersOneWatch(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	b := s.Broadcast("v/")
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(t.Context())
			events, err := b.Subscribe(ctx, fmt.Sprintf("v/%d", i%10))
			if err != nil {
				t.Error(err)
				cancel()
				return
			}
			cancel()
			closed(t, events)
		}()
	}
	wg.Wait()
	if n := b.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers left", n)
	}
	if n := store.WatchesOpened(b); n != 1 {
		t.Fatalf("%d etcd watches opened, want 1", n)
	}
	// And the watch still works.
	events, err := b.Subscribe(t.Context(), "v/x")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "v/x", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, events); string(ev.Value) != "1" {
		t.Fatalf("event %+v", ev)
	}
}

// TestBroadcastDropsASlowSubscriber: one reader that stops reading loses
// its subscription; the others keep theirs.
func TestBroadcastDropsASlowSubscriber(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	b := s.Broadcast("v/")
	slow, _ := b.Subscribe(ctx, "v/a")
	fast, _ := b.Subscribe(ctx, "v/a")
	got := make(chan int)
	go func() {
		n := 0
		for range fast {
			n++
			if n == 100 {
				got <- n
			}
		}
	}()
	for i := range 100 {
		if err := s.Put(ctx, "v/a", fmt.Appendf(nil, "%d", i), 0); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the reading subscriber did not get its 100 events")
	}
	closed(t, slow)
}

func TestBroadcastEndsWithTheStore(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	events, err := s.Broadcast("v/").Subscribe(t.Context(), "v/a")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	closed(t, events)
}
