package dialer

import (
	"maps"
	"sync"
	"time"
)

// Observer is told, for each call, how long its trunk took to send the
// first provisional response (100 Trying included) to the INVITE.
type Observer interface {
	ObserveTrunkLatency(trunk string, took time.Duration)
}

// Observe has o told of every call's latency; call it before placing
// calls.
func (d *Dialer) Observe(o Observer) { d.stats.observer = o }

// TrunkStats is one trunk's state and counts since start.
type TrunkStats struct {
	Name  string
	State TrunkState
	// Attempts counts the calls and texts sent over the trunk; Failovers
	// those of them that moved on to another trunk.
	Attempts, Failovers uint64
}

// Stats is what the dialer did since it started, for metrics.
type Stats struct {
	// Trunks are in configuration order.
	Trunks []TrunkStats
	// NoRoute counts, by route (its prefix, or "default"), the calls and
	// texts that no trunk of the route could take.
	NoRoute map[string]uint64
}

// Stats returns the trunks' states and the counts so far. Every route
// has a NoRoute entry, zero until a call fails that way.
func (d *Dialer) Stats() Stats {
	st := Stats{NoRoute: map[string]uint64{}}
	for _, t := range d.trunks {
		st.Trunks = append(st.Trunks, TrunkStats{Name: t.Name, State: t.State(),
			Attempts: t.attempts.Load(), Failovers: t.failovers.Load()})
	}
	for _, r := range d.routes.all() {
		st.NoRoute[r.name] = 0
	}
	d.stats.mu.Lock()
	maps.Copy(st.NoRoute, d.stats.noRoute)
	d.stats.mu.Unlock()
	return st
}

// dialStats is the live form of Stats, beside the trunks' own counters.
type dialStats struct {
	observer Observer
	mu       sync.Mutex
	noRoute  map[string]uint64
}

func (d *Dialer) countNoRoute(rt *route) {
	d.stats.mu.Lock()
	if d.stats.noRoute == nil {
		d.stats.noRoute = map[string]uint64{}
	}
	d.stats.noRoute[rt.name]++
	d.stats.mu.Unlock()
}

func (d *Dialer) observeLatency(trunk string, took time.Duration) {
	if d.stats.observer != nil {
		d.stats.observer.ObserveTrunkLatency(trunk, took)
	}
}
