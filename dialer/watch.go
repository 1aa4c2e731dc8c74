package dialer

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/ringproof/ringproof/sip"
)

// Prober asks trunks whether they are there and keeps ringproof
// registered at those that want it (sip.Endpoint).
type Prober interface {
	Ping(ctx context.Context, t sip.Trunk, timeout time.Duration) (int, error)
	Register(ctx context.Context, r *sip.Registration, timeout time.Duration) (sip.Registered, error)
	Unregister(ctx context.Context, r *sip.Registration, timeout time.Duration) error
}

// Timing of the watch loops.
const (
	// maxPingWait bounds the wait for the answer to one OPTIONS ping.
	maxPingWait = 10 * time.Second
	// registerWait bounds the wait for the answer to one REGISTER.
	registerWait = 10 * time.Second
	// registerRetryMin and registerRetryMax bound the back-off between
	// failed registrations; it doubles from the one to the other.
	registerRetryMin = time.Second
	registerRetryMax = 5 * time.Minute
	// refreshShare is when a registration is refreshed: at this share of
	// the lifetime the registrar granted.
	refreshShare = 0.8
)

// Watch keeps the trunks' states until ctx ends: it pings every trunk
// with options_ping_s (a trunk that leaves 3 pings in a row unanswered is
// down until it answers one), and keeps ringproof registered at every
// trunk with register: true (unregistered while it is not). When ctx ends
// it removes the registrations, then returns.
func (d *Dialer) Watch(ctx context.Context, p Prober) {
	var wg sync.WaitGroup
	for _, t := range d.trunks {
		if t.pingEvery > 0 {
			wg.Go(func() { d.ping(ctx, p, t) })
		}
		if t.register {
			wg.Go(func() { d.keepRegistered(ctx, p, t) })
		}
	}
	wg.Wait()
}

// ping asks t whether it is there every pingEvery, from now on.
func (d *Dialer) ping(ctx context.Context, p Prober, t *trunk) {
	tick := time.NewTicker(t.pingEvery)
	defer tick.Stop()
	for {
		status, err := p.Ping(ctx, t.Trunk, min(t.pingEvery, maxPingWait))
		if ctx.Err() != nil {
			return
		}
		answered := err == nil && answersPing(status)
		switch before, after := t.update(func(h *health) { h.pinged(answered) }); {
		case before == TrunkUp && after == TrunkDown:
			d.log.Warn("trunk down: no answer to its OPTIONS pings", "trunk", t.Name, "missed", missesForDown, "status", status, "err", err)
		case before == TrunkDown && after == TrunkUp:
			d.log.Info("trunk up: it answers OPTIONS again", "trunk", t.Name, "status", status)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// answersPing reports whether a final response to OPTIONS shows the trunk
// taking requests: any but 408 and 5xx or 6xx (a 401, 404 or 405 comes
// from a carrier that is there).
func answersPing(status int) bool {
	return status >= 200 && status < 500 && status != 408
}

// keepRegistered registers at t, refreshes each binding at refreshShare
// of the lifetime granted, and after a failure tries again with back-off;
// t is unregistered from when its last binding lapses until a
// registration succeeds. When ctx ends it removes the binding.
func (d *Dialer) keepRegistered(ctx context.Context, p Prober, t *trunk) {
	r := &sip.Registration{Trunk: t.Trunk, Expires: t.registerExpires}
	retry := registerRetryMin
	var lapses time.Time // when the binding held now lapses; zero: none
	for {
		got, err := p.Register(ctx, r, registerWait)
		if ctx.Err() != nil {
			break
		}
		var wait time.Duration
		if err == nil && got.Expires > 0 {
			lapses, retry = time.Now().Add(got.Expires), registerRetryMin
			addr := got.Registrar.Addr()
			t.registrar.Store(&addr)
			if before, _ := t.update(func(h *health) { h.registration(true) }); before == TrunkUnregistered {
				d.log.Info("trunk registered", "trunk", t.Name, "expires", got.Expires, "registrar", got.Registrar)
			}
			wait = max(time.Duration(float64(got.Expires)*refreshShare), time.Second)
		} else {
			d.log.Warn("trunk registration failed; trying again", "trunk", t.Name, "err", err, "retry_in", retry)
			wait = jitter(retry)
			retry = min(2*retry, registerRetryMax)
			if !lapses.IsZero() && time.Until(lapses) < wait {
				// Check again the moment the binding lapses.
				wait = max(time.Until(lapses), 0)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if ctx.Err() != nil {
			break
		}
		if !lapses.IsZero() && !time.Now().Before(lapses) {
			lapses = time.Time{}
			t.registrar.Store(nil)
			if _, after := t.update(func(h *health) { h.registration(false) }); after == TrunkUnregistered {
				d.log.Warn("trunk unregistered: its registration lapsed", "trunk", t.Name)
			}
		}
	}
	if !lapses.IsZero() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		if err := p.Unregister(uctx, r, 3*time.Second); err != nil {
			d.log.Warn("trunk: removing the registration failed", "trunk", t.Name, "err", err)
		}
	}
}

// jitter spreads d by ±20 %, so that nodes restarted together do not
// retry in step.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// FromRegistrar reports whether addr is where the registration at the
// trunk named trunk was last accepted from, while that registration
// holds: calls from there are the trunk's.
func (d *Dialer) FromRegistrar(trunk string, addr netip.Addr) bool {
	for _, t := range d.trunks {
		if t.Name == trunk {
			r := t.registrar.Load()
			return r != nil && *r == addr.Unmap()
		}
	}
	return false
}

// FromAnyRegistrar reports whether addr is where some trunk's
// registration was last accepted from, while it holds.
func (d *Dialer) FromAnyRegistrar(addr netip.Addr) bool {
	for _, t := range d.trunks {
		if d.FromRegistrar(t.Name, addr) {
			return true
		}
	}
	return false
}

// TrunkStates returns every trunk's state, by name.
func (d *Dialer) TrunkStates() map[string]TrunkState {
	out := make(map[string]TrunkState, len(d.trunks))
	for _, t := range d.trunks {
		out[t.Name] = t.State()
	}
	return out
}

// Routable reports whether some route has a trunk up: whether a call to
// some number could be placed now.
func (d *Dialer) Routable() bool {
	for _, r := range d.routes.all() {
		if r.hasTrunkUp() {
			return true
		}
	}
	return false
}
