package webhook

import (
	"math/rand/v2"
	"time"
)

// The retry schedule of a delivery that fails: the first retry FirstRetry
// after the first attempt, each wait twice the one before up to MaxWait,
// until RetryFor after the delivery was made; the attempt that fails past
// that drops it.
const (
	FirstRetry = 5 * time.Second
	MaxWait    = time.Hour
	RetryFor   = 24 * time.Hour
)

// Backoff is the wait after failed attempt number n (from 1), before
// jitter: 5 s, 10 s, 20 s, … up to an hour.
func Backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := FirstRetry
	for i := 1; i < n && d < MaxWait; i++ {
		d *= 2
	}
	return min(d, MaxWait)
}

// jitter spreads d by up to ±10%, so that deliveries that failed together
// (a receiver that was down) are not all retried in the same instant.
func jitter(d time.Duration) time.Duration {
	spread := int64(d) / 10
	return d + time.Duration(rand.Int64N(2*spread+1)-spread)
}

// next is what becomes of a delivery made at created whose attempt number
// n failed at now: retried at the time returned, or dropped (false) once
// RetryFor has passed.
func next(created, now time.Time, n int) (time.Time, bool) {
	if !now.Before(created.Add(RetryFor)) {
		return time.Time{}, false
	}
	return now.Add(jitter(Backoff(n))), true
}
