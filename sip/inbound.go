package sip

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// InboundTrunk says where a trunk's inbound calls may come from and how far
// their caller ID can be trusted.
type InboundTrunk struct {
	Name string
	// Prefixes are the source addresses allowed to send INVITEs.
	Prefixes []netip.Prefix
	// TrustPAI takes the caller ID from P-Asserted-Identity.
	TrustPAI bool
	// RequireVerstat and MinAttestation are the STIR/SHAKEN results a
	// caller ID needs to prove a number (stir.go); see
	// Inbound.Untrusted.
	RequireVerstat bool
	MinAttestation string
	// Allow, if set, allows more sources than Prefixes (the trunk's
	// registrar while ringproof is registered there).
	Allow func(netip.Addr) bool
}

// Inbound is an INVITE that reached ringproof from a known trunk.
type Inbound struct {
	// Trunk is the name of the trunk whose addresses matched the source.
	Trunk  string
	Source netip.AddrPort
	// Dialed is the user part of the Request-URI: the number called.
	Dialed string
	// CallerID is the user part of the identity the call asserts: the
	// P-Asserted-Identity on a trusted trunk, else Remote-Party-ID, else
	// From. Empty when the caller withheld it.
	CallerID string
	// CallerIDSource is "pai", "rpid" or "from".
	CallerIDSource string
	// Anonymous is set when the caller asked for privacy (Privacy: id,
	// RPID privacy=full, or an anonymous From); CallerID is then empty.
	Anonymous bool
	// Verstat is the carrier's STIR/SHAKEN verification of the caller ID
	// (VerstatPassed...), Attestation the originator's level (A, B, C);
	// empty when the call carries none (stir.go).
	Verstat, Attestation string
	// Untrusted says why the trunk's require_verstat or min_attestation
	// does not let this caller ID prove a number ("verstat",
	// "attestation"); empty when it may.
	Untrusted string
	// Offer is the INVITE's SDP offer, for answering the call.
	Offer []byte
}

// InboundDecision is how to end an inbound call: rejected unanswered with
// Status, or, when Answer is set, answered with AnswerSDP.
type InboundDecision struct {
	// Status is the final response, 400 to 699 (603 Decline by default),
	// when the call is not answered.
	Status int
	// RingFor is how long to ring after the 180 before the final response.
	RingFor time.Duration
	// AnswerSDP, with Answer, answers the call (200 OK with this SDP).
	AnswerSDP []byte
	// Answer runs the answered call once the caller's ACK arrives; the
	// call is hung up (BYE) when it returns, unless the caller already has.
	Answer func(ctx context.Context, d *Dialog)
	// Unanswered, if set with Answer, runs instead of Answer when the call
	// is not answered after all: the caller cancelled, the 200 OK could
	// not be sent, or no ACK came. It releases what the decision holds.
	Unanswered func()
}

func (dec InboundDecision) unanswered() {
	if dec.Unanswered != nil {
		dec.Unanswered()
	}
}

// InboundHandler decides the fate of an inbound call. It runs while the
// caller hears ringing and must return promptly; ctx ends if the caller
// cancels.
type InboundHandler func(ctx context.Context, in *Inbound) InboundDecision

// InboundStats counts inbound INVITEs by outcome.
type InboundStats struct {
	Forbidden uint64 // from an address no trunk allows: 403
	Handled   uint64 // passed to the handler
	Cancelled uint64 // the caller hung up before the final response
	Malformed uint64 // requests of any method refused with 400 (wellformed.go)
	// Verstat and Attestation count inbound calls by their STIR/SHAKEN
	// results (stir.go): verstat passed, failed, no_validation, other,
	// none; attestation A, B, C, none.
	Verstat, Attestation map[string]uint64
}

type inboundCounters struct {
	forbidden, handled, cancelled, malformed atomic.Uint64
	stir                                     stirCounters
}

// ServeInbound routes inbound INVITEs: a source outside every trunk's
// prefixes gets 403 Forbidden; any other is rung (180) and ended with the
// final response h decides on, never answered. Until it is called the
// endpoint answers INVITEs 480.
func (e *Endpoint) ServeInbound(trunks []InboundTrunk, h InboundHandler) {
	e.setInviteHandler(func(req *sip.Request, tx sip.ServerTransaction) {
		e.inbound(trunks, h, req, tx)
	})
}

// InboundTextHandler decides an inbound text (SIP MESSAGE): it returns the
// final status to answer it with (202 when it was passed on).
type InboundTextHandler func(ctx context.Context, in *Inbound, body []byte) int

// ServeInboundTexts routes inbound MESSAGE requests as ServeInbound routes
// INVITEs: a source outside every trunk's prefixes gets 403, a body that is
// not text/plain 415, any other text h's status.
func (e *Endpoint) ServeInboundTexts(trunks []InboundTrunk, h InboundTextHandler) {
	var handler sipgo.RequestHandler = func(req *sip.Request, tx sip.ServerTransaction) {
		trunk, src := e.fromTrunk(trunks, req, tx)
		if trunk == nil {
			return
		}
		if ct := req.ContentType(); ct == nil || !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct.Value())), "text/plain") {
			e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", nil))
			return
		}
		in := parseInbound(req, trunk)
		in.Source, in.Offer = src, nil
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		status := h(ctx, in, req.Body())
		if status < 200 || status > 699 {
			status = sip.StatusInternalServerError
		}
		e.respond(tx, sip.NewResponseFromRequest(req, status, reasonPhrase(status), nil))
	}
	e.onMessage.Store(&handler)
}

// InboundStats returns the inbound counters so far.
func (e *Endpoint) InboundStats() InboundStats {
	return InboundStats{
		Forbidden:   e.counters.forbidden.Load(),
		Handled:     e.counters.handled.Load(),
		Cancelled:   e.counters.cancelled.Load(),
		Malformed:   e.counters.malformed.Load(),
		Verstat:     e.counters.stir.verstats(),
		Attestation: e.counters.stir.attestations(),
	}
}

// fromTrunk returns the trunk whose prefixes hold req's source, and the
// source; for a source no trunk allows it answers 403, counts it, and
// returns nil.
func (e *Endpoint) fromTrunk(trunks []InboundTrunk, req *sip.Request, tx sip.ServerTransaction) (*InboundTrunk, netip.AddrPort) {
	src, _ := netip.ParseAddrPort(req.Source())
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	trunk := matchTrunk(trunks, src.Addr())
	if trunk == nil {
		e.counters.forbidden.Add(1)
		e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
	}
	return trunk, src
}

// inbound handles one INVITE and returns only once its final response is
// sent (sipgo ends the transaction when the handler returns).
func (e *Endpoint) inbound(trunks []InboundTrunk, h InboundHandler, req *sip.Request, tx sip.ServerTransaction) {
	trunk, src := e.fromTrunk(trunks, req, tx)
	if trunk == nil {
		return
	}
	e.counters.handled.Add(1)
	in := parseInbound(req, trunk)
	in.Source = src
	e.counters.stir.count(in)

	ringing := sip.NewResponseFromRequest(req, sip.StatusRinging, "Ringing", nil)
	tag, _ := ringing.To().Params.Get("tag")
	e.respond(tx, ringing)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tx.OnCancel(func(*sip.Request) { cancel() })
	dec := h(ctx, in)
	if dec.Status < 400 || dec.Status > 699 {
		dec.Status = 603
	}
	if dec.RingFor > 0 {
		t := time.NewTimer(dec.RingFor)
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-tx.Done():
		}
		t.Stop()
	}
	if ctx.Err() != nil {
		// The caller hung up: the transaction layer answered the CANCEL
		// with 200 and the INVITE with 487.
		e.counters.cancelled.Add(1)
		dec.unanswered()
		return
	}
	if dec.Answer != nil && len(dec.AnswerSDP) > 0 {
		e.answer(ctx, req, tx, tag, dec)
		return
	}
	final := sip.NewResponseFromRequest(req, dec.Status, reasonPhrase(dec.Status), nil)
	final.To().Params.Add("tag", tag)
	e.respond(tx, final)
}

// answer sends 200 OK with the decision's SDP, waits for the ACK, and runs
// the call.
func (e *Endpoint) answer(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, tag string, dec InboundDecision) {
	ok := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", dec.AnswerSDP)
	ok.To().Params.Add("tag", tag)
	ok.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ok.AppendHeader(e.contact("", req.Transport()))
	d := e.newServerDialog(req, tag, dec.AnswerSDP)
	if err := tx.Respond(ok); err != nil {
		d.end(EndLocal)
		dec.unanswered()
		return
	}
	t := time.NewTimer(ackTimeout)
	defer t.Stop()
	select {
	case <-tx.Acks():
	case <-d.acked:
	case <-d.Done():
		// A caller that hangs up at once sends its ACK and then its BYE,
		// and the two are handled on goroutines of their own: the BYE may
		// end the dialog before the ACK is seen, or both be in when this
		// runs. A caller's BYE after our 200 OK says it took the call
		// (RFC 3261 §15 allows a BYE in an early dialog too, but callers
		// give up with CANCEL), so the call ran, for no time; anything
		// else ended it unanswered.
		if !acked(tx, d) && d.Ended() != EndRemoteBye {
			dec.unanswered()
			return
		}
	case <-t.C:
		// No ACK: the caller is gone (RFC 3261 §13.3.1.4).
		d.Hangup(context.Background())
		dec.unanswered()
		return
	}
	callCtx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-d.Done():
		case <-callCtx.Done():
		}
		cancel()
	}()
	dec.Answer(callCtx, d)
	cancel()
	hctx, hcancel := context.WithTimeout(context.Background(), cancelWait)
	defer hcancel()
	_ = d.Hangup(hctx)
}

// acked reports whether the ACK for d's 200 OK has come, without waiting.
func acked(tx sip.ServerTransaction, d *Dialog) bool {
	select {
	case <-tx.Acks():
		return true
	case <-d.acked:
		return true
	default:
		return false
	}
}

func (e *Endpoint) respond(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		e.log.Debug("sip: respond failed", "status", res.StatusCode, "err", err)
	}
}

// matchTrunk returns the first trunk whose prefixes hold addr.
func matchTrunk(trunks []InboundTrunk, addr netip.Addr) *InboundTrunk {
	for i := range trunks {
		for _, p := range trunks[i].Prefixes {
			if p.Contains(addr) {
				return &trunks[i]
			}
		}
		if trunks[i].Allow != nil && trunks[i].Allow(addr) {
			return &trunks[i]
		}
	}
	return nil
}

// parseInbound reads the dialled number and the caller's identity.
func parseInbound(req *sip.Request, trunk *InboundTrunk) *Inbound {
	in := &Inbound{Trunk: trunk.Name, Dialed: req.Recipient.User, Offer: req.Body()}
	if in.Dialed == "" {
		if to := req.To(); to != nil {
			in.Dialed = to.Address.User
		}
	}
	if privacyID(req.GetHeader("Privacy")) {
		in.Anonymous = true
	}
	if trunk.TrustPAI {
		for _, h := range req.GetHeaders("P-Asserted-Identity") {
			for _, v := range splitAddressList(h.Value()) {
				var u sip.Uri
				if _, err := sip.ParseAddressValue(strings.TrimSpace(v), &u, nil); err == nil {
					if number, verstat := callerURI(&u); number != "" {
						in.CallerID, in.CallerIDSource, in.Verstat = number, "pai", verstat
						break
					}
				}
			}
			if in.CallerID != "" {
				break
			}
		}
	}
	if in.CallerID == "" {
		if h := req.GetHeader("Remote-Party-ID"); h != nil {
			var u sip.Uri
			params := sip.NewParams()
			if _, err := sip.ParseAddressValue(strings.TrimSpace(h.Value()), &u, &params); err == nil && u.User != "" {
				in.CallerID, _ = callerURI(&u)
				in.CallerIDSource = "rpid"
				if p, _ := params.Get("privacy"); strings.EqualFold(p, "full") || strings.EqualFold(p, "uri") {
					in.Anonymous = true
				}
			}
		}
	}
	if in.CallerID == "" {
		if f := req.From(); f != nil {
			in.CallerID, in.Verstat = callerURI(&f.Address)
			in.CallerIDSource = "from"
			if strings.EqualFold(f.Address.User, "anonymous") || strings.EqualFold(f.Address.Host, "anonymous.invalid") {
				in.Anonymous = true
			}
		}
	}
	if in.Anonymous {
		in.CallerID = ""
	}
	if in.Verstat == "" && in.CallerID != "" {
		in.Verstat = verstatOf(req, in.CallerID)
	}
	in.Attestation = attestation(req)
	in.Untrusted = callerTrust(trunk, in)
	return in
}

// privacyID reports whether a Privacy header (RFC 3323) withholds the
// caller's identity.
func privacyID(h sip.Header) bool {
	if h == nil {
		return false
	}
	for _, v := range strings.FieldsFunc(h.Value(), func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		switch strings.ToLower(v) {
		case "id", "user", "header":
			return true
		}
	}
	return false
}

// reasonPhrase is the standard phrase for the final statuses ringproof
// sends.
func reasonPhrase(code int) string {
	switch code {
	case 200:
		return "OK"
	case 202:
		return "Accepted"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	if code < 300 {
		return "OK"
	}
	return "Call Rejected"
}
