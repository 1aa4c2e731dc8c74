package limit

import "time"

// SetClock replaces l's clock, so that tests can hold time still or move it.
func SetClock(l *Limiter, now func() time.Time) { l.now = now }

// MaxBatch returns the largest batch p takes.
func MaxBatch(p *Pool) int { return p.maxBatch }
