package sip

import (
	"context"
	"fmt"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// inDialog builds a request inside the dialog a 2xx to invite created
// (RFC 3261 §12.2.1.1): Request-URI from the 2xx's Contact, Route from its
// Record-Route in reverse, the remote tag from its To. Via is left to the
// caller.
func inDialog(method sip.RequestMethod, invite *sip.Request, ok *sip.Response, seq uint32) *sip.Request {
	target := invite.Recipient.Clone()
	if c := ok.Contact(); c != nil {
		target = c.Address.Clone()
	}
	r := sip.NewRequest(method, *target)
	r.SipVersion = invite.SipVersion
	routes := recordRoutes(ok)
	for i := len(routes) - 1; i >= 0; i-- {
		r.AppendHeader(sip.NewHeader("Route", routes[i]))
	}
	maxFwd := sip.MaxForwardsHeader(70)
	r.AppendHeader(&maxFwd)
	r.AppendHeader(sip.HeaderClone(invite.From()))
	r.AppendHeader(sip.HeaderClone(ok.To()))
	r.AppendHeader(sip.HeaderClone(invite.CallID()))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	r.SetBody(nil)
	r.SetTransport(invite.Transport())
	if len(routes) == 0 && ok.Contact() == nil {
		r.SetDestination(invite.Destination())
	}
	return r
}

// recordRoutes lists every Record-Route value of res in order, splitting
// comma-joined values.
func recordRoutes(res *sip.Response) []string {
	var out []string
	for _, h := range res.GetHeaders("Record-Route") {
		for _, v := range splitAddressList(h.Value()) {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// splitAddressList splits "a, <b;x=1,2>" on commas outside angle brackets
// and quotes.
func splitAddressList(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '<':
			if !quoted {
				depth++
			}
		case '>':
			if !quoted && depth > 0 {
				depth--
			}
		case ',':
			if !quoted && depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// ackAndBye confirms a 2xx that raced our CANCEL and tears the call down at
// once: ACK (also for every retransmitted 2xx), then BYE, waiting for the
// BYE's final response or ctx.
func (e *Endpoint) ackAndBye(ctx context.Context, tx sip.ClientTransaction, invite *sip.Request, ok *sip.Response) error {
	seq := invite.CSeq().SeqNo
	ack := inDialog(sip.ACK, invite, ok, seq)
	if err := e.addVia(ack); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	e.sendFrom(ack)
	ackCopy := ack.Clone()
	tx.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() {
			_ = e.client.WriteRequest(ackCopy.Clone(), noBuild)
		}
	})
	if err := e.client.WriteRequest(ack, noBuild); err != nil {
		return fmt.Errorf("ack: %w", err)
	}

	bye := inDialog(sip.BYE, invite, ok, seq+1)
	if err := e.addVia(bye); err != nil {
		return fmt.Errorf("bye: %w", err)
	}
	e.sendFrom(bye)
	btx, err := e.client.TransactionRequest(ctx, bye, noBuild)
	if err != nil {
		return fmt.Errorf("bye: %w", err)
	}
	defer btx.Terminate()
	for {
		select {
		case res := <-btx.Responses():
			if res.IsProvisional() {
				continue
			}
			if !res.IsSuccess() {
				return fmt.Errorf("bye: %d %s", res.StatusCode, res.Reason)
			}
			return nil
		case <-btx.Done():
			return fmt.Errorf("bye: %w", btx.Err())
		case <-ctx.Done():
			return fmt.Errorf("bye: %w", ctx.Err())
		}
	}
}

// confirm ACKs a 2xx that answers our invite (and every retransmission of
// it) and returns the dialog it created.
func (e *Endpoint) confirm(tx sip.ClientTransaction, invite *sip.Request, ok *sip.Response) (*Dialog, error) {
	ack := inDialog(sip.ACK, invite, ok, invite.CSeq().SeqNo)
	if err := e.addVia(ack); err != nil {
		return nil, fmt.Errorf("ack: %w", err)
	}
	e.sendFrom(ack)
	ackCopy := ack.Clone()
	tx.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() {
			_ = e.client.WriteRequest(ackCopy.Clone(), noBuild)
		}
	})
	if err := e.client.WriteRequest(ack, noBuild); err != nil {
		return nil, fmt.Errorf("ack: %w", err)
	}
	return e.newClientDialog(invite, ok), nil
}

// noBuild is a request option that leaves a fully built request as it is.
func noBuild(*sipgo.Client, *sip.Request) error { return nil }
