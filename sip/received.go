package sip

import (
	"net"

	"github.com/emiago/sipgo/sip"
)

// markReceived adds received= to req's top Via when the Via's sent-by host
// is not the address the request came from, as RFC 3261 §18.2.1 asks of
// a server: every response built from req then carries it, and a peer
// behind NAT learns the address it is seen at. (sipgo fills in rport= and
// received= itself when the peer asked with an empty rport, RFC 3581 §4,
// and sends responses to the request's source either way.)
func markReceived(req *sip.Request) {
	v := req.Via()
	host, _, err := net.SplitHostPort(req.Source())
	if v == nil || err != nil || v.Host == host || v.Params.Has("received") {
		return
	}
	v.Params.Add("received", host)
}
