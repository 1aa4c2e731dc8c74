package dialer

import (
	"context"
	"fmt"

	"golang.org/x/time/rate"
)

// Limiter caps how many calls per second start on one trunk: a token bucket
// that refills at the trunk's max_cps and holds at most max_cps tokens, so
// an idle trunk may start a burst of max_cps calls at once and a busy one
// max_cps calls in any second on average. A Limiter is safe for concurrent
// use.
type Limiter struct {
	lim *rate.Limiter
	cps int
}

// NewLimiter returns a Limiter of cps calls per second with a full bucket.
// cps must be positive (conf rejects other values); NewLimiter panics
// otherwise, since a cap of zero would silently stop every call.
func NewLimiter(cps int) *Limiter {
	if cps < 1 {
		panic(fmt.Sprintf("dialer: NewLimiter(%d): calls per second must be positive", cps))
	}
	return &Limiter{lim: rate.NewLimiter(rate.Limit(cps), cps), cps: cps}
}

// Wait blocks until a call may start, and takes its slot. It returns an
// error, without taking a slot, if ctx ends first or if ctx's deadline
// would pass before a slot frees; the error wraps ctx.Err() or, in the
// latter case, context.DeadlineExceeded.
func (l *Limiter) Wait(ctx context.Context) error {
	err := l.lim.Wait(ctx)
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("wait for call slot (%d cps): %w", l.cps, ctxErr)
	}
	// rate reports a deadline it cannot meet without wrapping
	// context.DeadlineExceeded; give callers the error they test for.
	return fmt.Errorf("wait for call slot (%d cps): %w: %w", l.cps, context.DeadlineExceeded, err)
}

// Allow reports whether a call may start now, and takes its slot if so. It
// never blocks: a caller that gets false should refuse or queue the call.
func (l *Limiter) Allow() bool { return l.lim.Allow() }

// Share sets this node's part of the trunk's cap when n nodes share it:
// max_cps/n calls per second, with a bucket of at least one call. Each node
// enforces its share locally, so the cluster-wide cap holds without a
// store round trip per call.
func (l *Limiter) Share(n int) {
	if n < 1 {
		n = 1
	}
	r := float64(l.cps) / float64(n)
	l.lim.SetLimit(rate.Limit(r))
	l.lim.SetBurst(max(int(r), 1))
}
