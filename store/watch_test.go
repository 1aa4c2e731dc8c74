package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// next returns the next event, failing t if none comes within 5 s.
func next(t *testing.T, events <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	panic("unreachable")
}

func TestWatchSeesChangesUnderPrefix(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	events := s.Watch(ctx, "v/")

	// Changes right after Watch returns must be seen; w/ must not.
	if err := s.Create(ctx, "v/a", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "w/a", []byte("other"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "v/a", func([]byte) ([]byte, error) { return []byte("2"), nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "v/a"); err != nil {
		t.Fatal(err)
	}

	want := []store.Event{
		{Key: "v/a", Value: []byte("1")},
		{Key: "v/a", Value: []byte("2")},
		{Key: "v/a", Deleted: true},
	}
	var lastRev int64
	for i, w := range want {
		ev := next(t, events)
		if ev.Key != w.Key || string(ev.Value) != string(w.Value) || ev.Deleted != w.Deleted {
			t.Errorf("event %d = %+v, want %+v", i, ev, w)
		}
		if ev.Rev <= lastRev {
			t.Errorf("event %d rev %d after rev %d", i, ev.Rev, lastRev)
		}
		lastRev = ev.Rev
	}
}

func TestWatchClosesWhenCtxEnds(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	events := s.Watch(ctx, "v/")
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("watch channel still open 5 s after ctx ended")
		}
	}
}

func TestWatchClosesWhenStoreCloses(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	events := s.Watch(t.Context(), "v/")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-events:
		if ok {
			t.Fatal("event after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch channel still open 5 s after Close")
	}
}
