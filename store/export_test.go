package store

import "time"

// SetLeaseClock replaces the lease cache's granularity and clock, so that
// tests can shorten buckets or pin bucket boundaries. Call it before any
// write with a TTL.
func SetLeaseClock(s *Store, gran time.Duration, now func() time.Time) {
	s.leases.gran = gran
	if now != nil {
		s.leases.now = now
	}
}

// LeaseBuckets returns how many lease buckets are cached.
func LeaseBuckets(s *Store) int { return s.leases.size() }

// IsUnavailable exposes the classification behind ErrUnavailable.
var IsUnavailable = isUnavailable

// WatchesOpened returns how many etcd watches b has opened.
func WatchesOpened(b *Broadcast) int64 { return b.opened.Load() }

// Listeners returns the addresses the embedded etcd listens on: for
// clients (the unix socket, and the TLS port when configured) and peers.
func Listeners(s *Store) (clients, peers []string) {
	for _, l := range s.etcd.Clients {
		clients = append(clients, l.Addr().Network()+":"+l.Addr().String())
	}
	for _, p := range s.etcd.Peers {
		peers = append(peers, p.Addr().String())
	}
	return clients, peers
}

// WithSpaceCheckEvery paces the recovery from a full quota.
func WithSpaceCheckEvery(d time.Duration) Option {
	return func(s *Store) { s.spaceCheckEvery = d }
}

// HookJoins has queued told the length of the queue of transactions to
// join after each one arrives, and committing called before each batch of
// n is committed. Set it before any write.
func HookJoins(s *Store, queued, committing func(n int)) {
	s.comb.mu.Lock()
	s.comb.queued, s.comb.committing = queued, committing
	s.comb.mu.Unlock()
}

// LoneCatchUpEntries and CompactionRetention are what a lone embedded
// member keeps (see embed.go).
const (
	LoneCatchUpEntries  = loneCatchUpEntries
	CompactionRetention = compactionRetention
)

// EmbeddedRetention returns what the embedded etcd of s was started to
// keep: raft entries for followers to catch up from, and the compaction
// retention.
func EmbeddedRetention(s *Store) (catchUp uint64, compaction string) {
	return s.etcd.Server.Cfg.SnapshotCatchUpEntries, s.etcd.Config().AutoCompactionRetention
}
