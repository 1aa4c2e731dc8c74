//go:build !linux

package sip

import (
	"log/slog"
	"net"
	"net/netip"
)

// listenUDP opens the endpoint's UDP socket. Outside Linux it is Go's own,
// read through the network poller (see udpsocket_linux.go).
func listenUDP(ap netip.AddrPort, _ bool, _ *slog.Logger) (udpConn, error) {
	return net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
}
