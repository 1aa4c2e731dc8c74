// Package sip is ringproof's SIP user agent, built on sipgo. It places
// outbound calls to carrier trunks and takes inbound requests; it knows
// nothing of verifications, only of calls, their caller IDs and their fate.
package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// DefaultUDPReadBuffer is the receive buffer asked for when Options leave it
// at zero. The kernel caps it at net.core.rmem_max.
const DefaultUDPReadBuffer = 4 << 20

// DefaultStreamIdleTimeout is how long a TCP or TLS connection may stay
// silent before the endpoint closes it, when Options leave it at zero.
// Carriers keep idle connections open with CRLF or OPTIONS pings far more
// often; a peer that connects and sends nothing no longer holds a
// connection for ever.
const DefaultStreamIdleTimeout = 5 * time.Minute

// streamWriteTimeout bounds a write on a TCP or TLS connection whose peer
// stopped reading.
const streamWriteTimeout = 10 * time.Second

// Options configure an Endpoint.
type Options struct {
	// Listen is the IP:port for both UDP and TCP. Port 0 picks a free port
	// (the same one for both transports).
	Listen string
	// UDPReadBuffer is the UDP socket's receive buffer in bytes; under load
	// a small buffer drops 180s, which are never retransmitted. 0 means
	// DefaultUDPReadBuffer.
	UDPReadBuffer int
	// PollUDP reads the UDP socket through Go's network poller instead of
	// on an OS thread of its own (see udpsocket_linux.go; outside Linux
	// the poller is always used).
	PollUDP bool
	// TLSListen is the IP:port for SIP over TLS (RFC 3261 §26.3.1;
	// carriers use 5061). Empty means no TLS listener. It is needed for
	// trunks reached over TLS too: their Contact points at it, so that
	// requests within the call (a BYE) come back over TLS.
	TLSListen string
	// TLSServer holds the certificate the TLS listener presents; required
	// with TLSListen.
	TLSServer *tls.Config
	// TLSClient configures the TLS connections the endpoint opens to
	// trunks: the roots that verify a carrier's certificate (nil: the
	// system's) and a client certificate for carriers that ask for one.
	// The carrier's certificate must hold the host of the trunk's address.
	TLSClient *tls.Config
	// StreamIdleTimeout closes a TCP or TLS connection (either side's) that
	// has carried nothing for this long, TLS handshake included. 0 means
	// DefaultStreamIdleTimeout.
	StreamIdleTimeout time.Duration
	// AdmitStreams decides which sources may keep a TCP or TLS connection
	// open (the trunks' inbound_cidrs); others are closed before any read.
	// nil admits every source. See also Endpoint.AdmitStreams.
	AdmitStreams Admit
	// MaxTCPConnections caps the TCP and TLS connections accepted and
	// open at once, and MaxTCPConnectionsPerIP those of one source IP;
	// one more is closed at once. 0 means no cap.
	MaxTCPConnections      int
	MaxTCPConnectionsPerIP int
	// External is the IP address peers are told to send to (Via sent-by,
	// Contact, From), when it is not the host of Listen: behind NAT, or
	// with Listen on an unspecified address. The zero Addr means the host
	// of Listen, which must then not be unspecified.
	External netip.Addr
	// UserAgent is sent in the User-Agent header.
	UserAgent string
	// Logger receives diagnostics; nil means slog.Default().
	Logger *slog.Logger
}

// Endpoint is one SIP user agent listening on UDP and TCP at the same
// address, and on TLS when asked to. Requests it sends over UDP leave from
// the listening socket, so carriers that allow-list IP:port see the port
// they expect.
type Endpoint struct {
	ua        *sipgo.UserAgent
	server    *sipgo.Server
	client    *sipgo.Client
	addr      netip.AddrPort // bound, for UDP and TCP
	public    netip.Addr     // what peers are told: Options.External, else addr's
	userAgent string
	log       *slog.Logger

	udp     udpConn // see udpsocket_linux.go
	tcp     net.Listener
	tls     net.Listener   // nil without Options.TLSListen
	tlsAddr netip.AddrPort // where tls listens

	// Accepting TCP and TLS connections (accept.go).
	streamListeners []*streamListener
	streams         *streamConns
	admit           atomic.Pointer[Admit]
	udpDown         atomic.Pointer[error] // why UDP serving stopped, or nil

	counters inboundCounters
	// onInvite handles inbound INVITEs once ServeInbound or ServeHandset
	// has set it; sipgo's handler table must not change while serving.
	onInvite atomic.Pointer[sipgo.RequestHandler]
	// onMessage handles inbound MESSAGEs once ServeHandset has set it;
	// before, they get 405 like any method the endpoint does not take.
	onMessage atomic.Pointer[sipgo.RequestHandler]
	// dialogs maps Call-ID to the *Dialog of answered calls.
	dialogs sync.Map
	// fast sends flash calls' CANCELs from the UDP read goroutine.
	fast *fastCancels

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Listen opens the UDP socket and TCP listener and starts serving. Handlers
// for inbound requests may be added with Handle before or after.
func Listen(ctx context.Context, o Options) (*Endpoint, error) {
	ap, err := netip.ParseAddrPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("sip: listen address %q: %w", o.Listen, err)
	}
	if o.UDPReadBuffer <= 0 {
		o.UDPReadBuffer = DefaultUDPReadBuffer
	}
	if o.UserAgent == "" {
		o.UserAgent = "ringproof"
	}
	if o.StreamIdleTimeout <= 0 {
		o.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}

	var tlsAP netip.AddrPort
	if o.TLSListen != "" {
		if tlsAP, err = netip.ParseAddrPort(o.TLSListen); err != nil {
			return nil, fmt.Errorf("sip: TLS listen address %q: %w", o.TLSListen, err)
		}
		if o.TLSServer == nil || (len(o.TLSServer.Certificates) == 0 && o.TLSServer.GetCertificate == nil) {
			return nil, fmt.Errorf("sip: TLS listen address %q: no certificate", o.TLSListen)
		}
	}

	udp, tcp, err := listenPair(ctx, ap, !o.PollUDP, log)
	if err != nil {
		return nil, err
	}
	// Accept loops that survive failures, and screen sources (accept.go).
	var e *Endpoint
	conns := &streamConns{max: o.MaxTCPConnections, perIP: o.MaxTCPConnectionsPerIP}
	admission := func() Admit { return e.admission() }
	tcpL := newStreamListener(tcp, "TCP", admission, conns, log)
	tcp = tcpL
	streamListeners := []*streamListener{tcpL}
	var tlsLn net.Listener
	if o.TLSListen != "" {
		var lc net.ListenConfig
		raw, err := lc.Listen(ctx, "tcp", tlsAP.String())
		if err != nil {
			udp.Close()
			tcp.Close()
			return nil, fmt.Errorf("sip: listen tls %s: %w", tlsAP, err)
		}
		tlsAP = raw.Addr().(*net.TCPAddr).AddrPort()
		tlsAP = netip.AddrPortFrom(tlsAP.Addr().Unmap(), tlsAP.Port())
		tlsL := newStreamListener(raw, "TLS", admission, conns, log)
		streamListeners = append(streamListeners, tlsL)
		tlsLn = tls.NewListener(tlsL, o.TLSServer)
	}
	closeListeners := func() {
		udp.Close()
		tcp.Close()
		if tlsLn != nil {
			tlsLn.Close()
		}
	}
	if err := udp.SetReadBuffer(o.UDPReadBuffer); err != nil {
		log.Warn("sip: cannot set UDP receive buffer", "bytes", o.UDPReadBuffer, "err", err)
	}
	bound := udp.LocalAddr().(*net.UDPAddr).AddrPort()
	bound = netip.AddrPortFrom(bound.Addr().Unmap(), bound.Port())
	public := bound.Addr()
	if o.External.IsValid() {
		public = o.External.Unmap()
	}
	if public.IsUnspecified() {
		closeListeners()
		return nil, fmt.Errorf("sip: listen address %q is unspecified: say what peers reach with Options.External", o.Listen)
	}

	fast := newFastCancels(udp)
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent(o.UserAgent), sipgo.WithUserAgentHostname(public.String()),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
			if e != nil {
				e.ackStray(r)
			}
		})),
		// One call: each replaces the options before it. The read filter
		// comes first, so that the stream transports below take it too.
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerReadFilter(fast.filter),
			sip.WithTransportLayerTransports(sip.TransportsConfig{
				TCP: &sip.TransportTCP{ReadTimeout: o.StreamIdleTimeout, WriteTimeout: streamWriteTimeout},
				TLS: &sip.TransportTLS{TransportTCP: &sip.TransportTCP{ReadTimeout: o.StreamIdleTimeout, WriteTimeout: streamWriteTimeout}},
			}))}
	if o.TLSClient != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(o.TLSClient))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		closeListeners()
		return nil, fmt.Errorf("sip: user agent: %w", err)
	}
	server, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		ua.Close()
		closeListeners()
		return nil, fmt.Errorf("sip: server: %w", err)
	}
	// Via names the public address, with rport (RFC 3581): a peer answers
	// where a request came from, through any NAT on the way.
	client, err := sipgo.NewClient(ua,
		sipgo.WithClientHostname(public.String()),
		sipgo.WithClientPort(int(bound.Port())),
		sipgo.WithClientNAT(),
		sipgo.WithClientLogger(log))
	if err != nil {
		ua.Close()
		closeListeners()
		return nil, fmt.Errorf("sip: client: %w", err)
	}
	e = &Endpoint{
		ua: ua, server: server, client: client,
		addr: bound, public: public, userAgent: o.UserAgent, log: log,
		udp: udp, tcp: tcp, tls: tlsLn, tlsAddr: tlsAP, fast: fast,
		streamListeners: streamListeners, streams: conns,
	}
	e.AdmitStreams(o.AdmitStreams)
	server.OnOptions(e.wellFormed(e.answerOptions))
	server.OnInvite(e.wellFormed(e.dispatchInvite))
	server.OnAck(e.wellFormed(e.answerAck))
	server.OnBye(e.wellFormed(e.answerBye))
	server.OnInfo(e.wellFormed(e.answerInfo))
	server.OnMessage(e.wellFormed(e.dispatchMessage))
	server.OnCancel(e.wellFormed(e.answerStrayCancel))
	server.OnNoRoute(e.wellFormed(e.methodNotAllowed))

	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		if err := server.ServeUDP(udp); err != nil && !errors.Is(err, net.ErrClosed) {
			e.udpDown.Store(&err)
			log.Error("sip: UDP serving stopped", "err", err)
		}
	}()
	go e.serveStream(tcpL, server.ServeTCP)
	if tlsLn != nil {
		e.wg.Add(1)
		go e.serveStream(streamListeners[1], func(net.Listener) error { return server.ServeTLS(tlsLn) })
	}
	// Requests leave from the listening socket only once the transport
	// layer knows it; until then it would try to bind the port again.
	if err := e.waitUDPReady(ctx, udp.LocalAddr().String()); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// waitUDPReady waits until sipgo's UDP transport has registered the
// listening socket.
func (e *Endpoint) waitUDPReady(ctx context.Context, addr string) error {
	pool := e.ua.TransportLayer().Pool("udp")
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for pool.Get(addr) == nil {
		select {
		case <-ctx.Done():
			return fmt.Errorf("sip: listen %s: %w", addr, ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("sip: listen %s: UDP transport did not start", addr)
		case <-tick.C:
		}
	}
	return nil
}

// listenPair binds UDP and TCP on the same IP and port. With port 0 it
// retries a few times, since the kernel's free UDP port may be taken on TCP.
func listenPair(ctx context.Context, ap netip.AddrPort, ownThread bool, log *slog.Logger) (udpConn, net.Listener, error) {
	var lc net.ListenConfig
	tries := 1
	if ap.Port() == 0 {
		tries = 10
	}
	var lastErr error
	for range tries {
		udp, err := listenUDP(ap, ownThread, log)
		if err != nil {
			return nil, nil, fmt.Errorf("sip: listen udp %s: %w", ap, err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcpAddr := netip.AddrPortFrom(ap.Addr(), uint16(port))
		tcp, err := lc.Listen(ctx, "tcp", tcpAddr.String())
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		lastErr = fmt.Errorf("sip: listen tcp %s: %w", tcpAddr, err)
	}
	return nil, nil, lastErr
}

// FastCancels is how many CANCELs the endpoint has sent from its UDP read
// path, the moment a 180 or 183 was read (see fastcancel.go).
func (e *Endpoint) FastCancels() int64 { return e.fast.fired.Load() }

// Addr is the address the endpoint listens on, for UDP and TCP alike.
func (e *Endpoint) Addr() netip.AddrPort { return e.addr }

// Public is the address peers are told to send UDP and TCP to: Options'
// External (else the listening host) with the listening port.
func (e *Endpoint) Public() netip.AddrPort { return e.publicAddr() }

// TLSAddr is the address the endpoint listens on for TLS; the zero
// AddrPort when it has no TLS listener.
func (e *Endpoint) TLSAddr() netip.AddrPort { return e.tlsAddr }

// dispatchInvite passes an inbound INVITE to the handler in force; before
// there is one the endpoint takes no calls.
func (e *Endpoint) dispatchInvite(req *sip.Request, tx sip.ServerTransaction) {
	if h := e.onInvite.Load(); h != nil {
		(*h)(req, tx)
		return
	}
	e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil))
}

// dispatchMessage passes an inbound MESSAGE to the handler in force, or
// answers 405: ringproof itself takes no texts.
func (e *Endpoint) dispatchMessage(req *sip.Request, tx sip.ServerTransaction) {
	if h := e.onMessage.Load(); h != nil {
		(*h)(req, tx)
		return
	}
	e.methodNotAllowed(req, tx)
}

// allowed are the methods the endpoint takes, for Allow headers.
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"

// methodNotAllowed answers a request whose method the endpoint does not
// take (REGISTER, SUBSCRIBE...) with 405 and the methods it does, as RFC
// 3261 §8.2.1 asks. Anyone who reaches the port can send these as fast as
// they like, so, unlike sipgo's own answer, it logs nothing.
func (e *Endpoint) methodNotAllowed(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	e.respond(tx, res)
}

// setInviteHandler installs h for inbound INVITEs.
func (e *Endpoint) setInviteHandler(h sipgo.RequestHandler) { e.onInvite.Store(&h) }

// Close stops listening and ends every transaction. It is safe to call more
// than once.
func (e *Endpoint) Close() error {
	var err error
	e.closeOnce.Do(func() {
		e.endDialogs()
		e.udp.Close()
		e.tcp.Close()
		if e.tls != nil {
			e.tls.Close()
		}
		err = e.ua.Close()
		e.wg.Wait()
	})
	return err
}

// answerOptions replies 200 to OPTIONS pings: carriers use them to see that
// a trunk is up.
func (e *Endpoint) answerOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	if err := tx.Respond(res); err != nil {
		e.log.Debug("sip: OPTIONS reply failed", "err", err)
	}
}

// ackStray acknowledges a final error response to an INVITE that arrives
// after its transaction ended: a carrier retransmits its 487 until it sees
// an ACK, and counts a call without one as failed. Per RFC 3261 §17.1.1.3
// the ACK carries the response's Via (the INVITE's branch), From, To,
// Call-ID and CSeq number.
func (e *Endpoint) ackStray(r *sip.Response) {
	cseq := r.CSeq()
	if cseq == nil || cseq.MethodName != sip.INVITE || r.StatusCode < 300 || r.Via() == nil || r.To() == nil || r.From() == nil || r.CallID() == nil {
		return
	}
	ack := sip.NewRequest(sip.ACK, *r.To().Address.Clone())
	ack.AppendHeader(sip.HeaderClone(r.Via()))
	maxFwd := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&maxFwd)
	ack.AppendHeader(sip.HeaderClone(r.From()))
	ack.AppendHeader(sip.HeaderClone(r.To()))
	ack.AppendHeader(sip.HeaderClone(r.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: cseq.SeqNo, MethodName: sip.ACK})
	ack.SetBody(nil)
	ack.SetTransport(r.Transport())
	ack.SetDestination(r.Source())
	e.sendFrom(ack)
	if err := e.client.WriteRequest(ack, noBuild); err != nil {
		e.log.Debug("sip: ACK for a retransmitted response failed", "err", err)
	}
}

// SetLibraryLogger routes the log lines sipgo writes outside any endpoint
// (its transaction and transport layers) to l. sipgo keeps that logger
// process-wide, so call this once, at start-up, with the redacting logger.
//
// sipgo reports a stream connection closed for its silence (see
// Options.StreamIdleTimeout) as an error; those lines are logged at debug
// level instead, since closing it was the point. What sipgo logs about its
// peers' messages is kept bounded (libflood.go): each of its messages at
// most once a second, each value cut to 512 bytes.
func SetLibraryLogger(l *slog.Logger) {
	sip.SetDefaultLogger(slog.New(idleCloses{newLibFlood(l.Handler())}))
}

// sendFrom pins a request sent over UDP to the listening socket.
func (e *Endpoint) sendFrom(req *sip.Request) {
	if sip.NetworkToLower(req.Transport()) != "udp" {
		return
	}
	req.Laddr = sip.Addr{IP: net.IP(e.addr.Addr().AsSlice()), Port: int(e.addr.Port()), Hostname: e.addr.Addr().String()}
}
