// Package fraud protects the owner of a ringproof server, who pays for
// every call and text, from toll fraud and SMS pumping: destinations by
// country and number type (destination.go), rate limits per API key, per
// client address and for the whole cluster (package limit), the pumping
// guard that suspends number prefixes whose verifications are never
// verified (pumping.go), and the admin API over suspended prefixes
// (http.go). See docs/fraud.md.
package fraud

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/store"
)

// Store is what the guard needs of the state store (store.Store).
type Store interface {
	limit.Store
	Get(ctx context.Context, key string) ([]byte, int64, error)
	Put(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Commit(ctx context.Context, conds []store.Cmp, ops []store.Op) (bool, error)
	List(ctx context.Context, prefix string) ([]store.KV, error)
	Watch(ctx context.Context, prefix string) <-chan store.Event
}

// Config is what the guard enforces.
type Config struct {
	Fraud  conf.Fraud
	Limits conf.Limits
	// Node names this node: its pumping counts are its own key.
	Node string
	// Index maps a client address to the opaque id limits store it under
	// (privacy's keyed index: an address is personal data).
	Index func(string) string
	// Services are the limits of services that override Limits (by
	// service name): each limit set above 0 holds the service's requests
	// (api.ServiceFrom) to a budget of the service's own; the others take
	// Limits and its budgets.
	Services map[string]conf.Limits
}

// budgets are the limits one request is held to.
type budgets struct {
	perKey, perIP, global, checks *limit.Pool
	rates                         map[string]limit.Rate // by reason, for messages
}

// Guard decides, before anything is dialled, texted or stored, whether a
// request may go ahead. It is safe for concurrent use; Run must be running
// for the pumping guard to see the other nodes.
type Guard struct {
	dest *Destinations
	pump *pumping
	budgets
	// services are the budgets of services with limits of their own.
	services map[string]budgets
	index    func(string) string

	mu       sync.Mutex
	refusals map[[2]string]uint64 // by reason and country
}

// New returns the guard of cfg on st.
func New(st Store, cfg Config, log *slog.Logger) *Guard {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Index == nil {
		cfg.Index = func(s string) string { return s }
	}
	base := newBudgets(st, "limit/", cfg.Limits, budgets{})
	services := map[string]budgets{}
	for name, l := range cfg.Services {
		services[name] = newBudgets(st, "limit/service/"+name+"/", l, base)
	}
	return &Guard{
		dest:     NewDestinations(cfg.Fraud),
		pump:     newPumping(st, cfg.Fraud.PumpingGuard, safeRanges(cfg.Fraud), cfg.Node, log.With("component", "fraud")),
		budgets:  base,
		services: services,
		index:    cfg.Index,
		refusals: map[[2]string]uint64{},
	}
}

// newBudgets returns the budgets of l under prefix; a limit of l that is
// 0 takes inherit's (when inherit has it).
func newBudgets(st Store, prefix string, l conf.Limits, inherit budgets) budgets {
	b := budgets{rates: map[string]limit.Rate{}}
	set := func(p **limit.Pool, reason, name string, r limit.Rate, from *limit.Pool) {
		if r.Unlimited() && from != nil {
			*p, b.rates[reason] = from, inherit.rates[reason]
			return
		}
		*p, b.rates[reason] = limit.NewPool(limit.New(st, prefix+name+"/", r), 0), r
	}
	set(&b.perKey, ReasonPerKey, "key", limit.PerMinute(l.PerKeyPerMinute), inherit.perKey)
	set(&b.perIP, ReasonPerIP, "ip", limit.PerMinute(l.PerIPPerMinute), inherit.perIP)
	set(&b.global, ReasonGlobal, "global", limit.PerSecond(l.GlobalPerSecond), inherit.global)
	set(&b.checks, ReasonChecksPerIP, "checks_ip", limit.PerMinute(l.ChecksPerIPPerMinute), inherit.checks)
	return b
}

// budgetsOf returns the budgets of the service ctx serves.
func (g *Guard) budgetsOf(ctx context.Context) budgets {
	if name, ok := api.ServiceFrom(ctx); ok {
		if b, ok := g.services[name]; ok {
			return b
		}
	}
	return g.budgets
}

// safeRanges parses fraud.safe_numbers, which conf has validated.
func safeRanges(f conf.Fraud) []conf.NumberRange {
	rs, _ := conf.ParseRanges(f.SafeNumbers)
	return rs
}

// Run keeps the guard's view of the cluster current and writes this
// node's pumping counts, until ctx ends.
func (g *Guard) Run(ctx context.Context) { g.pump.run(ctx) }

// Admit decides whether a verification of number (E.164, valid) may be
// created now, for the client ctx carries (WithClient; a request the
// server makes itself, such as a fallback link, carries none and is held
// only to the destination rules, the pumping guard and the global limit).
// Refused, the error is a *Refusal, or a store error. Admitted, done must
// be called once with whether the verification was stored: a create that
// was not takes back its count from the pumping guard and its events
// from the limits.
func (g *Guard) Admit(ctx context.Context, number string) (done func(created bool), err error) {
	if err := g.dest.Check(number); err != nil {
		g.refused(err, "")
		return nil, err
	}
	undo, err := g.pump.admit(ctx, number)
	if err != nil {
		g.refused(err, number)
		return nil, err
	}
	b := g.budgetsOf(ctx)
	var taken []func()
	giveBack := func() {
		undo()
		for _, f := range taken {
			f()
		}
	}
	take := func(p *limit.Pool, reason, subject string) error {
		ok, wait, err := p.Allow(ctx, subject)
		if err != nil {
			return err
		}
		if !ok {
			r := limited(reason, b.rates[reason], wait)
			g.refused(r, number)
			return r
		}
		taken = append(taken, func() {
			// Not used after all: given back, within a bounded wait
			// even if the request's own context has ended.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = p.Return(rctx, subject) // at worst the event stays spent
		})
		return nil
	}
	if c, ok := ClientFrom(ctx); ok {
		if c.Key != "" {
			if err := take(b.perKey, ReasonPerKey, c.Key); err != nil {
				giveBack()
				return nil, err
			}
		}
		if c.IP.IsValid() {
			if err := take(b.perIP, ReasonPerIP, g.index("ip:"+ipSubject(c.IP))); err != nil {
				giveBack()
				return nil, err
			}
		}
	}
	if err := take(b.global, ReasonGlobal, "all"); err != nil {
		giveBack()
		return nil, err
	}
	return func(created bool) {
		if !created {
			giveBack()
		}
	}, nil
}

// Check decides whether the client ctx carries may check a code now
// (limits.checks_per_ip_per_minute).
func (g *Guard) Check(ctx context.Context) error {
	c, ok := ClientFrom(ctx)
	if !ok || !c.IP.IsValid() {
		return nil
	}
	b := g.budgetsOf(ctx)
	ok, wait, err := b.checks.Allow(ctx, g.index("ip:"+ipSubject(c.IP)))
	if err != nil {
		return err
	}
	if !ok {
		r := limited(ReasonChecksPerIP, b.rates[ReasonChecksPerIP], wait)
		g.refused(r, "")
		return r
	}
	return nil
}

// Verified tells the pumping guard that a verification of number, created
// at created, was verified.
func (g *Guard) Verified(number string, created time.Time) { g.pump.verified(number, created) }

// CheckDestination is the destination rules alone, for masking sessions:
// nil, or a *Refusal.
func (g *Guard) CheckDestination(number string) error {
	err := g.dest.Check(number)
	if err != nil {
		g.refused(err, "")
	}
	return err
}

// refused counts a refusal by reason and by the destination's country
// (looked up from number unless the refusal knows it; "" when neither).
func (g *Guard) refused(err error, number string) {
	r, ok := err.(*Refusal)
	if !ok {
		return
	}
	country := r.Country
	if country == "" && number != "" {
		country = Region(number)
	}
	g.mu.Lock()
	g.refusals[[2]string{r.Reason, country}]++
	g.mu.Unlock()
}

// Stats is what the guard did since it started, for metrics.
type Stats struct {
	// Refusals counts refusals by reason and country.
	Refusals map[[2]string]uint64
	// Decisions counts the pumping guard's decisions (Decision*).
	Decisions map[string]uint64
	// Suspended is how many prefixes are suspended now, cluster-wide.
	Suspended int
}

// Stats returns a copy of the counters.
func (g *Guard) Stats() Stats {
	g.mu.Lock()
	st := Stats{Refusals: maps.Clone(g.refusals)}
	g.mu.Unlock()
	g.pump.mu.Lock()
	st.Decisions = maps.Clone(g.pump.decisions)
	g.pump.mu.Unlock()
	st.Suspended = len(g.pump.suspensions())
	return st
}
