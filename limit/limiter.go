// Package limit holds subjects (an API key, a client address, a number) to a
// rate across the cluster: the generic cell rate algorithm (gcra.go) with
// each subject's state in one store key, changed by compare-and-swap, that
// expires on its own when the subject's budget is full again.
//
// A Limiter is used standalone (Allow) or inside a caller's own store
// transaction (Reserve, then Reservation.AddTo and Settle), so that an event
// is counted exactly when the caller's write is made. A Pool (pool.go) hands
// out a Limiter's events on each node in small batches, for subjects too hot
// for one compare-and-swap per event, such as a limit for the whole cluster.
package limit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ringproof/ringproof/store"
)

// Store is what a Limiter needs of the state store (store.Store).
type Store interface {
	Apply(ctx context.Context, t store.Txn) (store.TxnResult, error)
	GetSerializable(ctx context.Context, key string) ([]byte, int64, error)
}

// ErrConflict is returned (wrapped) by Allow when the subject's key kept
// changing under it: more writers on one subject than a compare-and-swap
// serves. Use a Pool for such subjects.
var ErrConflict = errors.New("limit: subject too contended")

// maxTries bounds Allow's compare-and-swap loop.
const maxTries = 32

// trustFor is how long a refusal may rest on a state this node read or
// wrote, without reading it again: a subject's TAT only grows, unless an
// operator or an erasure deletes it, which is then noticed within this.
const trustFor = time.Second

// expirySlack is how long past its TAT a key may still exist: the store's
// lease granularity (5 s) and etcd's whole-second rounding. A state older
// than that is guessed gone.
const expirySlack = 7 * time.Second

// Limiter holds each subject of one kind to one Rate, across every node
// sharing the store. It is safe for concurrent use.
//
// A subject's state is the key prefix+subject; subjects appear in store
// keys, errors and logs, so they must be opaque ids, never personal data
// (hash a client address or a number first).
type Limiter struct {
	st     Store
	prefix string
	rate   Rate
	now    func() time.Time
	seen   *seen
	turns  *turns
}

// New returns a Limiter of r for the subjects under prefix in st (relative
// to the store's own prefix, for instance "limit/ip/"). With an Unlimited r
// it allows everything and never touches the store.
func New(st Store, prefix string, r Rate) *Limiter {
	return &Limiter{st: st, prefix: prefix, rate: r, now: time.Now, seen: newSeen(seenMax), turns: newTurns()}
}

// Rate returns the limiter's rate.
func (l *Limiter) Rate() Rate { return l.rate }

// Key returns the store key holding subject's state.
func (l *Limiter) Key(subject string) string { return l.prefix + subject }

// Allow takes one event from subject's budget if it has one, in its own
// store transaction. Refused, it returns false and how long until an event
// would be granted (nothing else taking the budget meanwhile). Most calls
// cost one transaction: the first guesses the subject's state from what
// this node last saw of it, and the compare-and-swap checks the guess.
func (l *Limiter) Allow(ctx context.Context, subject string) (ok bool, retryAfter time.Duration, err error) {
	granted, wait, err := l.take(ctx, subject, 1, false)
	return granted > 0, wait, err
}

// take takes n events (or, with upTo, between 1 and n) from subject's
// budget in a transaction of its own, and returns how many it took or, if
// none, how long until one would be granted.
func (l *Limiter) take(ctx context.Context, subject string, n int, upTo bool) (granted int, wait time.Duration, err error) {
	if l.rate.Unlimited() {
		return n, 0, nil
	}
	release, err := l.turns.acquire(ctx, subject)
	if err != nil {
		return 0, 0, fmt.Errorf("limit: take %q: %w", l.Key(subject), err)
	}
	defer release()
	for try := 1; ; try++ {
		r, err := l.reserve(ctx, subject, n, upTo)
		if err != nil || !r.OK() || r.l == nil {
			return r.granted, r.wait, err
		}
		var t store.Txn
		r.AddTo(&t)
		res, err := l.st.Apply(ctx, t)
		if err != nil {
			return 0, 0, fmt.Errorf("limit: take %q: %w", r.key, err)
		}
		r.Settle(res)
		if res.OK {
			return r.granted, 0, nil
		}
		// Retry at once: the failed transaction read the current state,
		// and a pause would only let it go stale again. This node's
		// other takes of the subject wait their turn, so only other
		// nodes race with this one.
		if try == maxTries {
			return 0, 0, fmt.Errorf("limit: take %q: %w (%d tries)", r.key, ErrConflict, try)
		}
	}
}

// Refund gives back one event taken from subject's budget (by Allow, or a
// committed Reservation) and not used after all, such as a request
// refused later for another reason. It costs one transaction, or none
// when the budget is full already.
func (l *Limiter) Refund(ctx context.Context, subject string) error {
	if l.rate.Unlimited() {
		return nil
	}
	release, err := l.turns.acquire(ctx, subject)
	if err != nil {
		return fmt.Errorf("limit: refund %q: %w", l.Key(subject), err)
	}
	defer release()
	key := l.Key(subject)
	old, _ := l.seen.get(subject)
	if old == nil {
		// Not seen here: read it rather than guess the budget full.
		cur, _, err := l.st.GetSerializable(ctx, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("limit: refund %q: %w", key, err)
		}
		old = cur
	}
	for try := 1; ; try++ {
		if old == nil {
			return nil // no state: the budget is full
		}
		now := l.now()
		tat := l.rate.refund(parseTAT(old), now.UnixNano(), 1)
		var t store.Txn
		t.If = []store.Cmp{store.IfValue(key, old)}
		t.Read = []string{key}
		var next []byte
		if tat == 0 {
			t.Then = []store.Op{store.OpDelete(key)}
		} else {
			next = strconv.AppendInt(nil, tat, 10)
			t.Then = []store.Op{store.OpPut(key, next, time.Duration(tat-now.UnixNano()))}
		}
		res, err := l.st.Apply(ctx, t)
		if err != nil {
			return fmt.Errorf("limit: refund %q: %w", key, err)
		}
		if res.OK {
			l.seen.put(subject, next, now)
			return nil
		}
		old = nil
		if kv, held := res.Read[key]; held {
			old = kv.Value
		}
		l.seen.put(subject, old, now)
		if try == maxTries {
			return fmt.Errorf("limit: refund %q: %w (%d tries)", key, ErrConflict, try)
		}
	}
}

// Reserve decides whether one event may be taken from subject's budget now
// and, if so, prepares the store writes that take it, for the caller to
// commit in a transaction of its own: check OK, add the reservation to the
// transaction with AddTo, apply it, and pass the result to Settle. If
// Settle reports the reservation stale (the subject's state had changed),
// reserve again and rebuild the transaction: the limiter now knows the
// state, so this costs no read.
//
// Reserve reads the store only to confirm a refusal that rests on a state
// this node saw more than a second ago. Unlimited, the reservation is OK
// and adds nothing to a transaction.
func (l *Limiter) Reserve(ctx context.Context, subject string) (*Reservation, error) {
	return l.reserve(ctx, subject, 1, false)
}

// reserve is Reserve of n events, or with upTo of between 1 and n of them
// (as many as the budget holds).
func (l *Limiter) reserve(ctx context.Context, subject string, n int, upTo bool) (*Reservation, error) {
	if l.rate.Unlimited() {
		return &Reservation{granted: n}, nil
	}
	n = min(n, l.rate.Count)
	now := l.now()
	old, learned := l.seen.get(subject)
	if tat := parseTAT(old); old != nil && tat < now.Add(-expirySlack).UnixNano() &&
		learned.UnixNano() < tat+int64(expirySlack) {
		// Long expired since this node saw it: most likely gone. (Not
		// when it was seen still there that late: etcd may keep a lease
		// longer, after a leader change for one.)
		old = nil
	}
	d := l.decide(old, now, n, upTo)
	if d.granted == 0 && now.Sub(learned) > trustFor {
		// The state may be stale (deleted since): confirm before refusing.
		cur, _, err := l.st.GetSerializable(ctx, l.Key(subject))
		if errors.Is(err, store.ErrNotFound) {
			cur, err = nil, nil
		}
		if err != nil {
			return &Reservation{}, fmt.Errorf("limit: read %q: %w", l.Key(subject), err)
		}
		l.seen.put(subject, cur, now)
		if !bytes.Equal(cur, old) {
			old = cur
			d = l.decide(old, now, n, upTo)
		}
	}
	r := &Reservation{l: l, subject: subject, key: l.Key(subject), old: old, granted: d.granted, wait: d.wait}
	if d.granted > 0 {
		r.next = strconv.AppendInt(nil, d.tat, 10)
		r.ttl = time.Duration(d.tat - now.UnixNano())
	}
	return r, nil
}

// decide runs GCRA on the stored state old (nil: none).
func (l *Limiter) decide(old []byte, now time.Time, n int, upTo bool) decision {
	if upTo {
		return l.rate.takeUpTo(parseTAT(old), now.UnixNano(), n)
	}
	return l.rate.take(parseTAT(old), now.UnixNano(), n)
}

// Reservation is an event (or a batch of them, from a Pool) taken from a
// subject's budget but not yet written: the condition and write a caller
// adds to its own store transaction. Its zero value, and what Reserve
// returns with an error, is refused with no wait.
type Reservation struct {
	l       *Limiter // nil when unlimited
	subject string
	key     string
	old     []byte // the state the decision rests on; nil: none
	next    []byte // the state to write
	ttl     time.Duration
	granted int
	wait    time.Duration
}

// OK reports whether the event may be taken.
func (r *Reservation) OK() bool { return r.granted > 0 }

// RetryAfter is, when !OK, how long until the subject's budget holds an
// event again.
func (r *Reservation) RetryAfter() time.Duration { return r.wait }

// AddTo adds to t the condition that the subject's state is still the one
// the decision rests on, the write of its new state (expiring when its
// budget is full again), and a read of its key for Settle. It adds nothing
// for an unlimited limiter, and must not be called unless OK.
func (r *Reservation) AddTo(t *store.Txn) {
	if r.l == nil {
		return
	}
	if r.old == nil {
		t.If = append(t.If, store.IfAbsent(r.key))
	} else {
		t.If = append(t.If, store.IfValue(r.key, r.old))
	}
	t.Then = append(t.Then, store.OpPut(r.key, r.next, r.ttl))
	t.Read = append(t.Read, r.key)
}

// Settle tells the limiter what became of a transaction r was added to. It
// reports true when the transaction failed because the subject's state
// was no longer the one r rested on: reserve again and retry. A failed
// transaction whose result it reports false for failed on another of its
// conditions; nothing was taken.
func (r *Reservation) Settle(res store.TxnResult) (stale bool) {
	if r.l == nil {
		return false
	}
	now := r.l.now()
	if res.OK {
		r.l.seen.put(r.subject, r.next, now)
		return false
	}
	var cur []byte
	if kv, held := res.Read[r.key]; held {
		cur = kv.Value
		if cur == nil {
			cur = []byte{}
		}
	}
	if (cur == nil) == (r.old == nil) && bytes.Equal(cur, r.old) {
		return false
	}
	r.l.seen.put(r.subject, cur, now)
	return true
}

// parseTAT reads a stored state: a TAT in Unix nanoseconds, in decimal.
// None, or anything unreadable, is 0: a full budget (the compare-and-swap
// then replaces it).
func parseTAT(b []byte) int64 {
	if len(b) == 0 {
		return 0
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0
	}
	return n
}
