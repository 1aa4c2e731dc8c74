package sip

import (
	"github.com/emiago/sipgo/sip"
)

// newCancel builds the CANCEL for a pending INVITE as RFC 3261 §9.1 asks:
// the same Request-URI, Call-ID, From, To (no tag of the callee's) and CSeq
// number as the INVITE, CSeq method CANCEL, a single Via equal to the
// INVITE's top Via (so the branch matches), and the INVITE's Route headers.
// sipgo's dialog CANCEL takes its route from the 1xx's Record-Route instead,
// which carriers with a route set reject, hence this function.
func newCancel(invite *sip.Request) *sip.Request {
	c := sip.NewRequest(sip.CANCEL, *invite.Recipient.Clone())
	c.SipVersion = invite.SipVersion
	c.AppendHeader(sip.HeaderClone(invite.Via()))
	sip.CopyHeaders("Route", invite, c)
	maxFwd := sip.MaxForwardsHeader(70)
	c.AppendHeader(&maxFwd)
	c.AppendHeader(sip.HeaderClone(invite.From()))
	c.AppendHeader(sip.HeaderClone(invite.To()))
	c.AppendHeader(sip.HeaderClone(invite.CallID()))
	cseq := sip.HeaderClone(invite.CSeq()).(*sip.CSeqHeader)
	cseq.MethodName = sip.CANCEL
	c.AppendHeader(cseq)
	c.SetBody(nil)
	c.SetTransport(invite.Transport())
	c.SetDestination(invite.Destination())
	c.Laddr = invite.Laddr
	return c
}

// answerStrayCancel answers a CANCEL that matches no pending INVITE with
// 481 Call/Transaction Does Not Exist, as RFC 3261 §9.2 asks ("If the UAS
// did not find a matching transaction for the CANCEL ... it SHOULD respond
// to the CANCEL with a 481"). A CANCEL that matches one never gets here:
// sipgo's transaction layer answers it 200 and ends the INVITE with 487.
func (e *Endpoint) answerStrayCancel(req *sip.Request, tx sip.ServerTransaction) {
	e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
}
