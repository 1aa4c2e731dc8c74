package dialer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/media"
	"github.com/ringproof/ringproof/sip"
	"github.com/ringproof/ringproof/store"
)

// Caller places calls; sip.Endpoint is one.
type Caller interface {
	Flash(ctx context.Context, c sip.Call, o sip.FlashOptions, report func(sip.Event)) sip.Event
	Dial(ctx context.Context, c sip.Call, o sip.DialOptions, report func(sip.Event)) (*sip.Dialog, sip.Event)
	SendText(ctx context.Context, m sip.Text, timeout time.Duration) sip.Event
	// Public is the address peers reach the caller at.
	Public() netip.AddrPort
}

// Store is the store operation caller-ID leases need (store.Store).
type Store interface {
	Create(ctx context.Context, key string, val []byte, ttl time.Duration) error
}

// Dialer places calls and sends texts over the trunks of each
// destination's route, presenting caller IDs from the route's pool. It is
// safe for concurrent use.
type Dialer struct {
	caller   Caller
	leases   Store
	trunks   []*trunk // in configuration order
	routes   *routes
	flash    sip.FlashOptions
	leaseTTL time.Duration
	// leaseName names a caller ID in its leases' keys (NameLeases).
	leaseName func(callerID string) string
	log       *slog.Logger

	media         *MediaConfig // nil: no answered calls
	answerTimeout time.Duration

	textTimeout time.Duration

	stats dialStats
}

// New builds a dialer from the configuration: the trunks, each with its
// calls-per-second limiter; the routes with their caller-ID pools (whose
// warnings are logged); and the lease time of a caller ID (the call's
// longest life plus the cooldown).
func New(c *conf.Config, caller Caller, leases Store, log *slog.Logger) (*Dialer, error) {
	if log == nil {
		log = slog.Default()
	}
	if len(c.Trunks) == 0 {
		return nil, errors.New("dialer: no trunk configured")
	}
	d := &Dialer{
		caller: caller, leases: leases, log: log,
		flash: sip.FlashOptions{
			RingFor: time.Duration(c.FlashCall.RingMS) * time.Millisecond,
			Timeout: time.Duration(c.FlashCall.TimeoutS) * time.Second,
		},
		textTimeout: time.Duration(c.SMS.TimeoutS) * time.Second,
		leaseName:   randomLeaseNames(),
	}
	// A call lives at most its timeout (every attempt included), the ring
	// time and the wait for the final response to the CANCEL (64*T1).
	d.leaseTTL = d.flash.Timeout + d.flash.RingFor + 32*time.Second + time.Duration(c.FlashCall.CooldownS)*time.Second
	byName := map[string]*trunk{}
	for _, t := range c.Trunks {
		tr := newTrunk(t)
		d.trunks = append(d.trunks, tr)
		byName[t.Name] = tr
	}
	var global *Pool
	var globalFrom string
	pool := func(route string, callers []string) (*Pool, string, error) {
		if len(callers) == 0 && global != nil {
			return global, globalFrom, nil
		}
		name := "callers"
		if len(callers) > 0 {
			name = "route " + route + " callers"
		} else {
			callers = c.Callers
		}
		ranges, err := conf.ParseRanges(callers)
		if err != nil {
			return nil, "", fmt.Errorf("dialer: %s: %w", name, err)
		}
		p, err := NewPool(ranges, c.FlashCall.CodeLength)
		if err != nil {
			return nil, "", fmt.Errorf("dialer: %s: %w", name, err)
		}
		for _, w := range p.Warnings() {
			log.Warn("caller-ID pool makes codes guessable: "+w, "pool", name)
		}
		from := c.SMS.From
		if from == "" {
			from = ranges[0].Format(ranges[0].Start)
		}
		if name == "callers" {
			global, globalFrom = p, from
		}
		return p, from, nil
	}
	routes, err := buildRoutes(c, byName, pool)
	if err != nil {
		return nil, err
	}
	d.routes = routes
	return d, nil
}

// WithMedia enables answered calls (voice and keypad methods) with mc.
func (d *Dialer) WithMedia(mc MediaConfig, answerTimeout time.Duration) {
	d.media = &mc
	d.answerTimeout = answerTimeout
}

// NameLeases sets how a caller ID is named in the store keys of its
// leases: name must be a keyed hash (privacy.Index), the same on every
// node of the cluster, so that the store never holds a flash call's caller
// ID, whose last digits are the code, beside the key of the number it
// called. Until it is set, a dialer names caller IDs under a key of its
// own, drawn at random: safe, but its leases are then its own, unseen by
// other nodes and by itself once restarted.
func (d *Dialer) NameLeases(name func(callerID string) string) { d.leaseName = name }

// Pool is the caller-ID pool of the default route.
func (d *Dialer) Pool() *Pool { return d.routes.def.pool }

// CallerIDLease is a caller ID drawn for a number and how to lease it: the
// store key that holds it for the number, and for how long. Whoever stores
// the verification writes Key with TTL, only if Key is absent; if present,
// the number holds that caller ID already and another must be drawn.
type CallerIDLease struct {
	CallerID string
	Key      string
	TTL      time.Duration
}

// DrawCallerID draws a caller ID for a flash call to number at random
// from the pool of number's route, without touching the store: the caller
// leases it under numberKey (see CallerIDLease) in the same transaction as
// what it stores, which is what makes a flash verification one store
// write.
func (d *Dialer) DrawCallerID(number, numberKey string) (CallerIDLease, error) {
	id, err := d.routes.lookup(number).pool.Pick()
	if err != nil {
		return CallerIDLease{}, fmt.Errorf("dialer: caller ID: %w", err)
	}
	return CallerIDLease{CallerID: id, Key: leaseKey(numberKey, d.leaseName(id)), TTL: d.leaseTTL}, nil
}

// LeaseCallerID draws a caller ID for a call to number, from its route's
// pool, that no live verification of numberKey holds, and leases it in
// the store for the call's life plus the cooldown, in a store write of its
// own (DrawCallerID leaves the write to the caller).
func (d *Dialer) LeaseCallerID(ctx context.Context, number, numberKey string) (string, error) {
	return d.routes.lookup(number).pool.Lease(ctx, storeLeaser{d.leases}, numberKey, d.leaseName, d.leaseTTL)
}

// Flash calls number from callerID over its route's trunks, each within
// its calls-per-second cap, and hangs up when it rings; a trunk that fails
// before ringing in a way its failover_on names hands the call to the
// next (EventFailover). It reports every step of the call and returns the
// final one. Cancelling ctx hangs up.
func (d *Dialer) Flash(ctx context.Context, callerID, number string, report func(sip.Event)) sip.Event {
	return d.over(ctx, d.routes.lookup(number), d.flash.Timeout, report, func(ctx context.Context, t *trunk, timeout, noResponse time.Duration, report func(sip.Event)) sip.Event {
		offer, _, err := offerFor(t, netip.AddrPortFrom(d.offerIP(), mediaPort))
		if err != nil {
			return failed(report, err.Error())
		}
		o := d.flash
		o.Timeout, o.NoResponse = timeout, noResponse
		return d.caller.Flash(ctx, sip.Call{Trunk: t.Trunk, From: callerID, To: number, SDP: offer}, o, report)
	})
}

// offerFor is the SDP offer of a call over t for audio at addr: over SRTP
// with a new key (returned too) when the trunk wants it.
func offerFor(t *trunk, addr netip.AddrPort) ([]byte, *media.Crypto, error) {
	id := rand.Uint64() >> 1
	if !t.srtp {
		offer, err := media.Offer(addr, id)
		return offer, nil, err
	}
	key, err := media.NewCrypto()
	if err != nil {
		return nil, nil, err
	}
	offer, err := media.OfferSRTP(addr, id, key)
	return offer, &key, err
}

// SendText sends body to number as a text message over its route's
// trunks, within their calls-per-second caps (a message counts as a
// call), from the configured sender (sms.from, else the first number of
// the route's pool). It returns sip.EventSent when a carrier took the
// message, else why not.
func (d *Dialer) SendText(ctx context.Context, number, body string) sip.Event {
	rt := d.routes.lookup(number)
	return d.text(ctx, rt, sip.Text{From: rt.textFrom, To: number, Body: body})
}

// Relay passes a text on to number from callerID (a masking proxy) over
// its route's trunks, within their calls-per-second caps.
func (d *Dialer) Relay(ctx context.Context, callerID, number, body string) sip.Event {
	return d.text(ctx, d.routes.lookup(number), sip.Text{From: callerID, To: number, Body: body})
}

// text sends m over rt's trunks, moving on as a call does.
func (d *Dialer) text(ctx context.Context, rt *route, m sip.Text) sip.Event {
	return d.over(ctx, rt, d.textTimeout, nil, func(ctx context.Context, t *trunk, timeout, noResponse time.Duration, _ func(sip.Event)) sip.Event {
		m.Trunk = t.Trunk
		if noResponse > 0 {
			timeout = min(timeout, noResponse)
		}
		return d.caller.SendText(ctx, m, timeout)
	})
}

// offerIP is the RTP address SDP offers name: the media's external IP,
// else the SIP endpoint's public address.
func (d *Dialer) offerIP() netip.Addr {
	if d.media != nil && d.media.ExternalIP.IsValid() {
		return d.media.ExternalIP
	}
	return d.caller.Public().Addr()
}

// mediaPort is the RTP port a flash call's offer names. A flash call is
// never meant to be answered; if a 200 OK wins the race with the CANCEL the
// call is torn down at once, so nothing listens there.
const mediaPort = 16384

// storeLeaser adapts the store's create-if-absent to the pool's Leaser.
type storeLeaser struct{ s Store }

func (l storeLeaser) Take(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	err := l.s.Create(ctx, key, []byte{'1'}, ttl)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrExists):
		return false, nil
	default:
		return false, err
	}
}

// ShareTrunks sets every trunk's max_cps share for a cluster of n nodes.
func (d *Dialer) ShareTrunks(n int) {
	for _, t := range d.trunks {
		t.limit.Share(n)
	}
}

// Bridge calls number from callerID over its route's trunks, each within
// its calls-per-second cap, offering offer (the SDP of the call being
// bridged, so that the audio flows between the two carriers), and waits
// for the answer within timeout. Answered, it returns the dialog, whose
// RemoteSDP answers offer; otherwise nil and the final event. Cancelling
// ctx before the answer hangs up.
func (d *Dialer) Bridge(ctx context.Context, callerID, number string, offer []byte, timeout time.Duration) (*sip.Dialog, sip.Event) {
	var dlg *sip.Dialog
	ev := d.over(ctx, d.routes.lookup(number), timeout, nil, func(ctx context.Context, t *trunk, timeout, noResponse time.Duration, report func(sip.Event)) sip.Event {
		var ev sip.Event
		dlg, ev = d.caller.Dial(ctx, sip.Call{Trunk: t.Trunk, From: callerID, To: number, SDP: offer}, sip.DialOptions{Timeout: timeout, NoResponse: noResponse}, report)
		return ev
	})
	return dlg, ev
}
