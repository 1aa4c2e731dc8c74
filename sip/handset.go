package sip

import (
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

// How a ring ended, as ServeHandset reports it.
const (
	RingRinging   = "ringing"   // 180 sent
	RingCancelled = "cancelled" // the caller sent CANCEL
	RingTimeout   = "timeout"   // nobody cancelled: 480 sent
)

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
		if report != nil {
			report(r, RingRinging)
		}
		t := time.NewTimer(ringFor)
		defer t.Stop()
		select {
		case <-cancelled:
			if report != nil {
				report(r, RingCancelled)
			}
			<-tx.Done()
		case <-tx.Done():
			if report != nil {
				report(r, RingCancelled)
			}
		case <-t.C:
			res := sip.NewResponseFromRequest(req, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil)
			res.To().Params.Add("tag", tag)
			e.respond(tx, res)
			if report != nil {
				report(r, RingTimeout)
			}
		}
	})
}
