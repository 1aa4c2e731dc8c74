package store

import (
	"context"
	"errors"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Group commit. etcd orders, logs, syncs and applies a transaction as one
// raft entry, whatever it holds, and a good part of a write's cost is that
// entry, not its keys (BenchmarkUpdate: 16 writers of their own keys, 61 µs
// an update alone, 44 µs joined). So the transactions of Apply and Update that arrive while
// one of this store's is being committed wait for it, then go together in
// the next one: their conditions joined, their writes joined. Under load N
// writes cost one entry instead of N; with nothing in flight a transaction
// goes at once, alone and unchanged, so an idle store adds no delay.
//
// Joining must not change what any transaction sees. Only independent
// transactions are joined: none writes a key another one writes or names
// in a condition, so that they would have the same outcome in any order,
// which is the outcome of running them together. A joined transaction
// commits all or nothing: when a condition fails (one of them conflicted),
// each is committed again alone and learns its own outcome, with the keys
// it asked to read, as if it had never been joined. An error (a timeout,
// the store unavailable, a lease gone) is every member's error, as it
// would have been its own: a write that timed out may have been applied,
// and its caller already treats it so.

// Bounds of a joined transaction: etcd refuses one with more than 128
// operations (its --max-txn-ops) or of more than 1.5 MiB (its
// --max-request-bytes), and a larger batch only makes its members wait.
const (
	joinMaxMembers = 32
	joinMaxOps     = 96
	joinMaxBytes   = 512 << 10
)

// Patient returns a context under which the writes of Apply and Update may
// wait up to wait to be committed together with others (see Group commit
// above): for writes nobody waits for, such as a call's events, which so
// go in the transaction of the next write that cannot wait, or with the
// others that came meanwhile. Nothing waits while a transaction is in
// flight anyway.
func Patient(ctx context.Context, wait time.Duration) context.Context {
	return context.WithValue(ctx, patienceKey{}, wait)
}

type patienceKey struct{}

// patience is how long a write under ctx may wait for company (Patient).
func patience(ctx context.Context) time.Duration {
	d, _ := ctx.Value(patienceKey{}).(time.Duration)
	return d
}

// errAlone tells a member of a joined transaction whose conditions failed
// to commit its own transaction alone.
var errAlone = errors.New("store: joined transaction failed; commit alone")

// combiner joins the transactions of one Store. Its zero value is ready.
type combiner struct {
	mu      sync.Mutex
	queue   []*member
	leading bool // a goroutine is committing queued members
	// timer leads the queue at wake (zero: not set), for the patient
	// members in it, unless a leader comes first.
	timer *time.Timer
	wake  time.Time
	// joined counts transactions committed joined with others, and
	// groups the joined transactions they went in (for tests and metrics).
	joined, groups int64
	// Test hooks, nil but in tests: queued is told the queue's length
	// after a transaction joins it; committing is called before a batch
	// of n is committed.
	queued     func(n int)
	committing func(n int)
}

// member is one transaction waiting to be committed.
type member struct {
	ctx           context.Context
	cmps          []clientv3.Cmp
	then, els     []clientv3.Op
	writes, reads []string // keys then writes, keys cmps compare
	bytes         int
	solo          bool // never joined: it writes a range of keys
	done          chan struct{}
	resp          *clientv3.TxnResponse
	err           error
}

// newMember describes a transaction: if cmps hold, then; else els.
func newMember(ctx context.Context, cmps []clientv3.Cmp, then, els []clientv3.Op) *member {
	m := &member{ctx: ctx, cmps: cmps, then: then, els: els, done: make(chan struct{})}
	for _, op := range then {
		if len(op.RangeBytes()) > 0 || !(op.IsPut() || op.IsDelete()) {
			m.solo = true
		}
		m.writes = append(m.writes, string(op.KeyBytes()))
		m.bytes += len(op.KeyBytes()) + len(op.ValueBytes())
	}
	for i := range cmps {
		if len(cmps[i].RangeEnd) > 0 {
			m.solo = true
		}
		m.reads = append(m.reads, string(cmps[i].KeyBytes()))
		m.bytes += len(cmps[i].KeyBytes()) + len(cmps[i].ValueBytes())
	}
	return m
}

// txn commits m: alone when nothing else is in flight, otherwise joined
// with the transactions that arrived meanwhile. The response is the one m
// would have had alone, except that a joined success carries no responses
// of the operations (Apply and Update read none).
func (s *Store) txn(ctx context.Context, cmps []clientv3.Cmp, then, els []clientv3.Op) (*clientv3.TxnResponse, error) {
	m := newMember(ctx, cmps, then, els)
	c := &s.comb
	c.mu.Lock()
	c.queue = append(c.queue, m)
	n := len(c.queue)
	lead := false
	switch wait := patience(ctx); {
	case c.leading:
	case wait > 0 && n < joinMaxMembers:
		// Nothing in flight, and m may wait for company: whatever
		// comes within wait (or is led by a write that cannot wait)
		// goes with it.
		if at := time.Now().Add(wait); c.wake.IsZero() || at.Before(c.wake) {
			if c.timer == nil {
				c.timer = time.AfterFunc(wait, s.leadLate)
			} else {
				c.timer.Reset(wait)
			}
			c.wake = at
		}
	default:
		lead, c.leading = true, true
	}
	queued := c.queued
	c.mu.Unlock()
	if queued != nil {
		queued(n)
	}
	if lead {
		s.lead(m)
	}
	select {
	case <-m.done:
	case <-ctx.Done():
		// Like a request that timed out: it may yet be committed.
		return nil, ctx.Err()
	}
	if errors.Is(m.err, errAlone) {
		return s.cli.Txn(ctx).If(cmps...).Then(then...).Else(els...).Commit()
	}
	return m.resp, m.err
}

// leadLate leads the queue when the wait of a patient transaction is over,
// unless a leader came meanwhile.
func (s *Store) leadLate() {
	c := &s.comb
	c.mu.Lock()
	c.wake = time.Time{}
	if c.leading || len(c.queue) == 0 {
		c.mu.Unlock()
		return
	}
	c.leading = true
	c.mu.Unlock()
	s.lead(nil)
}

// lead commits queued members, a batch at a time, until own (the leader's
// own transaction) is done; then it hands the queue to a new goroutine if
// anything is left, so that its caller does not wait for others.
func (s *Store) lead(own *member) {
	c := &s.comb
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.leading = false
			c.mu.Unlock()
			return
		}
		if own != nil && isDone(own) {
			c.mu.Unlock()
			go s.lead(nil)
			return
		}
		batch := c.take()
		c.mu.Unlock()
		s.commitBatch(batch)
	}
}

func isDone(m *member) bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// take removes from the queue the next batch: its first member, and those
// after it that are independent of every member taken, within the bounds.
// Members left keep their order. c.mu must be held.
func (c *combiner) take() []*member {
	first := c.queue[0]
	if first.solo {
		c.queue = c.queue[1:]
		return []*member{first}
	}
	batch := []*member{first}
	writes := make(map[string]bool, 4*len(c.queue))
	reads := make(map[string]bool, 4*len(c.queue))
	add := func(m *member) {
		for _, k := range m.writes {
			writes[k] = true
		}
		for _, k := range m.reads {
			reads[k] = true
		}
	}
	add(first)
	ops, cmps, bytes := len(first.then), len(first.cmps), first.bytes
	rest := c.queue[:0:0]
	for _, m := range c.queue[1:] {
		if m.solo || len(batch) == joinMaxMembers || ops+len(m.then) > joinMaxOps ||
			cmps+len(m.cmps) > joinMaxOps || bytes+m.bytes > joinMaxBytes || !independent(m, writes, reads) {
			rest = append(rest, m)
			continue
		}
		batch = append(batch, m)
		add(m)
		ops, cmps, bytes = ops+len(m.then), cmps+len(m.cmps), bytes+m.bytes
	}
	c.queue = rest
	return batch
}

// independent reports whether m neither writes a key the batch writes or
// compares, nor compares a key the batch writes.
func independent(m *member, writes, reads map[string]bool) bool {
	seen := make(map[string]bool, len(m.writes))
	for _, k := range m.writes {
		if writes[k] || reads[k] || seen[k] {
			return false
		}
		seen[k] = true
	}
	for _, k := range m.reads {
		if writes[k] {
			return false
		}
	}
	return true
}

// commitBatch commits batch: one member alone, as it asked; several
// joined. It completes every member.
func (s *Store) commitBatch(batch []*member) {
	live := batch[:0]
	for _, m := range batch {
		if err := m.ctx.Err(); err != nil {
			m.err = err // never sent
			close(m.done)
			continue
		}
		live = append(live, m)
	}
	if hook := s.comb.committing; hook != nil && len(live) > 0 {
		hook(len(live))
	}
	switch len(live) {
	case 0:
		return
	case 1:
		m := live[0]
		m.resp, m.err = s.cli.Txn(m.ctx).If(m.cmps...).Then(m.then...).Else(m.els...).Commit()
		close(m.done)
		return
	}
	var cmps []clientv3.Cmp
	var then []clientv3.Op
	for _, m := range live {
		cmps = append(cmps, m.cmps...)
		then = append(then, m.then...)
	}
	ctx, cancel := s.reqCtx(s.bg)
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(then...).Commit()
	cancel()
	if err == nil && resp.Succeeded {
		s.comb.mu.Lock()
		s.comb.joined += int64(len(live))
		s.comb.groups++
		s.comb.mu.Unlock()
	}
	for _, m := range live {
		switch {
		case err != nil:
			m.err = err
		case !resp.Succeeded:
			m.err = errAlone
		default:
			m.resp = &clientv3.TxnResponse{Header: resp.Header, Succeeded: true}
		}
		close(m.done)
	}
}

// JoinStats reports how many transactions were committed joined with
// others, and in how many joined transactions.
func (s *Store) JoinStats() (joined, groups int64) {
	s.comb.mu.Lock()
	defer s.comb.mu.Unlock()
	return s.comb.joined, s.comb.groups
}
