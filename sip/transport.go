package sip

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// sentBy is where peers send the endpoint messages over transport
// ("UDP", "TCP" or "TLS", any case): the public address with the TLS
// listener's port for TLS, else with the UDP and TCP port. ok is false for
// TLS without a TLS listener.
func (e *Endpoint) sentBy(transport string) (ap netip.AddrPort, ok bool) {
	if strings.EqualFold(transport, "tls") {
		return netip.AddrPortFrom(e.public, e.tlsAddr.Port()), e.tls != nil
	}
	return e.publicAddr(), true
}

// publicAddr is the UDP and TCP address peers are told to send to.
func (e *Endpoint) publicAddr() netip.AddrPort { return netip.AddrPortFrom(e.public, e.addr.Port()) }

// contact is the endpoint's Contact for a dialog carried over transport,
// so that the peer sends the dialog's requests back the same way (RFC 3261
// §8.1.1.8): UDP is the default, TCP and TLS are named in the URI.
func (e *Endpoint) contact(user, transport string) *sip.ContactHeader {
	at, _ := e.sentBy(transport)
	u := sip.Uri{Scheme: "sip", User: user, Host: at.Addr().String(), Port: int(at.Port())}
	if t := sip.NetworkToLower(transport); t == "tcp" || t == "tls" {
		u.UriParams = sip.HeaderParams{{K: "transport", V: t}}
	}
	return &sip.ContactHeader{Address: u}
}

// addVia puts the endpoint's Via on top of r, with a new branch. sipgo
// fills it with the UDP and TCP address; over TLS the sent-by is the TLS
// listener's instead.
func (e *Endpoint) addVia(r *sip.Request) error {
	if err := sipgo.ClientRequestAddVia(e.client, r); err != nil {
		return err
	}
	return e.fixVia(r)
}

// build completes a new out-of-dialog request for sending: pinned to the
// listening socket over UDP, with sipgo's Via, Max-Forwards, Call-ID and
// CSeq, and the Via corrected for TLS.
func (e *Endpoint) build(req *sip.Request) error {
	e.sendFrom(req)
	if err := sipgo.ClientRequestBuild(e.client, req); err != nil {
		return fmt.Errorf("build %s: %w", req.Method, err)
	}
	return e.fixVia(req)
}

// fixVia corrects the sent-by of r's top Via for TLS (see addVia).
func (e *Endpoint) fixVia(r *sip.Request) error {
	if !strings.EqualFold(r.Transport(), "tls") {
		return nil
	}
	at, ok := e.sentBy("tls")
	if !ok {
		return fmt.Errorf("sip: a request over TLS needs a TLS listener (sip.tls_listen)")
	}
	if v := r.Via(); v != nil {
		v.Host, v.Port = at.Addr().String(), int(at.Port())
	}
	return nil
}
