package sip

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// On Linux the endpoint's UDP socket is ringproof's own, outside Go's
// network poller, and read on an OS thread of its own blocked in the kernel
// (poll(2)). A flash call's CANCEL leaves from this read path
// (fastcancel.go), so the delay between a 180 arriving and the reader
// running is the CANCEL's reaction time. Read through the network poller,
// a datagram wakes its reader only when some thread polls the network: an
// idle one blocked in epoll_wait or, when every P is busy, a scheduler pass
// with nothing else to run, or sysmon up to 10 ms later. Blocked in
// poll(2), the reader's own thread is woken by the kernel the moment the
// datagram is queued. The socket is kept out of the network poller
// altogether, since the poller would otherwise wake for every datagram
// with no goroutine to hand it to.
//
// The thread also asks the kernel (Linux 6.12 and later, EEVDF) for a short
// time slice. A thread with a short slice gets an early deadline, so on
// wake-up it preempts a thread of the same priority instead of waiting for
// that thread's slice to end. Its policy and nice value stay as they were,
// and no privilege is needed; older kernels ignore the request.
//
// Writes are plain sendto(2) calls on the (blocking) socket from the
// writing goroutine. Deadlines are not supported: sipgo sets none on UDP.
//
// Measured with bench/flashbench at 500 verifications/s on 2 vCPUs (see
// docs/performance.md).

// readerSlice is the time slice the reading thread asks for (the kernel's
// minimum is 100 µs).
const readerSlice = 100 * time.Microsecond

// readerPollMillis bounds one poll(2) of the reader, so that it looks at
// the closing flag at least this often even if a wake-up were lost.
const readerPollMillis = 1000

// udpSocket is a UDP socket outside Go's network poller. One goroutine
// reads (sipgo has one reader per socket), and its first ReadFrom locks it
// to its OS thread; any number may write.
type udpSocket struct {
	// mu is held shared around each system call on fd, and exclusively by
	// Close to close it, so that no call ever uses a closed (and perhaps
	// reused) descriptor.
	mu     sync.RWMutex
	fd     int
	closed bool // under mu

	local *net.UDPAddr
	v6    bool // an AF_INET6 socket: IPv4 peers are IPv4-mapped addresses
	log   *slog.Logger

	pin     sync.Once   // the reader's first call locks it to its thread
	closing atomic.Bool // set by Close before it wakes the reader

	// pollMillis bounds one poll(2) (readerPollMillis; tests use -1, no
	// bound, so that only Close's wake-up can end it). onPoll, if set, is
	// called before each poll.
	pollMillis int
	onPoll     func()
}

// listenUDP opens a UDP socket bound to ap: with ownThread, a udpSocket;
// otherwise Go's own, read through the network poller. An unspecified
// address (0.0.0.0 or ::) listens on IPv4 and IPv6 alike, as Go's own
// listeners do.
func listenUDP(ap netip.AddrPort, ownThread bool, log *slog.Logger) (udpConn, error) {
	if !ownThread {
		return net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	}
	addr := ap.Addr().Unmap()
	v6 := addr.Is6() || addr.IsUnspecified()
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, listenErr(ap, os.NewSyscallError("socket", err))
	}
	fail := func(call string, err error) (udpConn, error) {
		unix.Close(fd)
		return nil, listenErr(ap, os.NewSyscallError(call, err))
	}
	var sa unix.Sockaddr
	switch {
	case !v6:
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: addr.As4()}
	default:
		dual := 0
		if !addr.IsUnspecified() {
			dual = 1 // a specific IPv6 address is IPv6 only
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, dual); err != nil {
			return fail("setsockopt", err)
		}
		a6 := &unix.SockaddrInet6{Port: int(ap.Port())}
		if addr.Is6() {
			a6.Addr = addr.As16()
			if z := addr.Zone(); z != "" {
				ifi, err := net.InterfaceByName(z)
				if err != nil {
					return fail("bind", err)
				}
				a6.ZoneId = uint32(ifi.Index)
			}
		}
		sa = a6
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	local := udpAddr(bound)
	if local == nil {
		return fail("getsockname", unix.EAFNOSUPPORT)
	}
	return &udpSocket{fd: fd, local: local, v6: v6, log: log, pollMillis: readerPollMillis}, nil
}

func listenErr(ap netip.AddrPort, err error) error {
	return &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(ap), Err: err}
}

// ReadFrom reads one datagram, blocking the calling goroutine's thread in
// poll(2) until one arrives or Close is called (then the error wraps
// net.ErrClosed).
func (s *udpSocket) ReadFrom(b []byte) (int, net.Addr, error) {
	s.pin.Do(s.pinThread)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, nil, s.opErr("read", nil, net.ErrClosed)
	}
	pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
	for {
		if s.closing.Load() {
			return 0, nil, s.opErr("read", nil, net.ErrClosed)
		}
		n, sa, err := unix.Recvfrom(s.fd, b, unix.MSG_DONTWAIT)
		switch {
		case err == nil:
			if from := udpAddr(sa); from != nil {
				return n, from, nil
			}
			// No source address: not a datagram (a shut down socket
			// reads as empty); look at the closing flag again.
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			if s.onPoll != nil {
				s.onPoll()
			}
			if _, err := unix.Poll(pfd, s.pollMillis); err != nil && !errors.Is(err, unix.EINTR) {
				return 0, nil, s.opErr("read", nil, os.NewSyscallError("poll", err))
			}
		default:
			return 0, nil, s.opErr("read", nil, os.NewSyscallError("recvfrom", err))
		}
	}
}

// WriteTo sends b to addr, a *net.UDPAddr.
func (s *udpSocket) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || ua == nil {
		return 0, s.opErr("write", addr, fmt.Errorf("not a UDP address: %T", addr))
	}
	return s.WriteToUDPAddrPort(b, ua.AddrPort())
}

// WriteToUDPAddrPort sends b to addr.
func (s *udpSocket) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	sa, err := s.sockaddr(addr)
	if err != nil {
		return 0, s.opErr("write", net.UDPAddrFromAddrPort(addr), err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, s.opErr("write", net.UDPAddrFromAddrPort(addr), net.ErrClosed)
	}
	for {
		err = unix.Sendto(s.fd, b, 0, sa)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return 0, s.opErr("write", net.UDPAddrFromAddrPort(addr), os.NewSyscallError("sendto", err))
	}
	return len(b), nil
}

// sockaddr converts a destination for this socket's family.
func (s *udpSocket) sockaddr(addr netip.AddrPort) (unix.Sockaddr, error) {
	ip := addr.Addr().Unmap()
	switch {
	case !ip.IsValid():
		return nil, unix.EDESTADDRREQ
	case !s.v6 && ip.Is4():
		return &unix.SockaddrInet4{Port: int(addr.Port()), Addr: ip.As4()}, nil
	case !s.v6:
		return nil, unix.EAFNOSUPPORT // an IPv6 peer on an IPv4 socket
	}
	sa := &unix.SockaddrInet6{Port: int(addr.Port()), Addr: ip.As16()} // IPv4 as ::ffff:a.b.c.d
	if z := ip.Zone(); z != "" {
		if id, err := strconv.ParseUint(z, 10, 32); err == nil {
			sa.ZoneId = uint32(id)
		} else if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa, nil
}

// SetReadBuffer sets the socket's receive buffer (SO_RCVBUF).
func (s *udpSocket) SetReadBuffer(bytes int) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.opErr("set", nil, net.ErrClosed)
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, bytes); err != nil {
		return s.opErr("set", nil, os.NewSyscallError("setsockopt", err))
	}
	return nil
}

// LocalAddr is the address the socket is bound to.
func (s *udpSocket) LocalAddr() net.Addr { return s.local }

// SetDeadline, SetReadDeadline and SetWriteDeadline are not supported.
func (s *udpSocket) SetDeadline(time.Time) error      { return errors.ErrUnsupported }
func (s *udpSocket) SetReadDeadline(time.Time) error  { return errors.ErrUnsupported }
func (s *udpSocket) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }

// Close wakes the reader, waits until no call uses the socket, and closes
// it. Closing again returns an error wrapping net.ErrClosed.
func (s *udpSocket) Close() error {
	s.closing.Store(true)
	s.mu.RLock()
	if !s.closed {
		// Shutting down the read side of a UDP socket (which Linux
		// reports as ENOTCONN for an unconnected one, yet does) wakes
		// poll(2).
		_ = unix.Shutdown(s.fd, unix.SHUT_RD)
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.opErr("close", nil, net.ErrClosed)
	}
	s.closed = true
	if err := unix.Close(s.fd); err != nil {
		return s.opErr("close", nil, os.NewSyscallError("close", err))
	}
	return nil
}

// pinThread locks the reading goroutine to its OS thread for good and asks
// the kernel for a short time slice for that thread.
func (s *udpSocket) pinThread() {
	runtime.LockOSThread()
	attr, err := unix.SchedGetAttr(0, 0)
	if err == nil && attr.Policy == unix.SCHED_NORMAL {
		attr.Runtime = uint64(readerSlice.Nanoseconds())
		err = unix.SchedSetAttr(0, attr, 0)
	}
	if err != nil {
		s.log.Debug("sip: UDP reader thread keeps the default time slice", "err", err)
	}
}

func (s *udpSocket) opErr(op string, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: "udp", Source: s.local, Addr: addr, Err: err}
}

// udpAddr converts a socket address, IPv4-mapped IPv6 ones to IPv4, or
// returns nil.
func udpAddr(sa unix.Sockaddr) *net.UDPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.UDPAddr{IP: net.IPv4(a.Addr[0], a.Addr[1], a.Addr[2], a.Addr[3]), Port: a.Port}
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(a.Addr)
		if ip.Is4In6() {
			v4 := ip.Unmap().As4()
			return &net.UDPAddr{IP: net.IPv4(v4[0], v4[1], v4[2], v4[3]), Port: a.Port}
		}
		addr := &net.UDPAddr{IP: net.IP(ip.AsSlice()), Port: a.Port}
		if a.ZoneId != 0 {
			addr.Zone = zoneName(a.ZoneId)
		}
		return addr
	}
	return nil
}

// zoneName names an IPv6 zone by its interface, or by its index.
func zoneName(id uint32) string {
	if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(id), 10)
}
