package dialer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/media"
	"github.com/ringproof/ringproof/sip"
	"github.com/ringproof/ringproof/store"
)

// Caller places calls; sip.Endpoint is one.
type Caller interface {
	Flash(ctx context.Context, c sip.Call, o sip.FlashOptions, report func(sip.Event)) sip.Event
	Place(ctx context.Context, c sip.Call, o sip.PlaceOptions, report func(sip.Event)) (*sip.Dialog, sip.Event)
	SendText(ctx context.Context, m sip.Text, timeout time.Duration) sip.Event
	Addr() netip.AddrPort
}

// Claimer is the store operation a caller-ID lease needs (store.Store).
type Claimer interface {
	Create(ctx context.Context, key string, val []byte, ttl time.Duration) error
}

// trunk is a configured trunk with its own calls-per-second cap.
type trunk struct {
	sip.Trunk
	limit *Limiter
}

// Dialer places flash calls over the configured trunks, presenting caller
// IDs from the pool. It is safe for concurrent use.
type Dialer struct {
	caller   Caller
	pool     *Pool
	claims   Claimer
	trunks   []trunk
	next     atomic.Uint64
	flash    sip.FlashOptions
	leaseTTL time.Duration
	log      *slog.Logger

	media         *MediaConfig // nil: no answered calls
	answerTimeout time.Duration

	textFrom    string // sender of text messages, E.164
	textTimeout time.Duration
}

// New builds a dialer from the configuration: the caller-ID pool (whose
// warnings are logged), one limiter per trunk, and the lease time of a
// caller ID (the call's longest life plus the cooldown).
func New(c *conf.Config, caller Caller, claims Claimer, log *slog.Logger) (*Dialer, error) {
	if log == nil {
		log = slog.Default()
	}
	ranges, err := conf.ParseRanges(c.Callers)
	if err != nil {
		return nil, fmt.Errorf("dialer: callers: %w", err)
	}
	pool, err := NewPool(ranges, c.FlashCall.CodeLength)
	if err != nil {
		return nil, fmt.Errorf("dialer: callers: %w", err)
	}
	for _, w := range pool.Warnings() {
		log.Warn("caller-ID pool makes codes guessable: " + w)
	}
	if len(c.Trunks) == 0 {
		return nil, errors.New("dialer: no trunk configured")
	}
	d := &Dialer{
		caller: caller, pool: pool, claims: claims, log: log,
		flash: sip.FlashOptions{
			RingFor: time.Duration(c.FlashCall.RingMS) * time.Millisecond,
			Timeout: time.Duration(c.FlashCall.TimeoutS) * time.Second,
		},
	}
	d.textFrom, d.textTimeout = c.SMS.From, time.Duration(c.SMS.TimeoutS)*time.Second
	if d.textFrom == "" {
		d.textFrom = ranges[0].Format(ranges[0].Start)
	}
	// A call lives at most its timeout, the ring time and the wait for the
	// final response to the CANCEL (64*T1).
	d.leaseTTL = d.flash.Timeout + d.flash.RingFor + 32*time.Second + time.Duration(c.FlashCall.CooldownS)*time.Second
	for _, t := range c.Trunks {
		d.trunks = append(d.trunks, trunk{
			Trunk: sip.Trunk{Name: t.Name, Address: t.Address, Transport: t.Transport,
				Username: t.Username, Password: t.Password, Domain: t.Domain},
			limit: NewLimiter(t.MaxCPS),
		})
	}
	return d, nil
}

// WithMedia enables answered calls (voice and keypad methods) with mc.
func (d *Dialer) WithMedia(mc MediaConfig, answerTimeout time.Duration) {
	d.media = &mc
	d.answerTimeout = answerTimeout
}

// Pool is the caller-ID pool.
func (d *Dialer) Pool() *Pool { return d.pool }

// CallerIDClaim is a caller ID drawn for a number and how to lease it: the
// store key that holds it for the number, and for how long. Whoever stores
// the verification writes Key with TTL, only if Key is absent; if present,
// the number holds that caller ID already and another must be drawn.
type CallerIDClaim struct {
	CallerID string
	Key      string
	TTL      time.Duration
}

// DrawCallerID draws a caller ID for numberKey at random from the pool,
// without touching the store: the caller leases it (see CallerIDClaim) in
// the same transaction as what it stores, which is what makes a flash
// verification one store write.
func (d *Dialer) DrawCallerID(numberKey string) (CallerIDClaim, error) {
	id, err := d.pool.Pick()
	if err != nil {
		return CallerIDClaim{}, fmt.Errorf("dialer: caller ID: %w", err)
	}
	return CallerIDClaim{CallerID: id, Key: leaseKey(numberKey, id), TTL: d.leaseTTL}, nil
}

// LeaseCallerID draws a caller ID that no live verification of numberKey
// holds and leases it in the store for the call's life plus the cooldown,
// in a store write of its own (DrawCallerID leaves the write to the caller).
func (d *Dialer) LeaseCallerID(ctx context.Context, numberKey string) (string, error) {
	return d.pool.Lease(ctx, claimer{d.claims}, numberKey, d.leaseTTL)
}

// Flash calls number from callerID over the next trunk in turn, within that
// trunk's calls-per-second cap, and hangs up when it rings. It reports every
// step of the call and returns the final one. Cancelling ctx hangs up.
func (d *Dialer) Flash(ctx context.Context, callerID, number string, report func(sip.Event)) sip.Event {
	t, err := d.nextTrunk(ctx, d.flash.Timeout)
	if err != nil {
		ev := sip.Event{Kind: sip.EventFailed, Reason: err.Error(), At: time.Now()}
		if ctx.Err() != nil {
			ev = sip.Event{Kind: sip.EventCancelled, Reason: "hangup before dialing", At: time.Now()}
		}
		if report != nil {
			report(ev)
		}
		return ev
	}
	offer, err := media.Offer(netip.AddrPortFrom(d.caller.Addr().Addr(), mediaPort), rand.Uint64()>>1)
	if err != nil {
		ev := sip.Event{Kind: sip.EventFailed, Reason: err.Error(), At: time.Now()}
		if report != nil {
			report(ev)
		}
		return ev
	}
	return d.caller.Flash(ctx, sip.Call{Trunk: t.Trunk, From: callerID, To: number, SDP: offer}, d.flash, report)
}

// SendText sends body to number as a text message over the next trunk in
// turn, within that trunk's calls-per-second cap (a message counts as a
// call), from the configured sender. It returns sip.EventSent when the
// carrier took the message, else why not.
func (d *Dialer) SendText(ctx context.Context, number, body string) sip.Event {
	t, err := d.nextTrunk(ctx, d.textTimeout)
	if err != nil {
		return sip.Event{Kind: sip.EventFailed, Reason: err.Error(), At: time.Now()}
	}
	return d.caller.SendText(ctx, sip.Text{Trunk: t.Trunk, From: d.textFrom, To: number, Body: body}, d.textTimeout)
}

// Relay passes a text on to number from callerID (a masking proxy) over
// the next trunk in turn, within its calls-per-second cap.
func (d *Dialer) Relay(ctx context.Context, callerID, number, body string) sip.Event {
	t, err := d.nextTrunk(ctx, d.textTimeout)
	if err != nil {
		return sip.Event{Kind: sip.EventFailed, Reason: err.Error(), At: time.Now()}
	}
	return d.caller.SendText(ctx, sip.Text{Trunk: t.Trunk, From: callerID, To: number, Body: body}, d.textTimeout)
}

// nextTrunk takes the next trunk in turn and waits, up to wait, for its
// calls-per-second cap to let one more call or text through; it fails with
// a reason naming the trunk when the cap does not within wait (or ctx
// ends).
func (d *Dialer) nextTrunk(ctx context.Context, wait time.Duration) (trunk, error) {
	t := d.trunks[int(d.next.Add(1)-1)%len(d.trunks)]
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := t.limit.Wait(wctx); err != nil {
		return t, fmt.Errorf("trunk %q: over max_cps", t.Name)
	}
	return t, nil
}

// mediaPort is the RTP port a flash call's offer names. A flash call is
// never meant to be answered; if a 200 OK wins the race with the CANCEL the
// call is torn down at once, so nothing listens there.
const mediaPort = 16384

// claimer adapts the store's create-if-absent to the pool's Leaser.
type claimer struct{ c Claimer }

func (c claimer) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	err := c.c.Create(ctx, key, []byte{'1'}, ttl)
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

// Bridge calls number from callerID over the next trunk in turn, within
// that trunk's calls-per-second cap, offering offer (the SDP of the call
// being bridged, so that the audio flows between the two carriers), and
// waits for the answer within timeout. Answered, it returns the dialog,
// whose RemoteSDP answers offer; otherwise nil and the final event.
// Cancelling ctx before the answer hangs up.
func (d *Dialer) Bridge(ctx context.Context, callerID, number string, offer []byte, timeout time.Duration) (*sip.Dialog, sip.Event) {
	t, err := d.nextTrunk(ctx, timeout)
	if err != nil {
		return nil, sip.Event{Kind: sip.EventFailed, Reason: err.Error(), At: time.Now()}
	}
	return d.caller.Place(ctx, sip.Call{Trunk: t.Trunk, From: callerID, To: number, SDP: offer}, sip.PlaceOptions{Timeout: timeout}, nil)
}
