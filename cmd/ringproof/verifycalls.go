package main

import (
	"context"
	"strings"

	"github.com/ringproof/ringproof/dialer"
	"github.com/ringproof/ringproof/masking"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/sip"
	"github.com/ringproof/ringproof/verify"
)

// verify speaks no SIP: it names the calls of verifications in its own
// words (verify/call.go). verifyDialer and verifyInbound translate between
// those and the dialer's and the SIP endpoint's.

// verifyDialer is the dialer as verify uses it (verify.Dialer).
type verifyDialer struct{ d *dialer.Dialer }

func (v verifyDialer) DrawCallerID(number, numberKey string) (verify.CallerIDLease, error) {
	l, err := v.d.DrawCallerID(number, numberKey)
	return verify.CallerIDLease{CallerID: l.CallerID, Key: l.Key, TTL: l.TTL}, err
}

func (v verifyDialer) Flash(ctx context.Context, callerID, number string, report func(verify.CallEvent)) verify.CallEvent {
	return callEvent(v.d.Flash(ctx, callerID, number, reportCalls(report)))
}

func (v verifyDialer) Call(ctx context.Context, number, locale string, report func(verify.CallEvent)) (verify.Conversation, verify.CallEvent) {
	conv, ev := v.d.Call(ctx, number, locale, reportCalls(report))
	if conv == nil {
		return nil, callEvent(ev) // not a nil *dialer.Conversation in an interface
	}
	return conv, callEvent(ev)
}

func (v verifyDialer) SendText(ctx context.Context, number, body string) verify.CallEvent {
	return callEvent(v.d.SendText(ctx, number, body))
}

// reportCalls passes a call's steps on to report in verify's words.
func reportCalls(report func(verify.CallEvent)) func(sip.Event) {
	if report == nil {
		return nil
	}
	return func(ev sip.Event) { report(callEvent(ev)) }
}

// callKinds names each step of a call as verify does. The words are the
// same: the API shows them as the events' types.
var callKinds = map[sip.EventKind]verify.CallEventKind{
	sip.EventDialing:     verify.CallDialing,
	sip.EventRinging:     verify.CallRinging,
	sip.EventAnswered:    verify.CallAnswered,
	sip.EventCancelled:   verify.CallCancelled,
	sip.EventFailed:      verify.CallFailed,
	sip.EventTimeout:     verify.CallTimeout,
	sip.EventHungUp:      verify.CallHungUp,
	sip.EventSent:        verify.CallSent,
	dialer.EventFailover: verify.CallFailover,
}

// callEvent is ev in verify's words; a call no trunk could take says so
// with verify.ReasonNoRoute.
func callEvent(ev sip.Event) verify.CallEvent {
	kind, ok := callKinds[ev.Kind]
	if !ok {
		kind = verify.CallEventKind(ev.Kind)
	}
	out := verify.CallEvent{Kind: kind, Status: ev.Status, Reason: ev.Reason, At: ev.At, Trunk: ev.Trunk}
	if dialer.IsNoRoute(ev) {
		out.Reason = verify.ReasonNoRoute + strings.TrimPrefix(ev.Reason, dialer.ReasonNoRoute)
	}
	return out
}

// verifyInbound hands a call to a dial number to svc in verify's words and
// carries out its answer: rejected, or answered through d with svc's
// method talking on the conversation.
func verifyInbound(ctx context.Context, svc *verify.Service, d *dialer.Dialer, in *sip.Inbound) sip.InboundDecision {
	a := svc.HandleInbound(ctx, verify.InboundCall{
		Trunk: in.Trunk, Dialed: in.Dialed, CallerID: in.CallerID, Anonymous: in.Anonymous,
		Untrusted: in.Untrusted, Verstat: in.Verstat, Attestation: in.Attestation,
	})
	if a.Talk == nil {
		return sip.InboundDecision{Status: a.Status, RingFor: a.RingFor}
	}
	return d.Answer(ctx, in.Offer, a.Locale, func(ctx context.Context, conv *dialer.Conversation) { a.Talk(ctx, conv) })
}

// numberKeyPlaces lists the store keys, besides records and history, named
// by number key: verify's, the dialer's caller-ID leases (written in a flash
// call's verification transaction) and masking's.
func numberKeyPlaces() []privacy.Place {
	places := append(verify.NumberKeyPlaces(), privacy.Place{Kind: "caller_id_leases", Prefix: dialer.LeasePrefix})
	return append(places, masking.Places()...)
}
