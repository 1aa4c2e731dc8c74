package limit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultHold is how long a Pool keeps a batch it took.
const DefaultHold = 100 * time.Millisecond

// poolSweepAt is the number of subjects past which a Pool forgets idle ones.
const poolSweepAt = 4096

// Pool hands out a Limiter's events on this node in batches, for subjects
// whose events come too fast for one compare-and-swap each: a limit on the
// whole cluster, or an API key driving hundreds of creates a second (one
// key takes only about 800 compare-and-swaps a second, and writers racing
// on it waste most of theirs).
//
// A batch is taken from the subject's budget in the store at once, then
// spent on this node within the hold time; what is left then is dropped.
// Since a batch is counted when taken, the cluster never admits more than
// the rate allows over any interval longer than the hold; at worst it
// admits less, by what nodes dropped. The batch follows this node's
// demand: the events asked for in the last hold time, at least 1 and at
// most what the hold time is worth at the rate (Count × hold / Period). So
// a quiet subject costs one transaction per event, as Limiter.Allow does,
// and a busy one about one per hold time per node.
//
// A Pool is safe for concurrent use.
type Pool struct {
	l        *Limiter
	hold     time.Duration
	maxBatch int

	mu       sync.Mutex
	subjects map[string]*pooled
}

// pooled is one subject's batch on this node.
type pooled struct {
	fetch   chan struct{} // held by the one goroutine taking a batch
	tokens  int
	expires time.Time
	// Demand: events asked for in the hold window starting at winStart,
	// and in the window before.
	winStart    time.Time
	asked, prev int
}

// NewPool returns a Pool over l keeping batches for hold (DefaultHold
// when not positive).
func NewPool(l *Limiter, hold time.Duration) *Pool {
	if hold <= 0 {
		hold = DefaultHold
	}
	p := &Pool{l: l, hold: hold, maxBatch: 1, subjects: make(map[string]*pooled)}
	if r := l.rate; !r.Unlimited() {
		p.maxBatch = max(1, int(int64(r.Count)*int64(hold)/int64(r.Period)))
	}
	return p
}

// Allow takes one event from subject's budget, from this node's batch if
// it holds one, else by taking a new batch from the store. Refused, it
// returns false and how long until the store's budget holds an event
// again.
func (p *Pool) Allow(ctx context.Context, subject string) (ok bool, retryAfter time.Duration, err error) {
	if p.l.rate.Unlimited() {
		return true, 0, nil
	}
	p.mu.Lock()
	e := p.entry(subject)
	e.ask(p.l.now(), p.hold)
	if p.spend(e) {
		p.mu.Unlock()
		return true, 0, nil
	}
	p.mu.Unlock()

	// One goroutine at a time takes a batch; the others wait for it,
	// then spend from it or take the next.
	select {
	case e.fetch <- struct{}{}:
	case <-ctx.Done():
		return false, 0, fmt.Errorf("limit: take %q: %w", p.l.Key(subject), ctx.Err())
	}
	defer func() { <-e.fetch }()
	p.mu.Lock()
	if p.spend(e) {
		p.mu.Unlock()
		return true, 0, nil
	}
	n := min(max(e.asked, e.prev, 1), p.maxBatch)
	p.mu.Unlock()

	granted, wait, err := p.l.take(ctx, subject, n, true)
	if err != nil || granted == 0 {
		return false, wait, err
	}
	p.mu.Lock()
	e.tokens, e.expires = granted-1, p.l.now().Add(p.hold)
	p.mu.Unlock()
	return true, 0, nil
}

// Return gives back an event Allow granted but the caller did not use (the
// request it was for was refused for another reason): to the store's
// budget (Limiter.Refund), or, for a subject taken in batches, to this
// node's batch while it is held, for the next Allow here to spend.
func (p *Pool) Return(ctx context.Context, subject string) error {
	p.mu.Lock()
	if e := p.subjects[subject]; e != nil && p.maxBatch > 1 && p.l.now().Before(e.expires) {
		e.tokens++
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	return p.l.Refund(ctx, subject)
}

// entry returns subject's batch, making it if needed. p.mu must be held.
func (p *Pool) entry(subject string) *pooled {
	e := p.subjects[subject]
	if e == nil {
		if len(p.subjects) >= poolSweepAt {
			p.sweep()
		}
		e = &pooled{fetch: make(chan struct{}, 1)}
		p.subjects[subject] = e
	}
	return e
}

// spend takes one token from e if it holds an unexpired one. p.mu must be
// held.
func (p *Pool) spend(e *pooled) bool {
	if e.tokens > 0 && p.l.now().Before(e.expires) {
		e.tokens--
		return true
	}
	return false
}

// ask counts one event asked for at now.
func (e *pooled) ask(now time.Time, hold time.Duration) {
	switch {
	case now.Sub(e.winStart) >= 2*hold:
		e.winStart, e.prev, e.asked = now, 0, 0
	case now.Sub(e.winStart) >= hold:
		e.winStart, e.prev, e.asked = e.winStart.Add(hold), e.asked, 0
	}
	e.asked++
}

// sweep forgets subjects that hold no batch, asked for nothing in the last
// two hold times and are not taking a batch. p.mu must be held.
func (p *Pool) sweep() {
	now := p.l.now()
	for k, e := range p.subjects {
		if now.After(e.expires) && now.Sub(e.winStart) >= 2*p.hold && len(e.fetch) == 0 {
			delete(p.subjects, k)
		}
	}
}
