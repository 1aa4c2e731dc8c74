package sip

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Ring is an INVITE that a handset received: what a phone's screen shows.
type Ring struct {
	// CallerID is the From user (the number the phone displays).
	CallerID string
	// To is the number called.
	To     string
	Source netip.AddrPort
	// Transport is how the INVITE came: "UDP", "TCP" or "TLS".
	Transport string
	At        time.Time
}

// TextMessage is a text (SIP MESSAGE) that a handset received: what the
// phone's messages app shows.
type TextMessage struct {
	From, To string
	Body     string
	At       time.Time
}

// How a ring went, as ServeHandset and ServeAnsweringHandset report it.
const (
	RingRinging   = "ringing"   // 180 sent
	RingCancelled = "cancelled" // the caller sent CANCEL
	RingTimeout   = "timeout"   // nobody cancelled: 480 sent
	RingRejected  = "rejected"  // the answer could not be made: 488 sent
	RingAnswered  = "answered"  // 200 OK sent and ACKed
	RingHungUp    = "hungup"    // an answered call is over
)

// HandsetAnswer is how an answering handset takes a call: the SDP answer
// to the caller's offer, and talk, run once the caller's ACK arrives; the
// call is hung up (BYE) when talk returns, unless the caller has hung up
// first (talk's ctx then ends). An error rejects the call with 488.
type HandsetAnswer func(r Ring, offer []byte) (answer []byte, talk func(ctx context.Context, d *Dialog), err error)

// ServeTexts makes the endpoint take text messages (SIP MESSAGE) as a
// phone does, for demos and tests: each is answered 200 OK and passed to
// report.
func (e *Endpoint) ServeTexts(report func(TextMessage)) {
	var h sipgo.RequestHandler = func(req *sip.Request, tx sip.ServerTransaction) {
		m := TextMessage{To: req.Recipient.User, Body: string(req.Body()), At: time.Now()}
		if f := req.From(); f != nil {
			m.From = f.Address.User
		}
		e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		report(m)
	}
	e.onMessage.Store(&h)
}

// ServeHandset makes the endpoint act as a user's phone behind a carrier,
// for demos and tests: every INVITE gets 180 Ringing and rings until the
// caller CANCELs it (the transaction layer answers 200 and 487) or ringFor
// passes (480 Temporarily Unavailable). It is never answered. report, if
// not nil, is called when a ring starts and when it ends.
func (e *Endpoint) ServeHandset(ringFor time.Duration, report func(r Ring, what string)) {
	e.setInviteHandler(func(req *sip.Request, tx sip.ServerTransaction) {
		e.ring(req, tx, ringFor, nil, report)
	})
}

// ServeAnsweringHandset makes the endpoint a phone that answers: every
// INVITE gets 180 Ringing and, unless the caller cancels first, is
// answered after answerAfter with what answer makes of the caller's offer
// (a flash call, cancelled on its first ring, is never answered). report,
// if not nil, is called when a ring starts, when the call is answered and
// when it ends.
func (e *Endpoint) ServeAnsweringHandset(answerAfter time.Duration, answer HandsetAnswer, report func(r Ring, what string)) {
	e.setInviteHandler(func(req *sip.Request, tx sip.ServerTransaction) {
		e.ring(req, tx, answerAfter, answer, report)
	})
}

// ring rings for req, then rejects it (answer nil) or answers it.
func (e *Endpoint) ring(req *sip.Request, tx sip.ServerTransaction, after time.Duration, answer HandsetAnswer, report func(r Ring, what string)) {
	if report == nil {
		report = func(Ring, string) {}
	}
	src, _ := netip.ParseAddrPort(req.Source())
	r := Ring{To: req.Recipient.User, Source: src, Transport: strings.ToUpper(req.Transport()), At: time.Now()}
	if f := req.From(); f != nil {
		r.CallerID = f.Address.User
	}
	ringing := sip.NewResponseFromRequest(req, sip.StatusRinging, "Ringing", nil)
	tag, _ := ringing.To().Params.Get("tag")
	cancelled := make(chan struct{})
	tx.OnCancel(func(*sip.Request) { close(cancelled) })
	e.respond(tx, ringing)
	report(r, RingRinging)
	t := time.NewTimer(after)
	defer t.Stop()
	select {
	case <-cancelled:
		// Reported once the transaction is over (the 487 sent and ACKed),
		// so that a handset that exits on it does not leave the caller
		// without its 487.
		<-tx.Done()
		report(r, RingCancelled)
		return
	case <-tx.Done():
		report(r, RingCancelled)
		return
	case <-t.C:
	}
	final := func(status int, reason string) {
		res := sip.NewResponseFromRequest(req, status, reason, nil)
		res.To().Params.Add("tag", tag)
		e.respond(tx, res)
	}
	if answer == nil {
		final(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		report(r, RingTimeout)
		return
	}
	sdp, talk, err := answer(r, req.Body())
	if err != nil {
		e.log.Debug("sip: handset cannot answer", "err", err)
		final(sip.StatusNotAcceptableHere, "Not Acceptable Here")
		report(r, RingRejected)
		return
	}
	answered := false
	e.answer(context.Background(), req, tx, tag, InboundDecision{
		AnswerSDP: sdp,
		Answer: func(ctx context.Context, d *Dialog) {
			answered = true
			report(r, RingAnswered)
			talk(ctx, d)
		},
	})
	if answered {
		report(r, RingHungUp)
	} else {
		report(r, RingCancelled)
	}
}
