package sip

import (
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// authorize readies req to be sent again with credentials that answer the
// digest challenge in res (RFC 3261 §22.2: WWW-Authenticate in a 401,
// Proxy-Authenticate in a 407): the Authorization (or
// Proxy-Authorization) header, the next CSeq number and a new top Via,
// with this endpoint's sent-by and a new branch. Send it in a new
// transaction, without building it again.
func (e *Endpoint) authorize(req *sip.Request, res *sip.Response, username, password string) error {
	challenge, answer := "WWW-Authenticate", "Authorization"
	if res.StatusCode == sip.StatusProxyAuthRequired {
		challenge, answer = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(challenge)
	if h == nil {
		return fmt.Errorf("%d without %s", res.StatusCode, challenge)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return fmt.Errorf("%s %q: %w", challenge, h.Value(), err)
	}
	// Registrars write the algorithm in lower case now and then.
	chal.Algorithm = strings.ToUpper(chal.Algorithm)
	cred, err := digest.Digest(chal, digest.Options{
		Method: req.Method.String(), URI: req.Recipient.Addr(),
		Username: username, Password: password, Count: 1,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", challenge, err)
	}
	req.RemoveHeader(answer)
	req.AppendHeader(sip.NewHeader(answer, cred.String()))
	if cseq := req.CSeq(); cseq != nil {
		cseq.SeqNo++
	}
	req.RemoveHeader("Via")
	return e.addVia(req)
}
