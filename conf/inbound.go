package conf

import (
	"fmt"
	"net/netip"
	"strings"
)

// InboundPrefixes returns the source addresses allowed to send INVITEs on
// behalf of t: its InboundCIDRs parsed, or, when there are none, the IP
// address of Address as a /32 or /128 (none if Address's host is a DNS
// name). A single IP address becomes a /32 or /128; host bits are cleared
// (203.0.113.7/24 gives 203.0.113.0/24); an IPv4-mapped IPv6 prefix
// (::ffff:203.0.113.0/120) becomes the IPv4 one, as sources are compared
// unmapped. It is meant for a Trunk that passed Validate; for one that did
// not, it returns nil if any element does not parse.
func (t Trunk) InboundPrefixes() []netip.Prefix {
	if len(t.InboundCIDRs) == 0 {
		host, _, problem := splitHostPort(t.Address)
		if problem != "" {
			return nil
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return nil
		}
		return []netip.Prefix{hostPrefix(ip.WithZone(""))}
	}
	out := make([]netip.Prefix, 0, len(t.InboundCIDRs))
	for _, s := range t.InboundCIDRs {
		p, err := parseInboundCIDR(s)
		if err != nil {
			return nil
		}
		out = append(out, p)
	}
	return out
}

// parseInboundCIDR parses an element of inbound_cidrs as InboundPrefixes
// describes: a CIDR prefix or a single IP address, without an IPv6 zone.
// The error quotes s.
func parseInboundCIDR(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix (203.0.113.0/24, 2001:db8::/32) or IP address", s)
		}
		p = p.Masked()
	} else {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix (203.0.113.0/24, 2001:db8::/32) or IP address", s)
		}
		if ip.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q has an IPv6 zone; source addresses have none", s)
		}
		p = hostPrefix(ip)
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, nil
}

// hostPrefix returns the prefix that holds ip alone, unmapped from IPv6 if
// it is an IPv4-mapped address: /32 or /128.
func hostPrefix(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen())
}
