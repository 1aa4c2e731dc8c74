package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Call describes one outbound call.
type Call struct {
	Trunk Trunk
	// From is the caller ID presented, E.164 with '+'. It goes in From and
	// P-Asserted-Identity.
	From string
	// To is the called number, E.164 with '+'.
	To string
	// SDP is the offer carried by the INVITE.
	SDP []byte
	// AssertedID, when set, goes in P-Asserted-Identity instead of From.
	AssertedID string
	// Anonymous withholds the caller ID: an anonymous From and Privacy: id
	// (RFC 3323), with the real identity only in P-Asserted-Identity.
	Anonymous bool
}

// FlashOptions shape a flash call.
type FlashOptions struct {
	// RingFor is how long to let the phone ring after the first 180/183
	// before the CANCEL; 0 cancels at once.
	RingFor time.Duration
	// Timeout ends a call that has not rung by then: CANCEL if any
	// provisional response came (RFC 3261 §9.1 forbids it earlier),
	// otherwise the transaction is abandoned. 0 means 30 s.
	Timeout time.Duration
	// KeepRinging places an ordinary call instead: no CANCEL on ringing;
	// it waits for the final response, and Timeout bounds the whole call.
	KeepRinging bool
	// NoResponse, if positive, abandons a call that has had no response
	// at all (not even 100 Trying) by then: it ends with EventTimeout,
	// reason "no response", so that the caller may try another trunk.
	NoResponse time.Duration
}

// maxAuthTries bounds digest retries, so a carrier that keeps challenging
// cannot loop a call.
const maxAuthTries = 2

// cancelWait bounds the wait for the INVITE's final response after a CANCEL
// (RFC 3261 §9.1: 64*T1).
const cancelWait = 32 * time.Second

// Flash places c and hangs it up as soon as it rings. report, if not nil,
// receives every step of the call in order from Flash's goroutine, and must
// return quickly; the CANCEL is sent before the ringing step is reported.
// Cancelling ctx hangs the call up (CANCEL once a provisional response has
// arrived). Flash returns the call's final event; it never returns before
// the call is over or abandoned.
func (e *Endpoint) Flash(ctx context.Context, c Call, o FlashOptions, report func(Event)) Event {
	ev, _ := e.dial(ctx, c, o, false, report)
	return ev
}

// PlaceOptions shape a call that is meant to be answered.
type PlaceOptions struct {
	// Timeout bounds the wait for an answer (ringing included); then the
	// call is cancelled. 0 means 30 s.
	Timeout time.Duration
	// NoResponse is as in FlashOptions.
	NoResponse time.Duration
}

// Place calls c.To and waits for the answer. Answered, it returns the call's
// Dialog and an EventAnswered; otherwise no Dialog and the final event
// (failed, timeout, cancelled). report receives every step, as for Flash.
// Cancelling ctx before the answer hangs up (CANCEL); after the answer, end
// the call with Dialog.Hangup.
func (e *Endpoint) Place(ctx context.Context, c Call, o PlaceOptions, report func(Event)) (*Dialog, Event) {
	ev, d := e.dial(ctx, c, FlashOptions{KeepRinging: true, Timeout: o.Timeout, NoResponse: o.NoResponse}, true, report)
	return d, ev
}

// dial runs one outbound INVITE transaction to its end. With answer set, a
// 2xx is ACKed and kept as a Dialog; otherwise it is ACKed and BYEd at once.
func (e *Endpoint) dial(ctx context.Context, c Call, o FlashOptions, answer bool, report func(Event)) (Event, *Dialog) {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	var provisionalAt time.Time
	emit := func(ev Event) Event {
		ev.At, ev.Trunk, ev.Provisional = time.Now(), c.Trunk.Name, provisionalAt
		if report != nil {
			report(ev)
		}
		return ev
	}
	invite, err := e.newInvite(c)
	if err != nil {
		emit(Event{Kind: EventDialing})
		return emit(Event{Kind: EventFailed, Reason: err.Error()}), nil
	}
	// A flash call over UDP that cancels on the first ring has its CANCEL
	// ready before the INVITE leaves, for the read path to send.
	fastPath := !answer && !o.KeepRinging && o.RingFor <= 0
	f := flash{e: e, invite: invite}
	if fastPath {
		f.armed = e.fast.arm(invite)
	}
	defer func() { e.fast.disarm(f.armed) }()
	// The requests of this call outlive ctx: cancelling ctx means "hang up",
	// which takes a CANCEL and waiting for its answer.
	bg := context.WithoutCancel(ctx)
	tx, err := e.client.TransactionRequest(bg, invite, noBuild)
	if err != nil {
		emit(Event{Kind: EventDialing})
		return emit(Event{Kind: EventFailed, Reason: fmt.Sprintf("trunk %q: send INVITE: %v", c.Trunk.Name, err)}), nil
	}
	defer func() { tx.Terminate() }()
	emit(Event{Kind: EventDialing})

	timeout := time.NewTimer(o.Timeout)
	defer timeout.Stop()
	var noResponse <-chan time.Time
	if o.NoResponse > 0 {
		t := time.NewTimer(o.NoResponse)
		defer t.Stop()
		noResponse = t.C
	}
	var (
		ringTimer   <-chan time.Time
		cancelTimer <-chan time.Time
		hangup      = ctx.Done()
		hangupAsked bool
		timedOut    bool
		rang        bool
		provisional bool
		authTries   int
		why         string // reason the CANCEL was sent
	)
	cancelNow := func(reason string) {
		if f.cancelled || !provisional {
			return
		}
		why = reason
		f.cancel(bg)
		cancelTimer = time.After(cancelWait)
		if f.armed != nil {
			f.retransmit = time.NewTimer(sip.T1)
			f.retransmitC = f.retransmit.C
		}
	}
	defer f.stopRetransmit()
	// fastRang catches up with a ring the read path has acted on: it sent
	// the CANCEL, and the transaction may pass up the final response
	// before the 180 (or never pass up the 180).
	fastRang := func() {
		if f.armed == nil || f.cancelled {
			return
		}
		if status := int(f.armed.ring.Load()); status != 0 {
			provisional = true
			if provisionalAt.IsZero() { // the transaction passed up no 1xx yet
				provisionalAt = time.Now()
			}
			if !rang {
				rang = true
				emit(Event{Kind: EventRinging, Status: status})
			}
			cancelNow("rang")
		}
	}
	for {
		select {
		case res := <-tx.Responses():
			noResponse = nil
			if res.IsProvisional() && provisionalAt.IsZero() {
				provisionalAt = time.Now()
			}
			fastRang()
			switch {
			case res.IsProvisional():
				provisional = true
				if (res.StatusCode == sip.StatusRinging || res.StatusCode == sip.StatusSessionInProgress) && !rang {
					rang = true
					switch {
					case o.KeepRinging:
					case o.RingFor <= 0:
						cancelNow("rang")
					case !f.cancelled:
						ringTimer = time.After(o.RingFor)
					}
					emit(Event{Kind: EventRinging, Status: res.StatusCode})
				}
				switch {
				case hangupAsked:
					cancelNow("hangup")
				case timedOut:
					cancelNow("timeout")
				}
			case res.IsSuccess() && answer && !f.cancelled && !hangupAsked:
				d, err := e.confirm(tx, invite, res)
				if err != nil {
					return emit(Event{Kind: EventFailed, Status: res.StatusCode, Reason: err.Error()}), nil
				}
				return emit(Event{Kind: EventAnswered, Status: res.StatusCode}), d
			case res.IsSuccess():
				emit(Event{Kind: EventAnswered, Status: res.StatusCode})
				byeCtx, cancel := context.WithTimeout(bg, cancelWait)
				err := e.ackAndBye(byeCtx, tx, invite, res)
				cancel()
				if err != nil {
					return emit(Event{Kind: EventHungUp, Status: res.StatusCode, Reason: err.Error()}), nil
				}
				return emit(Event{Kind: EventHungUp, Status: res.StatusCode}), nil
			case (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) &&
				c.Trunk.Password != "" && authTries < maxAuthTries && !f.cancelled && !hangupAsked && !timedOut:
				authTries++
				tx.Terminate()
				e.fast.disarm(f.armed)
				f.armed = nil
				if err = e.authorize(invite, res, c.Trunk.Username, c.Trunk.Password); err == nil {
					tx, err = e.client.TransactionRequest(bg, invite, noBuild)
				}
				if fastPath && err == nil {
					f.armed = e.fast.arm(invite) // a new branch and CSeq
				}
				if err != nil {
					return emit(Event{Kind: EventFailed, Status: res.StatusCode, Reason: fmt.Sprintf("trunk %q: digest auth: %v", c.Trunk.Name, err)}), nil
				}
				provisional = false
			default:
				switch {
				case timedOut:
					return emit(Event{Kind: EventTimeout, Status: res.StatusCode}), nil
				case f.cancelled:
					return emit(Event{Kind: EventCancelled, Status: res.StatusCode, Reason: why}), nil
				default:
					return emit(Event{Kind: EventFailed, Status: res.StatusCode, Reason: res.Reason}), nil
				}
			}
		case <-tx.Done():
			fastRang()
			reason := "transaction ended"
			if err := tx.Err(); err != nil {
				reason = err.Error()
			}
			switch {
			case f.cancelled:
				return emit(Event{Kind: EventCancelled, Reason: why}), nil
			case timedOut || errors.Is(tx.Err(), sip.ErrTransactionTimeout):
				return emit(Event{Kind: EventTimeout, Reason: reason}), nil
			default:
				return emit(Event{Kind: EventFailed, Reason: reason}), nil
			}
		case <-f.retransmitC:
			f.retransmitCancel()
		case <-f.answered():
			f.stopRetransmit()
		case <-noResponse:
			noResponse = nil
			if fastRang(); !provisional {
				return emit(Event{Kind: EventTimeout, Reason: "no response"}), nil
			}
		case <-ringTimer:
			ringTimer = nil
			cancelNow("rang")
		case <-timeout.C:
			if rang && !o.KeepRinging {
				continue
			}
			timedOut = true
			if !provisional {
				// Nothing came back at all: no CANCEL is allowed, so
				// abandon the transaction.
				return emit(Event{Kind: EventTimeout, Reason: "no response"}), nil
			}
			cancelNow("timeout")
		case <-hangup:
			hangup = nil
			hangupAsked = true
			cancelNow("hangup")
		case <-cancelTimer:
			// RFC 3261 §9.1: no final response 64*T1 after the CANCEL.
			if timedOut {
				return emit(Event{Kind: EventTimeout, Reason: "no final response to CANCEL"}), nil
			}
			return emit(Event{Kind: EventCancelled, Reason: why}), nil
		}
	}
}

// flash holds the CANCEL state of one flash call.
type flash struct {
	e         *Endpoint
	invite    *sip.Request
	cancelled bool

	// armed is the CANCEL prepared for the read path (fastcancel.go), nil
	// if the call does not use it; the call's goroutine then retransmits
	// it itself until it is answered.
	armed       *armedCancel
	retransmit  *time.Timer
	retransmitC <-chan time.Time
	interval    time.Duration
}

// cancel sends the CANCEL for the current INVITE: through the armed one if
// there is one (unless the read path sent it already), otherwise in a
// client transaction in the background, whose 200 arrives on its own
// transaction while the INVITE's 487 is read by Flash.
func (f *flash) cancel(ctx context.Context) {
	f.cancelled = true
	if f.armed != nil {
		f.e.fast.send(f.armed)
		f.interval = sip.T1
		return
	}
	req := newCancel(f.invite)
	tx, err := f.e.client.TransactionRequest(ctx, req, noBuild)
	if err != nil {
		f.e.log.Warn("sip: send CANCEL failed", "err", err)
		return
	}
	go func() {
		defer tx.Terminate()
		for {
			select {
			case res := <-tx.Responses():
				if !res.IsProvisional() {
					return
				}
			case <-tx.Done():
				return
			}
		}
	}()
}

// retransmitCancel resends the armed CANCEL over UDP on RFC 3261's Timer E
// schedule (T1, doubling up to T2) until it is answered.
func (f *flash) retransmitCancel() {
	f.e.fast.write(f.armed)
	f.interval = min(2*f.interval, sip.T2)
	f.retransmit.Reset(f.interval)
}

// answered is closed once the armed CANCEL has its final response; nil
// (never ready) while there is nothing to wait for.
func (f *flash) answered() <-chan struct{} {
	if f.armed == nil || f.retransmitC == nil {
		return nil
	}
	return f.armed.answered
}

// stopRetransmit ends the armed CANCEL's retransmissions.
func (f *flash) stopRetransmit() {
	if f.retransmit != nil {
		f.retransmit.Stop()
	}
	f.retransmitC = nil
}

// newInvite builds the INVITE for c.
func (e *Endpoint) newInvite(c Call) (*sip.Request, error) {
	if !isE164(c.From) || !isE164(c.To) || (c.AssertedID != "" && !isE164(c.AssertedID)) {
		return nil, fmt.Errorf("trunk %q: caller and callee must be E.164 numbers", c.Trunk.Name)
	}
	req, domain, err := c.Trunk.newRequest(sip.INVITE, c.To)
	if err != nil {
		return nil, err
	}
	transport := req.Transport()

	me := e.public.String()
	if e.public.Is6() {
		me = "[" + me + "]"
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: c.From, Host: e.public.String(), UriParams: sip.HeaderParams{{K: "user", V: "phone"}}}}
	if c.Anonymous {
		from = &sip.FromHeader{DisplayName: "Anonymous", Address: sip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}}
	}
	from.Params = sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}}
	asserted := c.From
	if c.AssertedID != "" {
		asserted = c.AssertedID
	}
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: c.To, Host: domain, UriParams: sip.HeaderParams{{K: "user", V: "phone"}}}}
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(sip.NewHeader("P-Asserted-Identity", fmt.Sprintf("<sip:%s@%s;user=phone>", asserted, me)))
	if c.Anonymous {
		req.AppendHeader(sip.NewHeader("Privacy", "id"))
	}
	req.AppendHeader(e.contact(from.Address.User, transport))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"))
	req.AppendHeader(sip.NewHeader("User-Agent", e.userAgent))
	if len(c.SDP) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	req.SetBody(c.SDP)
	if err := e.build(req); err != nil {
		return nil, fmt.Errorf("trunk %q: %w", c.Trunk.Name, err)
	}
	return req, nil
}

// isE164 reports whether s is '+' and 8 to 15 digits.
func isE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
