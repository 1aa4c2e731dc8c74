package verify

import (
	"context"
	"sync"
)

// lastWrites remembers, for the verifications this node wrote most
// recently, the record as it wrote it and the store revision of that write.
// An update starts from it instead of reading the record first: the
// store's compare-and-swap still catches a record that changed since (on
// another node, or erased), at the cost of one more attempt. On one node,
// or when a check reaches the node that placed the call, it saves the read
// (and etcd's copy of its read buffer that goes with every read).
//
// It also has this node's updates of one record take turns (acquire): a
// check that arrives while the call's events are being written waits for
// that write and starts from it, instead of losing the compare-and-swap
// to it, which would cost a round of consensus.
//
// It holds at most max records and forgets the oldest first, and all of
// them when a number is erased anywhere in the cluster, so that no copy of
// an erased record outlives the erasure here. It is safe for concurrent
// use.
type lastWrites struct {
	mu    sync.Mutex
	max   int
	byID  map[string]lastWrite
	order []string // ids in the order they were first remembered, a ring
	next  int      // where the next new id goes in order
	// busy has a channel for each record an update of this node is
	// writing; it is closed when that update ends.
	busy map[string]chan struct{}
}

// lastWrite is one record as this node wrote it, at store revision rev.
type lastWrite struct {
	stored []byte
	rev    int64
}

// lastWritesMax bounds the records remembered: about 1 KB each, so a few
// MB, covering the last minute of verifications at 70/s, or the last 8 s at
// 500/s.
const lastWritesMax = 4096

func newLastWrites(max int) *lastWrites {
	return &lastWrites{max: max, byID: make(map[string]lastWrite, max), order: make([]string, 0, max),
		busy: make(map[string]chan struct{})}
}

// put remembers stored, written at rev, as id's latest record, unless a
// later write of it is remembered already.
func (l *lastWrites) put(id string, stored []byte, rev int64) {
	if len(stored) == 0 || rev <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.byID[id]; ok {
		if cur.rev < rev {
			l.byID[id] = lastWrite{stored: stored, rev: rev}
		}
		return
	}
	if len(l.order) < l.max {
		l.order = append(l.order, id)
	} else {
		delete(l.byID, l.order[l.next])
		l.order[l.next] = id
		l.next = (l.next + 1) % l.max
	}
	l.byID[id] = lastWrite{stored: stored, rev: rev}
}

// get returns id's record as this node last wrote it and that write's
// revision, or nil and 0.
func (l *lastWrites) get(id string) ([]byte, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.byID[id]
	return w.stored, w.rev
}

// clear forgets every record.
func (l *lastWrites) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.byID)
	l.order = l.order[:0]
	l.next = 0
}

// acquire waits until no other update of this node is writing id, then
// marks one as writing it until release is called. It returns ctx's error
// if ctx ends first.
func (l *lastWrites) acquire(ctx context.Context, id string) (release func(), err error) {
	for {
		l.mu.Lock()
		ch, busy := l.busy[id]
		if !busy {
			ch = make(chan struct{})
			l.busy[id] = ch
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.busy, id)
				l.mu.Unlock()
				close(ch)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
