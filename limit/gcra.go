package limit

import (
	"fmt"
	"time"
)

// Rate is a budget of Count events per Period, spent at a steady pace: one
// event every Period/Count (the emission interval), and at most Count at
// once after a quiet Period. A Rate whose Count or Period is not positive is
// no limit at all.
//
// This file is the generic cell rate algorithm (GCRA, ITU-T I.371) on its
// own, without storage: a subject's whole state is one instant, its
// theoretical arrival time (TAT), the moment at which its budget would be
// full again were nothing else taken. Taking n events moves the TAT n
// emission intervals past the later of itself and now; the take is
// allowed when the new TAT lies at most Period ahead of now. A TAT at or
// before now is the same as no state: a full budget. So the state of a
// subject can be dropped, and its store key expire, at its TAT.
type Rate struct {
	Count  int
	Period time.Duration
}

// PerSecond is n events a second, PerMinute n a minute, PerHour n an hour.
func PerSecond(n int) Rate { return Rate{Count: n, Period: time.Second} }

// PerMinute is n events a minute.
func PerMinute(n int) Rate { return Rate{Count: n, Period: time.Minute} }

// PerHour is n events an hour.
func PerHour(n int) Rate { return Rate{Count: n, Period: time.Hour} }

// Unlimited reports whether r limits nothing.
func (r Rate) Unlimited() bool { return r.Count <= 0 || r.Period <= 0 }

func (r Rate) String() string {
	if r.Unlimited() {
		return "unlimited"
	}
	return fmt.Sprintf("%d per %s", r.Count, r.Period)
}

// interval is the emission interval in nanoseconds: the time one event
// takes to come back into the budget. r must not be Unlimited.
func (r Rate) interval() int64 { return max(int64(r.Period)/int64(r.Count), 1) }

// decision is GCRA's verdict on one take.
type decision struct {
	// granted is how many events were granted: 0 when refused.
	granted int
	// tat is the subject's new TAT (Unix ns) when granted > 0.
	tat int64
	// wait is, when refused, how long until the take that was refused
	// (take), or one event (takeUpTo), would be granted.
	wait time.Duration
}

// take decides whether n events may be taken at now (Unix ns) from a
// subject whose TAT is tat (0, or anything at or before now, meaning a full
// budget): all n or none. n must be between 1 and r.Count.
func (r Rate) take(tat, now int64, n int) decision {
	next := max(tat, now) + int64(n)*r.interval()
	if ahead := next - now; ahead > int64(r.Period) {
		return decision{wait: time.Duration(ahead - int64(r.Period))}
	}
	return decision{granted: n, tat: next}
}

// takeUpTo is take for as many of n events as the budget holds now, at
// least one: a batch of tokens. n must be between 1 and r.Count.
func (r Rate) takeUpTo(tat, now int64, n int) decision {
	t := r.interval()
	base := max(tat, now)
	room := now + int64(r.Period) - base // how far base may move
	k := min(room/t, int64(n))
	if k < 1 {
		return decision{wait: time.Duration(base + t - int64(r.Period) - now)}
	}
	return decision{granted: int(k), tat: base + k*t}
}

// refund gives n events back to a subject whose TAT is tat: the TAT
// moves n intervals back, no earlier than now (a budget is never more than
// full). It returns the new TAT, or 0 when the budget is full.
func (r Rate) refund(tat, now int64, n int) int64 {
	next := tat - int64(n)*r.interval()
	if next <= now {
		return 0
	}
	return next
}

// RetryAfterSeconds is the value of an HTTP Retry-After header for a wait:
// whole seconds, rounded up, so that a request made that many seconds later
// is accepted (if nothing else took the budget meanwhile); at least 1.
func RetryAfterSeconds(wait time.Duration) int64 {
	s := int64((wait + time.Second - 1) / time.Second)
	return max(s, 1)
}
