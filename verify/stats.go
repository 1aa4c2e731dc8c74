package verify

import (
	"maps"
	"slices"
	"sync"

	"github.com/ringproof/ringproof/api"
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
	// ServiceCreated counts creates by service and method, keyed
	// "service method"; ServiceChecks checks by service and outcome,
	// "service outcome". Services are the configured ones (ServiceNames).
	ServiceCreated map[string]uint64
	ServiceChecks  map[string]uint64
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

		ServiceCreated: maps.Clone(s.stats.s.ServiceCreated),
		ServiceChecks:  maps.Clone(s.stats.s.ServiceChecks),
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

// ServiceNames lists the services, the implicit one first, then the
// configured ones sorted: the service label's values, a bounded set.
func (s *Service) ServiceNames() []string {
	names := slices.Sorted(maps.Keys(s.cfg.Services))
	return append([]string{api.DefaultService}, slices.DeleteFunc(names, func(n string) bool { return n == api.DefaultService })...)
}
