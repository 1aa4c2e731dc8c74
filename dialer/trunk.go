package dialer

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/sip"
)

// TrunkState is whether calls may go over a trunk, as /readyz and the
// metrics show it.
type TrunkState string

// A trunk's states. Only an up trunk takes calls.
const (
	TrunkUp           TrunkState = "up"           // taking calls
	TrunkDown         TrunkState = "down"         // missed 3 OPTIONS pings in a row
	TrunkUnregistered TrunkState = "unregistered" // register: true, and not registered now
)

// trunk is a configured trunk as the dialer uses it: where its requests
// go, its calls-per-second cap, its share of first attempts, what moves a
// call on from it, and whether it is up. It is safe for concurrent use.
type trunk struct {
	sip.Trunk
	limit           *Limiter
	weight          int
	failoverOn      []int // final statuses that move a call on
	failoverTimeout bool  // no response at all moves a call on
	responseTimeout time.Duration

	srtp            bool          // offer SDES SRTP, and take nothing less
	pingEvery       time.Duration // 0: no OPTIONS pings
	register        bool
	registerExpires time.Duration

	mu        sync.Mutex // guards health
	health    health
	state     atomic.Pointer[TrunkState] // health.state(), for readers without the lock
	registrar atomic.Pointer[netip.Addr] // where the registration was last accepted from
	attempts  atomic.Uint64              // calls and texts sent over the trunk
	failovers atomic.Uint64              // of those, moved on to another trunk
}

func newTrunk(t conf.Trunk) *trunk {
	tr := &trunk{
		Trunk: sip.Trunk{Name: t.Name, Address: t.Address, Transport: t.Transport,
			Username: t.Username, Password: t.Password, Domain: t.Domain},
		limit:           NewLimiter(t.MaxCPS),
		weight:          max(t.Weight, 1),
		failoverOn:      t.FailoverStatuses(),
		failoverTimeout: t.FailoverTimeout(),
		responseTimeout: time.Duration(t.ResponseTimeoutS) * time.Second,
		srtp:            t.SRTP == "sdes",
		pingEvery:       time.Duration(t.OptionsPingS) * time.Second,
		register:        t.Register,
		registerExpires: time.Duration(t.RegisterExpiresS) * time.Second,
	}
	tr.health.needsRegistration = t.Register
	tr.update(func(*health) {})
	return tr
}

// State is the trunk's state now.
func (t *trunk) State() TrunkState { return *t.state.Load() }

// update applies change to the trunk's health and returns its state
// before and after.
func (t *trunk) update(change func(*health)) (before, after TrunkState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	before = t.health.state()
	change(&t.health)
	after = t.health.state()
	t.state.Store(&after)
	return before, after
}

// setState forces the trunk's state, for tests.
func (t *trunk) setState(s TrunkState) {
	t.update(func(h *health) {
		*h = health{needsRegistration: s == TrunkUnregistered}
		if s == TrunkDown {
			h.misses = missesForDown
		}
	})
}

func (t *trunk) up() bool { return t.State() == TrunkUp }

// movesOn reports whether a call's final event ev on this trunk is one
// its failover_on names: a listed status, or a timeout (no response, or no
// 180/183 in time) when "timeout" is listed. A failure without a status (a
// transport error: connection refused, TLS handshake) counts as 503, as
// RFC 3261 §8.1.3.1 has a transport error count.
func (t *trunk) movesOn(ev sip.Event) bool {
	switch ev.Kind {
	case sip.EventTimeout:
		return t.failoverTimeout
	case sip.EventFailed:
		status := ev.Status
		if status == 0 {
			status = 503
		}
		return slices.Contains(t.failoverOn, status)
	}
	return false
}
