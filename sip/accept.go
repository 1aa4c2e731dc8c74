package sip

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Accept back-off, as net/http's: after a failed accept (out of file
// descriptors, most often) wait acceptBackoffMin, doubling up to
// acceptBackoffMax, and try again.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
	// acceptLogEvery spaces the ERROR lines of a listener that keeps
	// failing.
	acceptLogEvery = 10 * time.Second
)

// StreamStats counts the TCP and TLS connections the endpoint accepted.
type StreamStats struct {
	// Open is how many accepted connections are open now.
	Open int64
	// Refused counts connections closed at once because their source is
	// in no trunk's inbound_cidrs (Options.AdmitStreams).
	Refused int64
	// OverCap counts connections closed at once because the endpoint
	// (Options.MaxTCPConnections) or their source IP
	// (Options.MaxTCPConnectionsPerIP) had as many as allowed.
	OverCap int64
	// AcceptErrors counts failed accepts (out of file descriptors, most
	// often); each was retried.
	AcceptErrors int64
}

// streamConns counts the open connections accepted by an endpoint's TCP
// and TLS listeners, in all and per source IP, against their caps.
type streamConns struct {
	max, perIP int // 0: no cap

	mu    sync.Mutex
	open  int
	byIP  map[netip.Addr]int
	stats struct{ refused, overCap, acceptErrors atomic.Int64 }
}

// acquire counts a connection from ip, or reports false when a cap is
// reached.
func (c *streamConns) acquire(ip netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if (c.max > 0 && c.open >= c.max) || (c.perIP > 0 && c.byIP[ip] >= c.perIP) {
		return false
	}
	if c.byIP == nil {
		c.byIP = map[netip.Addr]int{}
	}
	c.open++
	c.byIP[ip]++
	return true
}

func (c *streamConns) release(ip netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open--
	if c.byIP[ip]--; c.byIP[ip] <= 0 {
		delete(c.byIP, ip)
	}
}

// countedConn releases its place in streamConns when closed, once.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// streamListener is what sipgo's TCP and TLS transports accept from (for
// TLS, beneath the TLS layer). Unlike a bare listener, whose first failed
// Accept ends sipgo's accept loop for good, it retries failures with a
// back-off, logging them at ERROR, and reports itself down meanwhile. It
// closes at once, before any read, connections from sources the endpoint
// does not admit and connections beyond the caps.
type streamListener struct {
	net.Listener
	name  string // "TCP" or "TLS", for logs and Ready
	admit func() Admit
	conns *streamConns
	log   *slog.Logger

	closed chan struct{}
	once   sync.Once
	// down holds the error that makes the listener down (a failed accept
	// not yet followed by a working one), or nil.
	down atomic.Pointer[error]
}

func newStreamListener(l net.Listener, name string, admit func() Admit, conns *streamConns, log *slog.Logger) *streamListener {
	return &streamListener{Listener: l, name: name, admit: admit, conns: conns, log: log, closed: make(chan struct{})}
}

// deadliner is a listener whose Accept can time out (*net.TCPListener).
type deadliner interface{ SetDeadline(time.Time) error }

// Accept returns the next admitted connection. It fails only once the
// listener is closed.
func (l *streamListener) Accept() (net.Conn, error) {
	var (
		backoff  time.Duration
		failures int
		lastLog  time.Time
	)
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case <-l.closed:
				return nil, err
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			if ne := net.Error(nil); failures > 0 && errors.As(err, &ne) && ne.Timeout() {
				// After failures, an accept that merely waited for a
				// connection shows the listener works again.
				l.recovered(failures)
				failures, backoff = 0, 0
				continue
			}
			failures++
			l.conns.stats.acceptErrors.Add(1)
			l.down.Store(&err)
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			if failures == 1 || time.Since(lastLog) >= acceptLogEvery {
				l.log.Error("sip: accepting a connection failed; retrying", "listener", l.name, "err", err, "failures", failures, "retry_in", backoff)
				lastLog = time.Now()
			}
			t := time.NewTimer(backoff)
			select {
			case <-l.closed:
				t.Stop()
				return nil, net.ErrClosed
			case <-t.C:
			}
			// Wait for the next connection no longer than a second, so
			// that a quiet listener is seen to work again.
			if d, ok := l.Listener.(deadliner); ok {
				_ = d.SetDeadline(time.Now().Add(acceptBackoffMax))
			}
			continue
		}
		if failures > 0 {
			l.recovered(failures)
			failures, backoff = 0, 0
		}
		if c, ok := l.screen(c); ok {
			return c, nil
		}
	}
}

// recovered marks the listener up after failures.
func (l *streamListener) recovered(failures int) {
	if d, ok := l.Listener.(deadliner); ok {
		_ = d.SetDeadline(time.Time{})
	}
	if l.down.Swap(nil) != nil {
		l.log.Warn("sip: accepting connections again", "listener", l.name, "failures", failures)
	}
}

// screen admits c, or closes it: from a source the endpoint does not
// admit, or over a cap.
func (l *streamListener) screen(c net.Conn) (net.Conn, bool) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	src := ap.Addr().Unmap()
	if err != nil {
		c.Close()
		return nil, false
	}
	if a := l.admit(); a != nil && !a(src) {
		c.Close()
		l.conns.stats.refused.Add(1)
		l.log.Debug("sip: connection from outside every trunk's inbound_cidrs closed", "listener", l.name, "src", src)
		return nil, false
	}
	if !l.conns.acquire(src) {
		c.Close()
		if n := l.conns.stats.overCap.Add(1); n == 1 || n%1000 == 0 {
			l.log.Warn("sip: connection closed: too many open (sip.max_tcp_connections, sip.max_tcp_connections_per_ip)", "listener", l.name, "src", src, "closed_so_far", n)
		}
		return nil, false
	}
	return &countedConn{Conn: c, release: func() { l.conns.release(src) }}, true
}

// Close closes the listener; a pending Accept returns.
func (l *streamListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// ready returns nil when the listener accepts connections, else why not.
func (l *streamListener) ready() error {
	if err := l.down.Load(); err != nil {
		return fmt.Errorf("sip %s listener %s cannot accept: %w", l.name, l.Addr(), *err)
	}
	return nil
}

// serveStream runs serve (sipgo's TCP or TLS accept loop) on l until l
// closes. Should the loop end otherwise, l is down for good: the error is
// logged and Ready reports it.
func (e *Endpoint) serveStream(l *streamListener, serve func(net.Listener) error) {
	defer e.wg.Done()
	err := serve(l)
	select {
	case <-l.closed:
		return
	default:
	}
	if err == nil {
		err = errors.New("accept loop ended")
	}
	l.down.Store(&err)
	e.log.Error("sip: listener stopped: no more connections are accepted on it", "listener", l.name, "addr", l.Addr().String(), "err", err)
}

// Ready returns nil when every listener of the endpoint takes traffic,
// else an error naming the one that does not (a TCP or TLS listener out of
// file descriptors, or whose accept loop ended): for /readyz.
func (e *Endpoint) Ready() error {
	if err := e.udpDown.Load(); err != nil {
		return fmt.Errorf("sip UDP socket %s stopped: %w", e.addr, *err)
	}
	for _, l := range e.streamListeners {
		if err := l.ready(); err != nil {
			return err
		}
	}
	return nil
}

// AdmitStreams replaces the policy deciding which sources may keep a TCP
// or TLS connection open (Options.AdmitStreams); nil admits every source.
// It applies to connections accepted from then on.
func (e *Endpoint) AdmitStreams(a Admit) { e.admit.Store(&a) }

// admission returns the policy in force, or nil.
func (e *Endpoint) admission() Admit {
	if a := e.admit.Load(); a != nil {
		return *a
	}
	return nil
}

// StreamStats returns the TCP and TLS connection counts so far.
func (e *Endpoint) StreamStats() StreamStats {
	e.streams.mu.Lock()
	open := e.streams.open
	e.streams.mu.Unlock()
	return StreamStats{
		Open:         int64(open),
		Refused:      e.streams.stats.refused.Load(),
		OverCap:      e.streams.stats.overCap.Load(),
		AcceptErrors: e.streams.stats.acceptErrors.Load(),
	}
}
