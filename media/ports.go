package media

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
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

// listenUDP binds a UDP socket on ip at an even port of r drawn at random
// (crypto/rand): the ports are tried in a random order that visits each
// once, so that a call's port says nothing of the next call's, concurrent
// calls rarely collide and ports are not reused at once. A port in use is
// skipped, any other error ends the search.
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
	order := newPortOrder(n)
	for range n {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("media: listen on %v: %w", ip, err)
		}
		port := first + 2*order.next()
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

// portOrder walks 0..n-1 in a random order, each once: i -> (a*i + b) mod
// n with a random b and a random a prime to n. Every port is equally
// likely to come first; those after it follow from a and b, which an
// observer of one call's port does not know.
type portOrder struct {
	a, b, n, i uint64
}

func newPortOrder(n int) *portOrder {
	o := &portOrder{n: uint64(n), b: randN(uint64(n))}
	for {
		o.a = 1 + randN(o.n)
		if gcd(o.a, o.n) == 1 {
			return o
		}
	}
}

func (o *portOrder) next() int {
	v := (o.a%o.n*o.i + o.b) % o.n
	o.i++
	return int(v)
}

// randN returns a uniform number in [0, n) from crypto/rand.
func randN(n uint64) uint64 {
	v, err := rand.Int(rand.Reader, new(big.Int).SetUint64(n))
	if err != nil {
		panic(fmt.Sprintf("media: crypto/rand: %v", err)) // the system's random source is broken
	}
	return v.Uint64()
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
