package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Text is a text message to a phone, carried to the trunk in a SIP MESSAGE
// request (RFC 3428) for the carrier to deliver as an SMS.
type Text struct {
	Trunk Trunk
	// From is the sender shown on the phone, E.164.
	From string
	// To is the phone's number, E.164.
	To string
	// Body is the message, sent as text/plain in UTF-8.
	Body string
}

// maxTextBytes bounds a MESSAGE body: RFC 3428 §8 keeps MESSAGE requests
// under 1300 bytes in all, so that they are not fragmented over UDP.
const maxTextBytes = 900

// SendText sends m and waits for the carrier's final response, within
// timeout (0 means 32 s, the length of a non-INVITE transaction). It
// returns an EventSent with the 2xx status when the carrier took the
// message, EventFailed with the status or the error otherwise, or
// EventTimeout when no final response came. A 401 or 407 is answered with
// the trunk's credentials. Cancelling ctx abandons the wait (the message
// may still be delivered).
func (e *Endpoint) SendText(ctx context.Context, m Text, timeout time.Duration) Event {
	done := func(ev Event) Event {
		ev.At, ev.Trunk = time.Now(), m.Trunk.Name
		return ev
	}
	req, err := e.newMessage(m)
	if err != nil {
		return done(Event{Kind: EventFailed, Reason: err.Error()})
	}
	if timeout <= 0 {
		timeout = 64 * sip.T1
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tx, err := e.client.TransactionRequest(ctx, req, noBuild)
	if err != nil {
		return done(Event{Kind: EventFailed, Reason: fmt.Sprintf("trunk %q: send MESSAGE: %v", m.Trunk.Name, err)})
	}
	defer func() { tx.Terminate() }()
	authTries := 0
	for {
		select {
		case res := <-tx.Responses():
			switch {
			case res.IsProvisional():
			case res.IsSuccess():
				return done(Event{Kind: EventSent, Status: res.StatusCode})
			case (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) &&
				m.Trunk.Password != "" && authTries < maxAuthTries:
				authTries++
				tx.Terminate()
				if err = e.authorize(req, res, m.Trunk.Username, m.Trunk.Password); err == nil {
					tx, err = e.client.TransactionRequest(ctx, req, noBuild)
				}
				if err != nil {
					return done(Event{Kind: EventFailed, Status: res.StatusCode, Reason: fmt.Sprintf("trunk %q: digest auth: %v", m.Trunk.Name, err)})
				}
			default:
				return done(Event{Kind: EventFailed, Status: res.StatusCode, Reason: res.Reason})
			}
		case <-tx.Done():
			if err := tx.Err(); err != nil && !errors.Is(err, sip.ErrTransactionTimeout) {
				return done(Event{Kind: EventFailed, Reason: err.Error()})
			}
			return done(Event{Kind: EventTimeout, Reason: "no final response"})
		case <-ctx.Done():
			return done(Event{Kind: EventTimeout, Reason: "no final response"})
		}
	}
}

// newMessage builds the MESSAGE request for m: Request-URI and To are the
// phone's number at the trunk, From the sender at this endpoint, as in an
// INVITE.
func (e *Endpoint) newMessage(m Text) (*sip.Request, error) {
	if !isE164(m.From) || !isE164(m.To) {
		return nil, fmt.Errorf("trunk %q: sender and recipient must be E.164 numbers", m.Trunk.Name)
	}
	if m.Body == "" || len(m.Body) > maxTextBytes {
		return nil, fmt.Errorf("trunk %q: a text must hold 1 to %d bytes", m.Trunk.Name, maxTextBytes)
	}
	req, domain, err := m.Trunk.newRequest(sip.MESSAGE, m.To)
	if err != nil {
		return nil, err
	}
	from := &sip.FromHeader{
		Address: sip.Uri{Scheme: "sip", User: m.From, Host: e.public.String(), UriParams: sip.HeaderParams{{K: "user", V: "phone"}}},
		Params:  sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}},
	}
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: m.To, Host: domain, UriParams: sip.HeaderParams{{K: "user", V: "phone"}}}}
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(sip.NewHeader("User-Agent", e.userAgent))
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain;charset=UTF-8"))
	req.SetBody([]byte(m.Body))
	if err := e.build(req); err != nil {
		return nil, fmt.Errorf("trunk %q: %w", m.Trunk.Name, err)
	}
	return req, nil
}
