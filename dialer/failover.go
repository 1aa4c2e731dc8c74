package dialer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/ringproof/ringproof/sip"
)

// EventFailover is the step of a call that failed on one trunk before it
// rang, in a way that trunk's failover_on names, and moves on to the
// route's next trunk (with a new Call-ID and the same caller ID). Its Trunk
// is the trunk left, its Status and Reason why. It is not final: a dialing
// step over the next trunk follows.
const EventFailover sip.EventKind = "failover"

// ReasonNoRoute starts the reason of a call or text that no trunk of its
// route could take: every one was down, unregistered or over its max_cps.
const ReasonNoRoute = "no_route"

// IsNoRoute reports whether ev ended a call because no trunk of its route
// could take it.
func IsNoRoute(ev sip.Event) bool {
	return ev.Kind == sip.EventFailed && strings.HasPrefix(ev.Reason, ReasonNoRoute)
}

// errNoRoute is why take found no trunk.
var errNoRoute = errors.New(ReasonNoRoute)

// attempt tries a call or text once, over t: the call's steps go to
// report, timeout bounds it, and noResponse, if positive, abandons it when
// t sends no response at all by then (there is another trunk to try). It
// returns the final step (for a call that is answered, the answer).
type attempt func(ctx context.Context, t *trunk, timeout, noResponse time.Duration, report func(sip.Event)) sip.Event

// over runs a call or text over the route's trunks, in the route's order:
// each attempt takes the next trunk that is up and within its max_cps
// (waiting, within the budget, for a slot when none is free), and a final
// failure before any ringing that the trunk's failover_on names moves it
// on to the next trunk, reported as EventFailover in place of the failure.
// budget bounds the whole call, every attempt included, and the wait for
// a slot. It returns the last attempt's final step, or, when no trunk
// could take the call at all, a failure with reason no_route (reported
// too).
func (d *Dialer) over(ctx context.Context, rt *route, budget time.Duration, report func(sip.Event), try attempt) sip.Event {
	if report == nil {
		report = func(sip.Event) {}
	}
	deadline := time.Now().Add(budget)
	cands := rt.order(rand.IntN)
	var last sip.Event
	for tried := 0; ; tried++ {
		t, rest, err := d.take(ctx, cands, time.Until(deadline))
		switch {
		case err == nil:
		case tried > 0:
			report(last) // the failure that moved it on, final after all
			return last
		case ctx.Err() != nil:
			ev := sip.Event{Kind: sip.EventCancelled, Reason: "hangup before dialing", At: time.Now()}
			report(ev)
			return ev
		default:
			d.countNoRoute(rt)
			ev := sip.Event{Kind: sip.EventFailed, Reason: fmt.Sprintf("%v: route %s: %v", errNoRoute, rt.name, err), At: time.Now()}
			report(ev)
			return ev
		}
		cands = rest
		t.attempts.Add(1)
		var (
			noResponse time.Duration
			rang       bool
			moved      bool // the final step was withheld: the call moves on
			reported   bool // the final step went to report
			dialedAt   time.Time
			timed      bool
		)
		if t.failoverTimeout && anyUp(rest) {
			noResponse = t.responseTimeout
		}
		movesOn := func(ev sip.Event) bool {
			return !rang && ctx.Err() == nil && t.movesOn(ev) && anyUp(rest) && time.Now().Before(deadline)
		}
		ev := try(ctx, t, time.Until(deadline), noResponse, func(ev sip.Event) {
			switch {
			case ev.Kind == sip.EventDialing:
				dialedAt = ev.At
			case ev.Kind == sip.EventRinging || ev.Kind == sip.EventAnswered:
				rang = true
			}
			if !timed && !ev.Provisional.IsZero() && !dialedAt.IsZero() {
				timed = true
				d.observeLatency(t.Name, ev.Provisional.Sub(dialedAt))
			}
			if ev.Kind.Final() {
				reported = true
				if movesOn(ev) {
					moved = true
					return
				}
			}
			report(ev)
		})
		if !moved && (reported || !ev.Kind.Final() || !movesOn(ev)) {
			return ev
		}
		t.failovers.Add(1)
		d.log.Info("call moves on to the next trunk", "route", rt.name, "trunk", t.Name, "event", ev.Kind, "sip_status", ev.Status, "reason", ev.Reason)
		report(sip.Event{Kind: EventFailover, Status: ev.Status, Reason: ev.Reason, At: ev.At, Trunk: t.Name})
		last = ev
	}
}

// take returns the first trunk of cands that is up and within its
// max_cps, and the others (the ones skipped stay, in order, for a later
// attempt). When every trunk that is up is at its cap, it waits up to wait
// for the first one's next slot. The error says why none could be taken:
// ctx ended, every trunk down, or every one over its cap.
func (d *Dialer) take(ctx context.Context, cands []*trunk, wait time.Duration) (*trunk, []*trunk, error) {
	without := func(i int) []*trunk { return slices.Delete(slices.Clone(cands), i, i+1) }
	for i, t := range cands {
		if t.up() && t.limit.Allow() {
			return t, without(i), nil
		}
	}
	var down []string
	for i, t := range cands {
		if !t.up() {
			down = append(down, t.Name+" "+string(t.State()))
			continue
		}
		if wait <= 0 {
			break
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		err := t.limit.Wait(wctx)
		cancel()
		if err == nil {
			return t, without(i), nil
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("every trunk up is over its max_cps (%s waited %v)", t.Name, wait.Round(time.Millisecond))
	}
	if len(down) == 0 {
		return nil, nil, errors.New("no time left to wait for a trunk")
	}
	return nil, nil, fmt.Errorf("no trunk up (%s)", strings.Join(down, ", "))
}

// anyUp reports whether any of ts is up.
func anyUp(ts []*trunk) bool {
	return slices.ContainsFunc(ts, (*trunk).up)
}
