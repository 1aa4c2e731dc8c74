package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ringproof/ringproof/media"
	"github.com/ringproof/ringproof/sip/sipptest"
)

// Issue 14: an attacker who starts keypad_out for a victim's number sees
// the code on the page and sprays RFC 4733 events at ringproof's RTP port
// from elsewhere, before the callee's first packet and after. ringproof
// takes media only from the address the callee's SDP names, so the
// attacker's keys never count and the prompt never reaches it.

// sprayer sends key events from 127.0.0.2 to dst until stopped, and counts
// what comes back to it.
type sprayer struct {
	conn  *net.UDPConn
	sent  atomic.Int64 // key sequences sent
	heard atomic.Int64 // packets received
	stop  chan struct{}
	wg    sync.WaitGroup
}

func spray(t *testing.T, dst netip.AddrPort, keys string) *sprayer {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot bind 127.0.0.2: %v", err)
		}
		t.Skipf("cannot bind 127.0.0.2 (a loopback address besides 127.0.0.1): %v", err)
	}
	s := &sprayer{conn: conn, stop: make(chan struct{})}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := conn.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			s.heard.Add(1)
		}
	}()
	go func() {
		defer s.wg.Done()
		hdr := rtp.Header{Version: 2, PayloadType: 101, SSRC: rand.Uint32(), SequenceNumber: uint16(rand.Uint32())}
		ts := rand.Uint32()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, k := range keys {
				code, _ := media.Digit(k).EventCode()
				ts += 8000
				for i, ev := range []media.Event{{Code: code, Volume: 10, Duration: 160}, {Code: code, End: true, Volume: 10, Duration: 800}} {
					select {
					case <-s.stop:
						return
					case <-tick.C:
					}
					hdr.SequenceNumber++
					hdr.Timestamp, hdr.Marker = ts, i == 0
					b, _ := (&rtp.Packet{Header: hdr, Payload: ev.AppendTo(nil)}).Marshal()
					conn.WriteToUDPAddrPort(b, dst)
				}
			}
			s.sent.Add(1)
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sprayer) close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	s.conn.Close()
	s.wg.Wait()
}

// offeredPort waits for SIPp's record of the INVITE and returns the RTP
// port ringproof's SDP offered.
func offeredPort(t *testing.T, p *sipptest.Proc) int {
	t.Helper()
	var port int
	if !poll(20*time.Second, func() bool {
		recs, _ := p.Log()
		if len(recs) == 0 {
			return false
		}
		port, _ = strconv.Atoi(recs[0].Fields["sdp_port"])
		return port > 0
	}) {
		t.Fatal("SIPp logged no INVITE with an SDP port")
	}
	return port
}

func TestRTPInjectionNeverVerifiesKeypadOut(t *testing.T) {
	t.Parallel()
	peer := newRTPPeer(t)
	sipp := callee(t, "uas_answer_media.xml", fmt.Sprint(peer.port()))
	srv := startServer(t, testConfig(t, sipp.Addr))
	v := srv.createMethod("keypad_out", testNumber)
	id, code := v["id"].(string), v["code"].(string)

	// The attacker starts as soon as the INVITE names the port: before
	// the callee answers, so before its first packet.
	port := offeredPort(t, sipp)
	attacker := spray(t, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), code+"#")
	peer.waitFirst()
	// And it goes on after the callee's first packet.
	sentThen := attacker.sent.Load()
	if !poll(20*time.Second, func() bool { return attacker.sent.Load() >= sentThen+3 }) {
		t.Fatal("the attacker sent nothing after the callee's first packet")
	}

	// The callee types a wrong code: it is counted, so every attacker
	// packet read before it was read too, and none verified.
	wrong := fmt.Sprintf("%04d", (mustAtoi(t, code)+1)%10000)
	peer.typeRFC4733(wrong + "#")
	got := srv.waitFor(id, "one attempt used", func(v map[string]any) bool {
		return v["attempts_left"] == float64(2) || v["status"] == "verified"
	})
	if got["status"] == "verified" {
		t.Fatalf("the attacker's keys verified it: %v", got)
	}
	// The callee's own code still works.
	peer.typeRFC4733(code + "#")
	srv.waitFor(id, "verified", status("verified"))
	waitProc(t, sipp)
	attacker.close()
	if n := attacker.heard.Load(); n != 0 {
		t.Fatalf("the attacker received %d RTP packets: the prompt went to it", n)
	}
	if len(peer.packets()) == 0 {
		t.Fatal("the callee heard no prompt")
	}
}
