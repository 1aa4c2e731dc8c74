package sip

import "net/netip"

// Admit decides whether a TCP or TLS connection from src may stay open.
// The endpoint asks it for each connection it accepts, before reading a
// byte (or starting a TLS handshake); a connection it refuses is closed at
// once. It must be quick and safe for concurrent use.
type Admit func(src netip.Addr) bool

// AdmitPrefixes admits sources within any of prefixes: the trunks'
// inbound_cidrs.
func AdmitPrefixes(prefixes ...[]netip.Prefix) Admit {
	var all []netip.Prefix
	for _, p := range prefixes {
		all = append(all, p...)
	}
	return func(src netip.Addr) bool {
		src = src.Unmap()
		for _, p := range all {
			if p.Contains(src) {
				return true
			}
		}
		return false
	}
}

// AnyOf admits a source that any of admits admits (nil ones are skipped):
// to let in, beside the trunks' inbound_cidrs, the addresses of the
// registrars a trunk registers with.
func AnyOf(admits ...Admit) Admit {
	return func(src netip.Addr) bool {
		for _, a := range admits {
			if a != nil && a(src) {
				return true
			}
		}
		return false
	}
}
