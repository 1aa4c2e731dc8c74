package sip

import (
	"net"
	"net/netip"
)

// udpConn is the endpoint's UDP socket: what sipgo needs of it (a
// net.PacketConn) and what the endpoint itself uses.
type udpConn interface {
	net.PacketConn
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	SetReadBuffer(bytes int) error
}
