package media

import (
	"context"
	"errors"
	"math"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// testPorts is where test sessions bind; the kernel's ephemeral ports
// (32768 and up) stay clear of it.
var testPorts = PortRange{Min: 21000, Max: 22998}

// waitTimeout bounds every wait for an event in these tests.
const waitTimeout = 10 * time.Second

func listen(t testing.TB) *Session {
	t.Helper()
	s, err := Listen(context.Background(), loopback, testPorts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// received is one packet seen by an audio handler.
type received struct {
	hdr rtp.Header
	pcm []int16
}

// collect returns an audio handler that sends copies of what it sees.
func collect() (func(*rtp.Header, []int16), <-chan received) {
	ch := make(chan received, 1024)
	return func(h *rtp.Header, pcm []int16) {
		ch <- received{h.Clone(), slices.Clone(pcm)}
	}, ch
}

// next waits for the next packet on ch.
func next(t testing.TB, ch <-chan received) received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitTimeout):
		t.Fatal("no packet within", waitTimeout)
		return received{}
	}
}

// sweep is n samples of a sine sweep across the telephone band, at -6 dBFS.
func sweep(n int) []int16 {
	pcm := make([]int16, n)
	phase := 0.0
	for i := range pcm {
		f := 300 + 3000*float64(i)/float64(n)
		phase += 2 * math.Pi * f / SampleRate
		pcm[i] = int16(16000 * math.Sin(phase))
	}
	return pcm
}

func TestSessionsExchangeAudio(t *testing.T) {
	tests := []struct {
		name  string
		codec Codec
	}{
		{"PCMU", CodecPCMU},
		{"PCMA", CodecPCMA},
		{"PCMU on dynamic type 97", Codec{ULaw, 97}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := listen(t), listen(t)
			handler, got := collect()
			if err := a.Start(Negotiated{Remote: b.LocalAddr(), Codec: tt.codec}); err != nil {
				t.Fatal(err)
			}
			if err := b.Start(Negotiated{Remote: a.LocalAddr(), Codec: tt.codec}, WithAudioHandler(handler)); err != nil {
				t.Fatal(err)
			}
			// 10 frames and a half: the last packet is padded with silence.
			src := sweep(10*FrameSamples + FrameSamples/2)
			audio := make([]byte, len(src))
			tt.codec.Law.Encode(audio, src)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := a.Play(ctx, audio); err != nil {
				t.Fatal(err)
			}
			// A second Play at once continues the same talkspurt.
			if err := a.Play(ctx, audio[:FrameSamples]); err != nil {
				t.Fatal(err)
			}

			var pcm []int16
			first := next(t, got)
			prev := first
			pcm = append(pcm, first.pcm...)
			if !first.hdr.Marker {
				t.Error("first packet has no marker bit")
			}
			for i := 1; i < 12; i++ {
				p := next(t, got)
				if p.hdr.Marker {
					t.Errorf("packet %d has the marker bit", i)
				}
				if p.hdr.SequenceNumber != prev.hdr.SequenceNumber+1 {
					t.Errorf("packet %d: sequence %d after %d", i, p.hdr.SequenceNumber, prev.hdr.SequenceNumber)
				}
				if p.hdr.Timestamp != prev.hdr.Timestamp+FrameSamples {
					t.Errorf("packet %d: timestamp %d after %d", i, p.hdr.Timestamp, prev.hdr.Timestamp)
				}
				if p.hdr.SSRC != first.hdr.SSRC {
					t.Errorf("packet %d: SSRC changed", i)
				}
				pcm = append(pcm, p.pcm...)
				prev = p
			}
			for i, p := range []received{first, prev} {
				if p.hdr.PayloadType != tt.codec.PT || p.hdr.Version != 2 || len(p.pcm) != FrameSamples {
					t.Errorf("packet %d: version %d, type %d, %d samples", i, p.hdr.Version, p.hdr.PayloadType, len(p.pcm))
				}
			}
			// The audio is the source within G.711's quantisation error
			// (under 1/16 of the amplitude, at least 2 steps near zero),
			// then silence.
			for i, s := range src {
				if d := math.Abs(float64(pcm[i]) - float64(s)); d > math.Max(72, math.Abs(float64(s))/16) {
					t.Fatalf("sample %d: got %d, sent %d", i, pcm[i], s)
				}
			}
			for i := len(src); i < 11*FrameSamples; i++ {
				if math.Abs(float64(pcm[i])) > 8 {
					t.Fatalf("padding sample %d = %d, want silence", i, pcm[i])
				}
			}
			if !slices.Equal(pcm[11*FrameSamples:], pcm[:FrameSamples]) {
				t.Error("second Play's audio differs from the first frame")
			}
		})
	}
}

func TestPlayMarksNewTalkspurt(t *testing.T) {
	a, b := listen(t), listen(t)
	handler, got := collect()
	if err := a.Start(Negotiated{Remote: b.LocalAddr(), Codec: CodecPCMU}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(Negotiated{Remote: a.LocalAddr(), Codec: CodecPCMU}, WithAudioHandler(handler)); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, FrameSamples)
	ctx := context.Background()
	if err := a.Play(ctx, frame); err != nil {
		t.Fatal(err)
	}
	// As if the first talkspurt had ended a second ago: the stream's clock
	// started a second earlier. Nothing else touches the sender between
	// Plays.
	a.sender.epoch = a.sender.epoch.Add(-time.Second)
	a.sender.next = a.sender.next.Add(-time.Second)
	if err := a.Play(ctx, frame); err != nil {
		t.Fatal(err)
	}
	p1, p2 := next(t, got), next(t, got)
	if !p1.hdr.Marker || !p2.hdr.Marker {
		t.Errorf("markers %v, %v: want both talkspurts marked", p1.hdr.Marker, p2.hdr.Marker)
	}
	if p2.hdr.SequenceNumber != p1.hdr.SequenceNumber+1 {
		t.Errorf("sequence %d after %d", p2.hdr.SequenceNumber, p1.hdr.SequenceNumber)
	}
	// The packets' starts are a second apart on the stream's clock.
	if gap := p2.hdr.Timestamp - p1.hdr.Timestamp; gap < SampleRate || gap > math.MaxInt32 {
		t.Errorf("timestamp advanced %d across a second, want at least %d", gap, SampleRate)
	}
}

func TestSymmetricRTPLatchesOnPeerSource(t *testing.T) {
	// a is told a port of b's address that b does not send from (a NAT
	// in front of b); the decoy socket there just exists.
	decoy, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer decoy.Close()
	a, b := listen(t), listen(t)
	aHandler, aGot := collect()
	bHandler, bGot := collect()
	if err := a.Start(Negotiated{Remote: decoy.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: CodecPCMA}, WithAudioHandler(aHandler)); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(Negotiated{Remote: a.LocalAddr(), Codec: CodecPCMA}, WithAudioHandler(bHandler)); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, FrameSamples)
	if err := b.Play(context.Background(), frame); err != nil {
		t.Fatal(err)
	}
	next(t, aGot)
	if got := a.RemoteAddr(); got != b.LocalAddr() {
		t.Fatalf("a sends to %v after b's packet, want %v", got, b.LocalAddr())
	}
	if err := a.Play(context.Background(), frame); err != nil {
		t.Fatal(err)
	}
	if p := next(t, bGot); p.hdr.PayloadType != PCMA {
		t.Errorf("b got payload type %d", p.hdr.PayloadType)
	}
}

func TestNoMediaTimeoutEndsSession(t *testing.T) {
	a := listen(t)
	silent := listen(t) // a peer that never sends
	if err := a.Start(Negotiated{Remote: silent.LocalAddr(), Codec: CodecPCMU}, WithNoMediaTimeout(200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Done():
	case <-time.After(waitTimeout):
		t.Fatal("session still running after", waitTimeout)
	}
	if err := a.Err(); !errors.Is(err, ErrNoMedia) {
		t.Fatalf("Err() = %v, want ErrNoMedia", err)
	}
	if _, open := <-a.DTMF(); open {
		t.Error("DTMF channel open after the session ended")
	}
	if err := a.Play(context.Background(), make([]byte, FrameSamples)); !errors.Is(err, ErrNoMedia) {
		t.Errorf("Play after the end = %v, want ErrNoMedia", err)
	}
}

func TestCloseEndsPlay(t *testing.T) {
	a, b := listen(t), listen(t)
	handler, got := collect()
	if err := a.Start(Negotiated{Remote: b.LocalAddr(), Codec: CodecPCMU}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(Negotiated{Remote: a.LocalAddr(), Codec: CodecPCMU}, WithAudioHandler(handler)); err != nil {
		t.Fatal(err)
	}
	played := make(chan error, 1)
	go func() { played <- a.Play(context.Background(), make([]byte, 500*FrameSamples)) }()
	next(t, got)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-played:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Play = %v, want ErrClosed", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Play still running after Close")
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := a.Start(Negotiated{Remote: b.LocalAddr(), Codec: CodecPCMU}); err == nil {
		t.Error("Start after Close succeeded")
	}
}

func TestPlayHonoursContext(t *testing.T) {
	a, b := listen(t), listen(t)
	if err := a.Play(context.Background(), []byte{1}); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Play before Start = %v", err)
	}
	if err := a.Start(Negotiated{Remote: b.LocalAddr(), Codec: CodecPCMU}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Play(ctx, make([]byte, 100*FrameSamples)); !errors.Is(err, context.Canceled) {
		t.Errorf("Play with a cancelled context = %v", err)
	}
}

func TestListenAllocatesEvenPortsInRange(t *testing.T) {
	r := PortRange{Min: 21001, Max: 21011} // even ports 21002 to 21010
	var sessions []*Session
	for range 5 {
		s, err := Listen(context.Background(), loopback, r)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sessions = append(sessions, s)
		p := int(s.LocalAddr().Port())
		if p%2 != 0 || p < r.Min || p > r.Max || s.LocalAddr().Addr() != loopback {
			t.Errorf("bound to %v, want an even port in %v on %v", s.LocalAddr(), r, loopback)
		}
	}
	_, err := Listen(context.Background(), loopback, r)
	if !errors.Is(err, ErrNoPort) {
		t.Fatalf("sixth Listen in a range of five ports: err = %v, want ErrNoPort", err)
	}
	// A released port can be taken again.
	freed := sessions[2].LocalAddr().Port()
	sessions[2].Close()
	s, err := Listen(context.Background(), loopback, r)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.LocalAddr().Port() != freed {
		t.Errorf("got port %d, want the freed %d", s.LocalAddr().Port(), freed)
	}
}

func TestListenRejectsBadRange(t *testing.T) {
	for _, r := range []PortRange{{0, 10}, {10, 5}, {21001, 21001}, {60000, 70000}} {
		if _, err := Listen(context.Background(), loopback, r); err == nil || errors.Is(err, ErrNoPort) {
			t.Errorf("Listen in %v: err = %v, want a range error", r, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Listen(ctx, loopback, testPorts); !errors.Is(err, context.Canceled) {
		t.Errorf("Listen with a cancelled context: err = %v", err)
	}
}

func TestSendDoesNotAllocate(t *testing.T) {
	a, b := listen(t), listen(t)
	if err := a.Start(Negotiated{Remote: b.LocalAddr(), Codec: CodecPCMU}); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, FrameSamples)
	allocs := testing.AllocsPerRun(100, func() {
		if err := a.send(payload, false, 0); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("send allocates %.1f times per packet", allocs)
	}
}

func TestReceiveDoesNotAllocate(t *testing.T) {
	d, err := NewDetector(DetectorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{codec: CodecPCMU, eventPT: 101, detector: d}
	pkt := rtpPacket(t, rtp.Header{Version: 2, PayloadType: PCMU, SequenceNumber: 1, Timestamp: 160, SSRC: 9}, make([]byte, FrameSamples))
	digits := make([]Digit, 0, 8)
	r.handle(pkt, digits) // sizes the sample buffer
	if allocs := testing.AllocsPerRun(100, func() { digits = r.handle(pkt, digits[:0]) }); allocs != 0 {
		t.Errorf("handle allocates %.1f times per packet", allocs)
	}
}
