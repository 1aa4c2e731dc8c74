package sip

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

const ringing = "SIP/2.0 180 Ringing\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-abc;rport=5060, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-other\r\n" +
	"Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK-third\r\n" +
	"From: <sip:+442079461234@127.0.0.1>;tag=1\r\n" +
	"To: <sip:+447911123456@carrier>;tag=2\r\n" +
	"Call-ID: c1\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestResponseParts(t *testing.T) {
	for _, tt := range []struct {
		name   string
		msg    string
		code   int
		branch string
		cancel bool
	}{
		{"180", ringing, 180, "z9hG4bK-abc", false},
		{"compact via, 183", "SIP/2.0 183 Session Progress\r\nv: SIP/2.0/UDP h;branch=z9hG4bK-x\r\ncseq: 7 INVITE\r\n\r\n", 183, "z9hG4bK-x", false},
		{"200 to a CANCEL", "SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=b1\nCSeq: 1 CANCEL\n\n", 200, "b1", true},
		{"request", "INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=b\r\n\r\n", 0, "b", false},
		{"no via", "SIP/2.0 180 Ringing\r\nCSeq: 1 INVITE\r\n\r\n", 180, "", false},
		{"via after the headers", "SIP/2.0 180 Ringing\r\n\r\nVia: SIP/2.0/UDP h;branch=b\r\n", 180, "", false},
		{"via without branch", "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h\r\n\r\n", 180, "", false},
		{"bad code", "SIP/2.0 18x Ringing\r\n", 0, "", false},
		{"short", "SIP/2.0 1", 0, "", false},
		{"empty", "", 0, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, ok := responseCode([]byte(tt.msg))
			if code != tt.code || ok != (tt.code != 0) {
				t.Errorf("code %d %v, want %d", code, ok, tt.code)
			}
			if b := string(topBranch([]byte(tt.msg))); b != tt.branch {
				t.Errorf("branch %q, want %q", b, tt.branch)
			}
			if c := cseqMethodIs([]byte(tt.msg), "CANCEL"); c != tt.cancel {
				t.Errorf("CSeq CANCEL %v, want %v", c, tt.cancel)
			}
		})
	}
}

// TestFilterSendsTheArmedCancelOnce: the first 180 or 183 of an armed
// INVITE sends its CANCEL, retransmissions do not, the CANCEL's answer is
// dropped and noted, and everything else passes untouched.
func TestFilterSendsTheArmedCancelOnce(t *testing.T) {
	carrier, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer carrier.Close()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	f := newFastCancels(conn.(*net.UDPConn))

	invite := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "+447911123456", Host: "carrier"})
	invite.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5060,
		Params: sip.HeaderParams{{K: "branch", V: "z9hG4bK-abc"}}})
	invite.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+442079461234", Host: "127.0.0.1"}, Params: sip.HeaderParams{{K: "tag", V: "1"}}})
	invite.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "+447911123456", Host: "carrier"}})
	callID := sip.CallIDHeader("c1")
	invite.AppendHeader(&callID)
	invite.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	invite.SetTransport("UDP")
	invite.SetDestination(carrier.LocalAddr().String())
	a := f.arm(invite)
	if a == nil {
		t.Fatal("a UDP INVITE to an IP address was not armed")
	}
	udp := sip.TransportReadProps{Transport: "UDP"}

	if out, _ := f.filter(sip.TransportReadProps{Transport: "TCP"}, []byte(ringing)); string(out) != ringing || f.fired.Load() != 0 {
		t.Fatal("a 180 over TCP fired the UDP fast path")
	}
	for range 2 { // the 180 and its retransmission
		if out, err := f.filter(udp, []byte(ringing)); err != nil || string(out) != ringing {
			t.Fatalf("the 180 did not pass on: %q %v", out, err)
		}
	}
	if f.fired.Load() != 1 {
		t.Fatalf("%d CANCELs fired, want 1", f.fired.Load())
	}
	buf := make([]byte, 2048)
	n, _, err := carrier.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	cancel, err := sip.ParseMessage(buf[:n])
	if err != nil {
		t.Fatalf("CANCEL does not parse: %v\n%s", err, buf[:n])
	}
	req, ok := cancel.(*sip.Request)
	if !ok || req.Method != sip.CANCEL || req.CSeq().SeqNo != 1 || req.CSeq().MethodName != sip.CANCEL {
		t.Fatalf("sent %s", buf[:n])
	}
	if b, _ := req.Via().Params.Get("branch"); b != "z9hG4bK-abc" {
		t.Fatalf("CANCEL branch %q, want the INVITE's", b)
	}
	if f.send(a) {
		t.Fatal("the call's goroutine sent the CANCEL a second time")
	}

	ok200 := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-abc\r\nCSeq: 1 CANCEL\r\n\r\n"
	if out, err := f.filter(udp, []byte(ok200)); err != nil || out != nil {
		t.Fatalf("the CANCEL's 200 was passed to sipgo: %q %v", out, err)
	}
	select {
	case <-a.answered:
	default:
		t.Fatal("the CANCEL's 200 was not noted")
	}
	other := "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-unknown\r\nCSeq: 1 INVITE\r\n\r\n"
	if out, _ := f.filter(udp, []byte(other)); string(out) != other || f.fired.Load() != 1 {
		t.Fatal("a 180 of another INVITE fired")
	}
	f.disarm(a)
	if f.lookup([]byte("z9hG4bK-abc")) != nil {
		t.Fatal("still armed after disarm")
	}
}

func FuzzFilter(f *testing.F) {
	f.Add([]byte(ringing))
	f.Add([]byte("SIP/2.0 200 OK\r\nv: x;branch=b\r\nCSeq: 1 CANCEL\r\n\r\n"))
	f.Add([]byte("SIP/2.0 183 \r\nVia:branch=\r\n"))
	fc := newFastCancels(nil)
	a := &armedCancel{branch: "b", answered: make(chan struct{})}
	a.sent.Store(true) // already sent: the fuzzer has no socket to send on
	fc.armed["b"] = a
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := fc.filter(sip.TransportReadProps{Transport: "UDP"}, data)
		if err != nil || (out != nil && string(out) != string(data)) {
			t.Fatalf("filter changed a datagram: %q %v", out, err)
		}
	})
}

// udpCarrier is a carrier played by hand over UDP, for the orders of
// messages SIPp cannot be made to produce. It stops answering after 20 s.
type udpCarrier struct {
	conn net.PacketConn
	buf  []byte
}

func newUDPCarrier(t *testing.T) *udpCarrier {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	return &udpCarrier{conn: conn, buf: make([]byte, 4096)}
}

func (c *udpCarrier) addr() string { return c.conn.LocalAddr().String() }

// read returns the next request and where it came from; nil if none came
// in time or it was not a request.
func (c *udpCarrier) read() (*sip.Request, net.Addr) {
	n, from, err := c.conn.ReadFrom(c.buf)
	if err != nil {
		return nil, nil
	}
	m, err := sip.ParseMessage(c.buf[:n])
	if err != nil {
		return nil, nil
	}
	req, _ := m.(*sip.Request)
	return req, from
}

// send writes res to to, with the carrier's To tag unless tag is false.
func (c *udpCarrier) send(res *sip.Response, to net.Addr, tag bool) {
	if tag {
		res.To().Params.Add("tag", "carrier")
	}
	c.conn.WriteTo([]byte(res.String()), to)
}

// TestUnansweredCancelIsRetransmitted plays a carrier that ignores the first
// CANCEL: the read path's CANCEL must be sent again (RFC 3261 §17.1.2.2,
// Timer E), identical, and the call end as cancelled once it is answered.
func TestUnansweredCancelIsRetransmitted(t *testing.T) {
	e := newTestEndpoint(t)
	carrier := newUDPCarrier(t)
	type cancels struct{ first, second *sip.Request }
	got := make(chan cancels, 1)
	go func() {
		defer close(got)
		invite, from := carrier.read()
		if invite == nil || invite.Method != sip.INVITE {
			t.Errorf("carrier: want an INVITE first, got %v", invite)
			return
		}
		carrier.send(sip.NewResponseFromRequest(invite, 180, "Ringing", nil), from, true)
		first, _ := carrier.read()  // ignored
		second, _ := carrier.read() // answered
		if first == nil || second == nil {
			return
		}
		carrier.send(sip.NewResponseFromRequest(second, 200, "OK", nil), from, true)
		carrier.send(sip.NewResponseFromRequest(invite, 487, "Request Terminated", nil), from, true)
		if ack, _ := carrier.read(); ack == nil || ack.Method != sip.ACK {
			t.Errorf("carrier: want the ACK of the 487, got %v", ack)
		}
		got <- cancels{first, second}
	}()
	final := e.Flash(context.Background(), testCall(carrier.addr(), "udp"), FlashOptions{Timeout: 10 * time.Second}, nil)
	c, ok := <-got
	if !ok {
		t.Fatal("the carrier did not see two CANCELs, a 200 and an ACK")
	}
	if final.Kind != EventCancelled || final.Status != 487 {
		t.Fatalf("final %+v", final)
	}
	if c.first.Method != sip.CANCEL || c.first.String() != c.second.String() {
		t.Fatalf("the retransmission differs:\n%s\n%s", c.first, c.second)
	}
	if e.FastCancels() != 1 {
		t.Fatalf("%d CANCELs from the read path, want 1", e.FastCancels())
	}
}

// TestFinalResponseOvertakingTheRing: sipgo hands each response to the
// transaction from a goroutine of its own, so the 487 that answers the
// read path's CANCEL can reach the call before the 180 does, or the 180
// never does. Here the carrier's 180 lacks a CSeq, which the read path
// does not need but sipgo's transaction matching does: the call must still
// report the ring and end cancelled, not failed.
func TestFinalResponseOvertakingTheRing(t *testing.T) {
	e := newTestEndpoint(t)
	carrier := newUDPCarrier(t)
	done := make(chan error, 1)
	go func() {
		invite, from := carrier.read()
		if invite == nil || invite.Method != sip.INVITE {
			done <- fmt.Errorf("want an INVITE, got %v", invite)
			return
		}
		ring := sip.NewResponseFromRequest(invite, 180, "Ringing", nil)
		ring.To().Params.Add("tag", "carrier")
		ring.RemoveHeader("CSeq")
		carrier.send(ring, from, false)
		cancel, _ := carrier.read()
		if cancel == nil || cancel.Method != sip.CANCEL {
			done <- fmt.Errorf("want the CANCEL, got %v", cancel)
			return
		}
		carrier.send(sip.NewResponseFromRequest(cancel, 200, "OK", nil), from, false)
		carrier.send(sip.NewResponseFromRequest(invite, 487, "Request Terminated", nil), from, true)
		if ack, _ := carrier.read(); ack == nil || ack.Method != sip.ACK {
			done <- fmt.Errorf("want the ACK of the 487, got %v", ack)
			return
		}
		done <- nil
	}()
	var rec recorder
	final := e.Flash(context.Background(), testCall(carrier.addr(), "udp"), FlashOptions{Timeout: 10 * time.Second}, rec.report)
	if err := <-done; err != nil {
		t.Fatalf("carrier: %v", err)
	}
	want := []EventKind{EventDialing, EventRinging, EventCancelled}
	if !slices.Equal(rec.kinds(), want) || rec.events[1].Status != 180 || final.Kind != EventCancelled || final.Status != 487 {
		t.Fatalf("events %v (ringing %+v), final %+v; want %v ending cancelled by a 487", rec.kinds(), rec.events[1], final, want)
	}
}

// TestFilterAllocatesNothing: the read path reaches the CANCEL without an
// allocation, which could make the reader assist the garbage collector
// first.
func TestFilterAllocatesNothing(t *testing.T) {
	f := newFastCancels(nil)
	a := &armedCancel{branch: "z9hG4bK-abc", answered: make(chan struct{})}
	a.sent.Store(true) // no socket here: measure everything but the write
	f.armed[a.branch] = a
	msg := []byte(ringing)
	props := sip.TransportReadProps{Transport: "UDP"}
	if n := testing.AllocsPerRun(100, func() { f.filter(props, msg) }); n != 0 {
		t.Fatalf("%v allocations per 180", n)
	}
}
