package conf

import (
	"fmt"
	"net/netip"
)

// checkSIPListen returns what is wrong with a SIP listen address: it must
// be IP:port, and an unspecified host (0.0.0.0, ::) needs
// sip.external_address, the address peers are told to send to.
func (c *Config) checkSIPListen(s string) (problem string) {
	if p := checkListen(s, false); p != "" {
		return p
	}
	host, _, _ := splitHostPort(s)
	if ip, _ := netip.ParseAddr(host); ip.IsUnspecified() && c.SIP.ExternalAddress == "" {
		return fmt.Sprintf("%q: host %s is unspecified; set sip.external_address to the address carriers reach (it goes in Via and Contact), or listen on that address", s, host)
	}
	return ""
}

// checkExternalIP returns what is wrong with an address told to peers:
// empty, or an IP address that is not unspecified and has no IPv6 zone.
func checkExternalIP(s string) (problem string) {
	if s == "" {
		return ""
	}
	ip, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not an IP address", s)
	case ip.IsUnspecified():
		return fmt.Sprintf("%q is unspecified; give the address peers reach", s)
	case ip.Zone() != "":
		return fmt.Sprintf("%q has an IPv6 zone, which SIP and SDP cannot carry", s)
	}
	return ""
}

// SIPExternal is the address carriers are told to send SIP to:
// sip.external_address, else the host of sip.listen. It is meant for a
// Config that passed Validate.
func (c *Config) SIPExternal() netip.Addr {
	if ip, err := netip.ParseAddr(c.SIP.ExternalAddress); err == nil {
		return ip
	}
	return listenHost(c.SIP.Listen)
}

// MediaIPs are the address RTP sockets bind to (media.rtp_ip, else the
// host of sip.listen) and the one offered in SDP (media.external_ip, else
// sip.external_address, else the bound one). It is meant for a Config
// that passed Validate.
func (c *Config) MediaIPs() (bind, offer netip.Addr) {
	bind = listenHost(c.SIP.Listen)
	if ip, err := netip.ParseAddr(c.Media.RTPIP); err == nil {
		bind = ip
	}
	offer = bind
	for _, s := range []string{c.Media.ExternalIP, c.SIP.ExternalAddress} {
		if ip, err := netip.ParseAddr(s); err == nil {
			return bind, ip
		}
	}
	return bind, offer
}

// listenHost is the IP address of a listen address host:port.
func listenHost(s string) netip.Addr {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
