package limit

import (
	"context"
	"sync"
)

// turns lets the goroutines of one node that take from one subject take
// turns: they would all guess the same state, and all but one would lose
// the compare-and-swap. Only nodes then race on a subject.
type turns struct {
	mu sync.Mutex
	m  map[string]*turn
}

type turn struct {
	ch    chan struct{} // holds a token while someone has the turn
	users int           // goroutines holding or waiting for it
}

func newTurns() *turns { return &turns{m: make(map[string]*turn)} }

// acquire waits for subject's turn, or until ctx ends. The caller must call
// release once done.
func (t *turns) acquire(ctx context.Context, subject string) (release func(), err error) {
	t.mu.Lock()
	tn := t.m[subject]
	if tn == nil {
		tn = &turn{ch: make(chan struct{}, 1)}
		t.m[subject] = tn
	}
	tn.users++
	t.mu.Unlock()
	done := func() {
		t.mu.Lock()
		if tn.users--; tn.users == 0 {
			delete(t.m, subject)
		}
		t.mu.Unlock()
	}
	select {
	case tn.ch <- struct{}{}:
		return func() { <-tn.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
