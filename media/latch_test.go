package media

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Media is taken only from the peer the SDP names (issue 14: a keypad
// verification could be hijacked by spraying RTP events at the port range
// before the callee's first packet).

// keySender sends RFC 4733 events from its own UDP socket.
type keySender struct {
	conn *net.UDPConn
	seq  uint16
	ts   uint32
}

func newKeySender(t *testing.T, ip string) *keySender {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot bind %s: %v", ip, err)
		}
		t.Skipf("cannot bind %s (a loopback address besides 127.0.0.1): %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &keySender{conn: conn, ts: 1000}
}

func (k *keySender) addr() netip.AddrPort { return k.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// press sends one key to dst: a start, an end and its two repeats.
func (k *keySender) press(t *testing.T, dst netip.AddrPort, key Digit) {
	t.Helper()
	code, _ := key.EventCode()
	k.ts += 8000
	for i, ev := range []Event{{Code: code, Volume: 10, Duration: 160}, {Code: code, End: true, Volume: 10, Duration: 800},
		{Code: code, End: true, Volume: 10, Duration: 800}, {Code: code, End: true, Volume: 10, Duration: 800}} {
		k.seq++
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: TelephoneEvent, SequenceNumber: k.seq, Timestamp: k.ts, SSRC: 7, Marker: i == 0}, Payload: ev.AppendTo(nil)}
		b, _ := pkt.Marshal()
		if _, err := k.conn.WriteToUDPAddrPort(b, dst); err != nil {
			t.Fatal(err)
		}
	}
}

// nextKey waits for the session's next key.
func nextKey(t *testing.T, s *Session) Digit {
	t.Helper()
	select {
	case d := <-s.DTMF():
		return d
	case <-time.After(waitTimeout):
		t.Fatal("no key within", waitTimeout)
		return 0
	}
}

func TestRTPFromElsewhereIsNeverTaken(t *testing.T) {
	a := listen(t)
	peer := newKeySender(t, "127.0.0.1")
	attacker := newKeySender(t, "127.0.0.2") // another host
	if err := a.Start(Negotiated{Remote: peer.addr(), Codec: CodecPCMU, EventPT: TelephoneEvent}); err != nil {
		t.Fatal(err)
	}
	// Before the peer's first packet: the attacker's key is dropped, the
	// peer's (sent after it, read after it) taken.
	attacker.press(t, a.LocalAddr(), '1')
	peer.press(t, a.LocalAddr(), '2')
	if k := nextKey(t, a); k != '2' {
		t.Fatalf("first key %c, want the peer's 2", k)
	}
	// After: the same.
	attacker.press(t, a.LocalAddr(), '3')
	peer.press(t, a.LocalAddr(), '4')
	if k := nextKey(t, a); k != '4' {
		t.Fatalf("second key %c, want the peer's 4", k)
	}
	// What a says goes to the peer alone.
	if got := a.RemoteAddr(); got != peer.addr() {
		t.Fatalf("a sends to %v, want the peer at %v", got, peer.addr())
	}
}

func TestLatchedOnceNeverSwitches(t *testing.T) {
	a := listen(t)
	// The SDP names a port of the peer's IP that nothing sends from (a NAT
	// in front of the peer changes it): the first source on that IP is
	// taken, and kept.
	first := newKeySender(t, "127.0.0.1")
	second := newKeySender(t, "127.0.0.1")
	sdp := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 9)
	if err := a.Start(Negotiated{Remote: sdp, Codec: CodecPCMU, EventPT: TelephoneEvent}); err != nil {
		t.Fatal(err)
	}
	first.press(t, a.LocalAddr(), '5')
	if k := nextKey(t, a); k != '5' {
		t.Fatalf("first key %c", k)
	}
	second.press(t, a.LocalAddr(), '6')
	first.press(t, a.LocalAddr(), '7')
	if k := nextKey(t, a); k != '7' {
		t.Fatalf("after a second source on the same IP: key %c, want 7 from the latched one", k)
	}
	if got := a.RemoteAddr(); got != first.addr() {
		t.Fatalf("a sends to %v, want %v", got, first.addr())
	}
}

func TestNoMediaTimeoutCountsFromTheEndOfAPrompt(t *testing.T) {
	a := listen(t)
	silent := listen(t) // a peer that sends nothing while it listens
	if err := a.Start(Negotiated{Remote: silent.LocalAddr(), Codec: CodecPCMU}, WithNoMediaTimeout(200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	// A prompt five times the timeout is spoken whole.
	prompt := make([]byte, 50*FrameSamples) // 1 s
	start := time.Now()
	if err := a.Play(context.Background(), prompt); err != nil {
		t.Fatalf("Play ended early: %v (after %v)", err, time.Since(start))
	}
	select {
	case <-a.Done():
	case <-time.After(waitTimeout):
		t.Fatal("session still running after", waitTimeout)
	}
	if quiet := time.Since(start); quiet < time.Second {
		t.Fatalf("session ended %v after a 1 s prompt began", quiet)
	}
}

func TestPortOrderVisitsEveryPortOnce(t *testing.T) {
	for _, n := range []int{1, 2, 7, 12, 8192} {
		o := newPortOrder(n)
		seen := make([]bool, n)
		for range n {
			i := o.next()
			if i < 0 || i >= n || seen[i] {
				t.Fatalf("n=%d: %d out of range or twice (a=%d b=%d)", n, i, o.a, o.b)
			}
			seen[i] = true
		}
	}
	// Two calls' orders differ: the same start and stride come once in
	// some 33 million draws.
	x, y := newPortOrder(8192), newPortOrder(8192)
	if x.a == y.a && x.b == y.b {
		t.Errorf("two orders drew the same start and stride: %+v", x)
	}
}
