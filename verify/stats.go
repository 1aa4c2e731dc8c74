package verify

import (
	"maps"
	"sync"
)

// Stats counts what the service did since it started, for metrics. Keys
// are methods, check outcomes, final call events, inbound outcomes and the
// final events of texts.
type Stats struct {
	Created map[string]uint64
	Checks  map[string]uint64
	Calls   map[string]uint64
	Inbound map[string]uint64
	Texts   map[string]uint64
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
		Created: maps.Clone(s.stats.s.Created),
		Checks:  maps.Clone(s.stats.s.Checks),
		Calls:   maps.Clone(s.stats.s.Calls),
		Inbound: maps.Clone(s.stats.s.Inbound),
		Texts:   maps.Clone(s.stats.s.Texts),
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
