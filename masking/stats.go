package masking

import (
	"maps"
	"sync"
)

// Stats counts what the service did since it started, for metrics: the
// sessions created, the calls to proxies by outcome (bridged,
// not_answered, unknown_caller, no_caller_id, invalid_caller_id,
// peer_erased, error) and the texts by outcome (sent, refused, and the
// same reasons as calls for texts that could not be passed on).
type Stats struct {
	Sessions uint64
	Calls    map[string]uint64
	Texts    map[string]uint64
}

// CallOutcomes and TextOutcomes are every outcome Stats counts, for
// metrics that exist before the first event.
var (
	CallOutcomes = []string{"bridged", "not_answered", "unknown_caller", "no_caller_id", "invalid_caller_id", "peer_erased", "error"}
	TextOutcomes = []string{"sent", "refused", "unknown_caller", "no_caller_id", "invalid_caller_id", "peer_erased", "error"}
)

// counters is the live form of Stats.
type counters struct {
	mu sync.Mutex
	s  Stats
}

func (c *counters) call(outcome string) { c.add(&c.s.Calls, outcome) }
func (c *counters) text(outcome string) { c.add(&c.s.Texts, outcome) }

func (c *counters) add(m *map[string]uint64, key string) {
	c.mu.Lock()
	if *m == nil {
		*m = map[string]uint64{}
	}
	(*m)[key]++
	c.mu.Unlock()
}

func (c *counters) session() {
	c.mu.Lock()
	c.s.Sessions++
	c.mu.Unlock()
}

// Stats returns a copy of the counters.
func (s *Service) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return Stats{Sessions: s.stats.s.Sessions, Calls: maps.Clone(s.stats.s.Calls), Texts: maps.Clone(s.stats.s.Texts)}
}
