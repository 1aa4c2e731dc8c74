package sip

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The UDP listening socket is read on an OS thread of its own, blocked in
// the kernel (poll(2)), instead of by a goroutine parked in Go's network
// poller. A flash call's CANCEL leaves from this read path (fastcancel.go),
// so the delay between a 180 arriving and the reader running is the
// CANCEL's reaction time. With the network poller, a datagram wakes the
// reader only when some thread polls the network: an idle one blocked in
// epoll_wait, or, when every P is busy, a scheduler pass with nothing else
// to run, or sysmon up to 10 ms later. Blocked in poll(2), the reader's own
// thread is woken by the kernel the moment the datagram is queued.
//
// The thread also asks the kernel (Linux 6.12 and later, EEVDF) for a short
// time slice. A thread with a short slice gets an early deadline, so on
// wake-up it preempts a thread of the same priority rather than waiting
// for that thread's slice to end. Nothing else changes: the thread's
// policy and nice value stay as they were, and no privilege is needed.
// Older kernels ignore the request.
//
// Measured with bench/flashbench at 500 verifications/s on 2 vCPUs (see
// docs/performance.md): 180→CANCEL p99 went from about 2 ms to under 1 ms.

// readerSlice is the time slice the reading thread asks for (the kernel's
// minimum is 100 µs).
const readerSlice = 100 * time.Microsecond

// readerPollMillis bounds one poll(2) of the reader, so that it looks at
// the closing flag at least this often even if a wake-up were lost.
const readerPollMillis = 1000

// threadConn is a UDP socket whose ReadFrom blocks its calling goroutine's
// OS thread in the kernel. Only one goroutine may read (sipgo has one
// reader per socket); writes go through the embedded *net.UDPConn as
// usual. Read deadlines do not apply to ReadFrom.
type threadConn struct {
	*net.UDPConn
	rc  syscall.RawConn
	log *slog.Logger

	pin     sync.Once   // the reader's first call locks it to its thread
	closing atomic.Bool // set by Close before it wakes the reader

	// pollMillis bounds one poll(2) (readerPollMillis; tests use -1, no
	// bound, so that only Close's wake-up can end it). onPoll, if set, is
	// called before each poll.
	pollMillis int
	onPoll     func()
}

// readOnThread returns c with a ReadFrom that blocks an OS thread of its
// own in the kernel, or c itself if its descriptor cannot be reached.
func readOnThread(c *net.UDPConn, log *slog.Logger) net.PacketConn {
	rc, err := c.SyscallConn()
	if err != nil {
		log.Warn("sip: UDP socket read through Go's network poller", "err", err)
		return c
	}
	return &threadConn{UDPConn: c, rc: rc, log: log, pollMillis: readerPollMillis}
}

// ReadFrom reads one datagram, blocking the calling goroutine's thread in
// poll(2) until one arrives or Close is called (then the error wraps
// net.ErrClosed).
func (c *threadConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.pin.Do(c.pinThread)
	var (
		n    int
		from net.Addr
		rerr error
	)
	// RawConn.Read holds a reference to the descriptor, so a concurrent
	// Close cannot close (and the kernel reuse) it under the poll below:
	// Close waits until this returns.
	err := c.rc.Read(func(fd uintptr) bool {
		n, from, rerr = c.read(int(fd), b)
		return true
	})
	if err != nil {
		return 0, nil, err // closed before the read began: wraps net.ErrClosed
	}
	return n, from, rerr
}

// read loops over a non-blocking recvfrom and a blocking poll until a
// datagram comes or the socket is closing.
func (c *threadConn) read(fd int, b []byte) (int, net.Addr, error) {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		if c.closing.Load() {
			return 0, nil, c.opErr(net.ErrClosed)
		}
		n, sa, err := unix.Recvfrom(fd, b, unix.MSG_DONTWAIT)
		switch {
		case err == nil:
			if from := udpAddr(sa); from != nil {
				return n, from, nil
			}
			// No source address: not a datagram (a shut down socket
			// reads as empty); look at the closing flag again.
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			if c.onPoll != nil {
				c.onPoll()
			}
			if _, err := unix.Poll(pfd, c.pollMillis); err != nil && !errors.Is(err, unix.EINTR) {
				return 0, nil, c.opErr(os.NewSyscallError("poll", err))
			}
		default:
			return 0, nil, c.opErr(os.NewSyscallError("recvfrom", err))
		}
	}
}

// Close wakes the reader and closes the socket. It returns once the
// reader has let go of the descriptor.
func (c *threadConn) Close() error {
	c.closing.Store(true)
	// Shutting down the read side of a UDP socket (which Linux reports as
	// ENOTCONN for an unconnected one, yet does) wakes poll(2).
	_ = c.rc.Control(func(fd uintptr) { _ = unix.Shutdown(int(fd), unix.SHUT_RD) })
	return c.UDPConn.Close()
}

// pinThread locks the reading goroutine to its OS thread for good and asks
// the kernel for a short time slice for that thread.
func (c *threadConn) pinThread() {
	runtime.LockOSThread()
	attr, err := unix.SchedGetAttr(0, 0)
	if err == nil && attr.Policy == unix.SCHED_NORMAL {
		attr.Runtime = uint64(readerSlice.Nanoseconds())
		err = unix.SchedSetAttr(0, attr, 0)
	}
	if err != nil {
		c.log.Debug("sip: UDP reader thread keeps the default time slice", "err", err)
	}
}

func (c *threadConn) opErr(err error) error {
	return &net.OpError{Op: "read", Net: "udp", Source: c.LocalAddr(), Err: err}
}

// udpAddr converts a recvfrom source address, or returns nil.
func udpAddr(sa unix.Sockaddr) *net.UDPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.UDPAddr{IP: net.IPv4(a.Addr[0], a.Addr[1], a.Addr[2], a.Addr[3]), Port: a.Port}
	case *unix.SockaddrInet6:
		ip := make(net.IP, net.IPv6len)
		copy(ip, a.Addr[:])
		addr := &net.UDPAddr{IP: ip, Port: a.Port}
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
