package media

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Errors a Session ends with (see Session.Err) or returns from its methods.
var (
	// ErrNoMedia ends a session that received no RTP for its no-media
	// timeout: the peer is gone, and the call should be hung up.
	ErrNoMedia = errors.New("media: no RTP received")
	// ErrClosed ends a session closed with Close.
	ErrClosed = errors.New("media: session closed")
	// ErrNotStarted is returned by Play before Start.
	ErrNotStarted = errors.New("media: session not started")
)

// DefaultNoMediaTimeout is how long a started Session waits for RTP before
// it ends with ErrNoMedia, unless WithNoMediaTimeout says otherwise.
const DefaultNoMediaTimeout = 10 * time.Second

// dtmfBuffer is how many detected keys wait in the DTMF channel before
// further ones are dropped.
const dtmfBuffer = 32

// Session is one bidirectional RTP audio stream on a local UDP port. Listen
// binds it; Start, once the SDP exchange is done, points it at the peer and
// begins receiving; Play sends audio; DTMF delivers the peer's keys; Done is
// closed when it ends, by Close, a read error or the no-media timeout.
// Close must always be called to release the port. Its methods are safe for
// concurrent use.
type Session struct {
	conn   *net.UDPConn
	local  netip.AddrPort
	remote atomic.Pointer[netip.AddrPort] // where packets go; the latched source once there is one
	digits chan Digit
	done   chan struct{}

	// speaking counts the Plays sending now; quietSince is when the last
	// one ended (Unix nanoseconds): the no-media timeout counts from then.
	speaking   atomic.Int32
	quietSince atomic.Int64

	mu         sync.Mutex
	started    bool
	closed     bool
	err        error
	readerDone chan struct{} // closed when the receive loop has returned

	closeOnce sync.Once
	closeErr  error

	sendSem chan struct{} // held by the Play that is sending
	sender  sender        // owned by the holder of sendSem
	opts    options
	// srtp encrypts what the sender sends (its out buffer is the
	// sender's) and decrypts what the receive goroutine reads (its in
	// buffer is that goroutine's); nil for clear RTP.
	srtp *secure
}

// Listen binds a session to ip at an even UDP port of ports; ctx bounds the
// search. It returns an error wrapping ErrNoPort if every even port is in
// use. ip may be unspecified (0.0.0.0) to receive on all addresses; SDP
// must then carry an address the peer can reach, not LocalAddr's.
func Listen(ctx context.Context, ip netip.Addr, ports PortRange) (*Session, error) {
	conn, err := listenUDP(ctx, ip, ports)
	if err != nil {
		return nil, err
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return &Session{
		conn:    conn,
		local:   netip.AddrPortFrom(local.Addr().Unmap(), local.Port()),
		digits:  make(chan Digit, dtmfBuffer),
		done:    make(chan struct{}),
		sendSem: make(chan struct{}, 1),
	}, nil
}

// LocalAddr returns the address the session is bound to.
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// RemoteAddr returns where the session sends: the SDP address given to
// Start until the first RTP packet arrives, then that packet's source.
func (s *Session) RemoteAddr() netip.AddrPort {
	if p := s.remote.Load(); p != nil {
		return *p
	}
	return netip.AddrPort{}
}

// Option configures Start.
type Option func(*options)

type options struct {
	noMediaTimeout time.Duration
	detector       DetectorConfig
	inBand         bool
	audio          func(*rtp.Header, []int16)
	lateness       func(time.Duration) // for benchmarks: how late each packet left
}

// WithNoMediaTimeout ends the session with ErrNoMedia after d without
// inbound RTP from the peer, counted from Start; d <= 0 disables the
// timeout. Silence while the session plays audio does not count: a peer
// that sends nothing while it listens (voice activity detection) is given
// d from the end of the last Play. Default DefaultNoMediaTimeout.
func WithNoMediaTimeout(d time.Duration) Option {
	return func(o *options) { o.noMediaTimeout = d }
}

// WithDetector configures in-band DTMF detection.
func WithDetector(cfg DetectorConfig) Option {
	return func(o *options) { o.detector = cfg }
}

// WithoutInBandDTMF turns in-band DTMF detection off; only RFC 4733 events
// are reported.
func WithoutInBandDTMF() Option {
	return func(o *options) { o.inBand = false }
}

// WithAudioHandler has fn called with every inbound audio packet's header
// and its samples, decoded to linear PCM, in arrival order. fn runs on the
// session's receive goroutine: it must return quickly and must not retain
// the header or the samples after it returns.
func WithAudioHandler(fn func(hdr *rtp.Header, pcm []int16)) Option {
	return func(o *options) { o.audio = fn }
}

func withLateness(fn func(time.Duration)) Option {
	return func(o *options) { o.lateness = fn }
}

// Start points the session at the negotiated peer and codec and starts
// receiving. Inbound packets of neg.Codec (or of the other G.711 law's
// static type) are decoded for in-band DTMF detection; telephone-events of
// neg.EventPT and of SIPpEventPT are reported as keys too. With neg.SRTP
// every packet sent is encrypted and authenticated (SRTP, RFC 3711), and
// every packet received must authenticate, and not be a replay, or it is
// dropped, before it can latch the session or carry a key.
//
// Media (and so keys) is taken only from the peer the SDP names: the
// first RTP packet from neg.Remote's IP address latches the session to
// its source (that IP, and its port, which a NAT in front of the peer may
// have changed), the session sends there from then on (symmetric RTP, RFC
// 4961), and packets from any other source are dropped, then and for the
// rest of the call; the session never switches to another. Before that,
// it sends to neg.Remote. A peer whose SDP names no address (0.0.0.0) is
// never latched to. Start may be called once.
func (s *Session) Start(neg Negotiated, opts ...Option) error {
	if !neg.Codec.Law.Valid() {
		return fmt.Errorf("media: start: invalid codec %v", neg.Codec)
	}
	o := options{noMediaTimeout: DefaultNoMediaTimeout, inBand: true}
	for _, opt := range opts {
		opt(&o)
	}
	r := &receiver{codec: neg.Codec, eventPT: neg.EventPT, audio: o.audio}
	var sec *secure
	if neg.SRTP != nil {
		var err error
		if sec, err = newSecure(*neg.SRTP); err != nil {
			return fmt.Errorf("media: start: %w", err)
		}
	}
	if o.inBand {
		d, err := NewDetector(o.detector)
		if err != nil {
			return fmt.Errorf("media: start: %w", err)
		}
		r.detector = d
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed || s.err != nil:
		return fmt.Errorf("media: start: %w", s.errLocked())
	case s.started:
		return errors.New("media: start: already started")
	}
	s.started = true
	s.opts = o
	s.srtp = sec
	remote := netip.AddrPortFrom(neg.Remote.Addr().Unmap(), neg.Remote.Port())
	s.remote.Store(&remote)
	r.peer = remote.Addr()
	s.sender = newSender(neg.Codec, time.Now())
	s.readerDone = make(chan struct{})
	go s.receive(r, o.noMediaTimeout)
	return nil
}

// DTMF returns the keys the peer presses, from RFC 4733 events and from
// in-band tones, one per press, in order. The channel holds 32 keys; more
// are dropped while nobody reads. It is closed when the session ends.
func (s *Session) DTMF() <-chan Digit { return s.digits }

// Done returns a channel closed when the session ends; Err then says why.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns nil while the session runs, then why it ended: an error
// wrapping ErrNoMedia, ErrClosed, or a read error.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Session) errLocked() error {
	if s.err != nil {
		return s.err
	}
	return ErrClosed
}

// finish ends the session with err unless it has ended already.
func (s *Session) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		close(s.done)
	}
}

// Close ends the session (if it has not ended) with ErrClosed, releases its
// port and waits for its receive goroutine. A Play in progress returns.
// Calls after the first return the first's result.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.finish(ErrClosed)
		s.mu.Lock()
		s.closed = true
		readerDone := s.readerDone
		s.mu.Unlock()
		s.closeErr = s.conn.Close()
		if readerDone != nil {
			<-readerDone // the receive loop closes digits
		} else {
			close(s.digits)
		}
	})
	return s.closeErr
}

// sender is the outbound RTP state: one SSRC, a sequence number that
// counts every packet, and a timestamp that follows the clock.
type sender struct {
	hdr    rtp.Header
	law    Law
	tsBase uint32    // random timestamp of epoch
	epoch  time.Time // when the stream's clock started
	next   time.Time // the slot after the last packet sent; zero before any
	buf    []byte    // the packet being sent, reused
	pad    []byte    // a short last frame padded with silence, reused
}

func newSender(c Codec, now time.Time) sender {
	return sender{
		hdr: rtp.Header{
			Version:        2,
			PayloadType:    c.PT,
			SequenceNumber: uint16(rand.Uint32()),
			SSRC:           rand.Uint32(),
		},
		law:    c.Law,
		tsBase: rand.Uint32(),
		epoch:  now,
		buf:    make([]byte, 12+FrameSamples),
		pad:    make([]byte, FrameSamples),
	}
}

// Play sends audio, G.711 bytes in the negotiated codec (such as
// Prompts.Sequence returns), as 20 ms packets of 160 bytes, the last one
// padded with silence. Packet n leaves at start + n×20 ms on the monotonic
// clock, so lateness never accumulates. The first packet carries the marker
// bit, unless it directly follows the previous Play's last one in the same
// talkspurt. Play blocks until every packet has been sent, ctx ends
// (returning ctx.Err()), the session ends (returning Err()) or a send
// fails. Concurrent calls play one after another. Before the peer's address
// is known (an unspecified SDP address and no RTP yet) packets are paced
// but not sent.
func (s *Session) Play(ctx context.Context, audio []byte) error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return ErrNotStarted
	}
	select {
	case s.sendSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return s.Err()
	}
	defer func() { <-s.sendSem }()
	s.speaking.Add(1)
	defer func() {
		s.quietSince.Store(time.Now().UnixNano())
		s.speaking.Add(-1)
	}()
	return s.play(ctx, audio)
}

// silentSince is when the session last heard the peer (at) or stopped
// speaking, whichever is later; now while it speaks.
func (s *Session) silentSince(at time.Time) time.Time {
	if s.speaking.Load() > 0 {
		return time.Now()
	}
	if q := time.Unix(0, s.quietSince.Load()); q.After(at) {
		return q
	}
	return at
}
