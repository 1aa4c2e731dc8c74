package media

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
)

// ErrNoPort is returned by Listen when every even port of its range is in
// use.
var ErrNoPort = errors.New("media: no free RTP port")

// PortRange bounds the local UDP ports of RTP sessions, both inclusive.
// Sessions take even ports only (RFC 3550 §11: RTCP would use the odd port
// above).
type PortRange struct {
	Min, Max int
}

// String returns "min-max".
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }

// evenPorts returns the first even port of r and how many there are.
func (r PortRange) evenPorts() (first, n int, err error) {
	if r.Min < 1 || r.Max > 65535 || r.Min > r.Max {
		return 0, 0, fmt.Errorf("media: port range %v: want 1 <= min <= max <= 65535", r)
	}
	first = r.Min + r.Min%2
	if first > r.Max {
		return 0, 0, fmt.Errorf("media: port range %v holds no even port", r)
	}
	return first, (r.Max-first)/2 + 1, nil
}

// listenUDP binds a UDP socket on ip at an even port of r. It tries the
// ports from a random one on, so that concurrent calls rarely collide and
// ports are not reused at once; a port in use is skipped, any other error
// ends the search.
func listenUDP(ctx context.Context, ip netip.Addr, r PortRange) (*net.UDPConn, error) {
	if !ip.IsValid() {
		return nil, errors.New("media: listen: no IP address")
	}
	first, n, err := r.evenPorts()
	if err != nil {
		return nil, err
	}
	network := "udp4"
	if ip.Is6() && !ip.Is4In6() {
		network = "udp6"
	}
	var lc net.ListenConfig
	start := rand.IntN(n)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("media: listen on %v: %w", ip, err)
		}
		port := first + 2*((start+i)%n)
		pc, err := lc.ListenPacket(ctx, network, netip.AddrPortFrom(ip.Unmap(), uint16(port)).String())
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("media: listen on %v: %w", ip, err)
		}
		return pc.(*net.UDPConn), nil
	}
	return nil, fmt.Errorf("%w on %v in %v", ErrNoPort, ip, r)
}
