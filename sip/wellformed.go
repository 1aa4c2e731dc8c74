package sip

import (
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// missingHeader names the first header a request must carry (RFC 3261
// §8.1.1) that req lacks, or whose CSeq method is not the request's, or
// returns "" when req is whole.
func missingHeader(req *sip.Request) string {
	switch {
	case req.Via() == nil:
		return "Via"
	case req.From() == nil:
		return "From"
	case req.To() == nil:
		return "To"
	case req.CallID() == nil || req.CallID().Value() == "":
		return "Call-ID"
	case req.CSeq() == nil || req.CSeq().MethodName != req.Method:
		return "CSeq"
	}
	return ""
}

// wellFormed answers 400 to a request that lacks a mandatory header before
// next sees it: a dialog cannot be matched, nor a caller identified,
// without them. An ACK gets no response; it is dropped.
func (e *Endpoint) wellFormed(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		h := missingHeader(req)
		if h == "" {
			markReceived(req)
			next(req, tx)
			return
		}
		e.counters.malformed.Add(1)
		if req.IsAck() {
			return
		}
		e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (missing or wrong "+h+")", nil))
	}
}
