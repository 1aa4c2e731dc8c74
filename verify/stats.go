package verify

import (
	"maps"
	"sync"
)

// Stats counts what the service did since it started, for metrics. Keys
// are methods, check outcomes, final call events, inbound outcomes and the
// final events of texts. Answered counts voice and keypad calls (placed
// and taken) by method and how each ended, keyed "method end": end is the
// final event of a call never answered (failed, timeout, cancelled) or why
// an answered one ended (remote_bye, local, no_media, max_duration).
type Stats struct {
	Created  map[string]uint64
	Checks   map[string]uint64
	Calls    map[string]uint64
	Inbound  map[string]uint64
	Texts    map[string]uint64
	Answered map[string]uint64
}

// counters is the live form of Stats.
type counters struct {
	mu sync.Mutex
	s  Stats
}

func (c *counters) add(m *map[string]uint64, key string) {
	c.mu.Lock()
	if *m == nil {
		*m = map[string]uint64{}
	}
	(*m)[key]++
	c.mu.Unlock()
}

// Stats returns a copy of the counters.
func (s *Service) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return Stats{
		Created:  maps.Clone(s.stats.s.Created),
		Checks:   maps.Clone(s.stats.s.Checks),
		Calls:    maps.Clone(s.stats.s.Calls),
		Inbound:  maps.Clone(s.stats.s.Inbound),
		Texts:    maps.Clone(s.stats.s.Texts),
		Answered: maps.Clone(s.stats.s.Answered),
	}
}

// outcomeName names a check outcome for Stats.
func outcomeName(o outcome) string {
	switch o {
	case outcomeMatch:
		return "verified"
	case outcomeWrong:
		return "wrong"
	case outcomeLockout:
		return "locked_out"
	}
	return "final"
}
