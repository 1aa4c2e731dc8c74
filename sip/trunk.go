package sip

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Trunk is a carrier's SIP entry point as the sip package needs it.
type Trunk struct {
	// Name identifies the trunk in errors and logs.
	Name string
	// Address is host:port where INVITEs are sent.
	Address string
	// Transport is "udp", "tcp" or "tls".
	Transport string
	// Username and Password answer 401/407 digest challenges. An empty
	// Password means challenges fail the call.
	Username, Password string
	// Domain is the host of Request-URI and To; empty means Address's host.
	Domain string
}

// target splits Address and picks the Request-URI host.
func (t Trunk) target() (host string, port int, domain string, err error) {
	h, p, err := net.SplitHostPort(t.Address)
	if err != nil {
		return "", 0, "", fmt.Errorf("trunk %q: address %q: %w", t.Name, t.Address, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, "", fmt.Errorf("trunk %q: address %q: bad port", t.Name, t.Address)
	}
	domain = t.Domain
	if domain == "" {
		domain = h
	}
	return h, port, domain, nil
}

// newRequest starts a request of method to the number to (E.164) at the
// trunk: its Request-URI and To name the number at the trunk's domain
// (with the address's port when the domain is its host), and it is sent
// to the trunk's address over its transport. An empty to addresses the
// trunk itself (OPTIONS, REGISTER). It also returns the domain.
func (t Trunk) newRequest(method sip.RequestMethod, to string) (*sip.Request, string, error) {
	host, port, domain, err := t.target()
	if err != nil {
		return nil, "", err
	}
	ruri := sip.Uri{Scheme: "sip", User: to, Host: domain}
	if to != "" {
		ruri.UriParams = sip.HeaderParams{{K: "user", V: "phone"}}
	}
	if domain == host {
		ruri.Port = port
	}
	req := sip.NewRequest(method, ruri)
	req.SetTransport(t.transport())
	req.SetDestination(net.JoinHostPort(host, strconv.Itoa(port)))
	return req, domain, nil
}

// transport is the sipgo transport name for the trunk, UDP by default.
func (t Trunk) transport() string {
	switch {
	case strings.EqualFold(t.Transport, "tcp"):
		return "TCP"
	case strings.EqualFold(t.Transport, "tls"):
		return "TLS"
	}
	return "UDP"
}
