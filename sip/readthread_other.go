//go:build !linux

package sip

import (
	"log/slog"
	"net"
)

// readOnThread returns c: outside Linux the UDP socket is read through Go's
// network poller (see readthread_linux.go).
func readOnThread(c *net.UDPConn, _ *slog.Logger) net.PacketConn { return c }
