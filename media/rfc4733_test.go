package media

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func rtpPacket(t testing.TB, h rtp.Header, payload []byte) []byte {
	t.Helper()
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEventFixtures(t *testing.T) {
	tests := []struct {
		name  string
		wire  []byte
		event Event
		digit Digit
	}{
		{"5 begins", []byte{0x05, 0x0a, 0x00, 0xa0}, Event{Code: 5, Volume: 10, Duration: 160}, '5'},
		{"5 ends", []byte{0x05, 0x8a, 0x03, 0x20}, Event{Code: 5, End: true, Volume: 10, Duration: 800}, '5'},
		{"star", []byte{0x0a, 0x8f, 0x06, 0x40}, Event{Code: 10, End: true, Volume: 15, Duration: 1600}, '*'},
		{"hash", []byte{0x0b, 0x00, 0xff, 0xff}, Event{Code: 11, Duration: 65535}, '#'},
		{"D", []byte{0x0f, 0x3f, 0x00, 0x00}, Event{Code: 15, Volume: 63}, 'D'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEvent(tt.wire)
			if err != nil || e != tt.event {
				t.Fatalf("ParseEvent(% x) = %+v, %v; want %+v", tt.wire, e, err, tt.event)
			}
			if got := tt.event.AppendTo(nil); !bytes.Equal(got, tt.wire) {
				t.Errorf("AppendTo = % x, want % x", got, tt.wire)
			}
			if d, ok := DigitFromEvent(e.Code); !ok || d != tt.digit {
				t.Errorf("digit %v, %v; want %v", d, ok, tt.digit)
			}
		})
	}
	// The reserved bit is ignored; a short payload is an error.
	if e, err := ParseEvent([]byte{0x01, 0xca, 0x00, 0x10, 0xee}); err != nil || e != (Event{Code: 1, End: true, Volume: 10, Duration: 16}) {
		t.Errorf("reserved bit set: %+v, %v", e, err)
	}
	if _, err := ParseEvent([]byte{1, 2, 3}); !errors.Is(err, ErrShortEvent) {
		t.Errorf("3 bytes: err = %v", err)
	}
	if _, ok := DigitFromEvent(16); ok {
		t.Error("flash (16) maps to a key")
	}
}

// TestRTPEventPacketFixture decodes a whole telephone-event packet as a
// Linphone-like UA sends it: PT 101, marker on the first packet.
func TestRTPEventPacketFixture(t *testing.T) {
	wire := []byte{
		0x80, 0xe5, 0x12, 0x34, // V=2, M, PT 101, seq 0x1234
		0x00, 0x00, 0x1f, 0x40, // timestamp 8000
		0xde, 0xad, 0xbe, 0xef, // SSRC
		0x09, 0x8a, 0x01, 0x40, // event 9, end, volume 10, duration 320
	}
	r := &receiver{codec: CodecPCMU, eventPT: 101}
	if got := r.handle(wire, nil); string(digitsString(got)) != "9" {
		t.Fatalf("digits %q, want \"9\"", digitsString(got))
	}
	if got := r.handle(wire, nil); len(got) != 0 {
		t.Errorf("the redundant end packet reported %q again", digitsString(got))
	}
}

func digitsString(ds []Digit) string {
	b := make([]byte, len(ds))
	for i, d := range ds {
		b[i] = byte(d)
	}
	return string(b)
}

// eventPackets returns the packets of one key press as RFC 4733 §2.5 sends
// it: a first packet with the marker, updates, and three end packets, all
// with the timestamp of the event's start.
func eventPackets(t testing.TB, pt uint8, seq *uint16, ts uint32, key Digit, updates int) [][]byte {
	t.Helper()
	code, ok := key.EventCode()
	if !ok {
		t.Fatalf("no event code for %v", key)
	}
	var out [][]byte
	add := func(marker, end bool, dur uint16) {
		h := rtp.Header{Version: 2, Marker: marker, PayloadType: pt, SequenceNumber: *seq, Timestamp: ts, SSRC: 77}
		*seq++
		out = append(out, rtpPacket(t, h, Event{Code: code, End: end, Volume: 10, Duration: dur}.AppendTo(nil)))
	}
	add(true, false, 160)
	for i := range updates {
		add(false, false, uint16(320+160*i))
	}
	for range 3 {
		add(false, true, uint16(320+160*updates))
	}
	return out
}

func TestEventTrackerReportsOnePerEvent(t *testing.T) {
	tests := []struct {
		name string
		pt   uint8
		ts   uint32 // step between events: 8 kHz units, or SIPp's milliseconds
	}{
		{"negotiated type 101", 101, 1600},
		{"SIPp's type 96, millisecond timestamps", 96, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &receiver{codec: CodecPCMA, eventPT: 101}
			var seq uint16 = 65530 // wraps
			var got []Digit
			for i, key := range []Digit{'1', '1', '#', 'A'} {
				for _, p := range eventPackets(t, tt.pt, &seq, uint32(i)*tt.ts, key, 3) {
					got = r.handle(p, got)
				}
			}
			if s := digitsString(got); s != "11#A" {
				t.Errorf("digits %q, want \"11#A\"", s)
			}
		})
	}
}

func TestEventTrackerReportsEventWhoseEndWasLost(t *testing.T) {
	r := &receiver{codec: CodecPCMU, eventPT: 101}
	var seq uint16
	first := eventPackets(t, 101, &seq, 1000, '4', 2)
	second := eventPackets(t, 101, &seq, 3000, '2', 2)
	var got []Digit
	for _, p := range first[:3] { // no end packet arrives
		got = r.handle(p, got)
	}
	for _, p := range second {
		got = r.handle(p, got)
	}
	if s := digitsString(got); s != "42" {
		t.Errorf("digits %q, want \"42\"", s)
	}
}

// sendRaw sends packets from a plain UDP socket to addr.
func sendRaw(t *testing.T, to *Session, packets [][]byte) {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(to.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range packets {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
}

func nextDigit(t *testing.T, s *Session) Digit {
	t.Helper()
	select {
	case d, ok := <-s.DTMF():
		if !ok {
			t.Fatalf("DTMF closed: %v", s.Err())
		}
		return d
	case <-time.After(waitTimeout):
		t.Fatal("no key within", waitTimeout)
		return 0
	}
}

func TestSessionReportsTelephoneEvents(t *testing.T) {
	for _, pt := range []uint8{101, 96} {
		a := listen(t)
		if err := a.Start(Negotiated{Remote: a.LocalAddr(), Codec: CodecPCMU, EventPT: 101}); err != nil {
			t.Fatal(err)
		}
		var seq uint16
		var packets [][]byte
		for i, key := range []Digit{'7', '7', '*'} {
			packets = append(packets, eventPackets(t, pt, &seq, 8000*uint32(i+1), key, 4)...)
		}
		sendRaw(t, a, packets)
		// A duplicate would show up as an unexpected key here.
		for i, want := range []Digit{'7', '7', '*'} {
			if got := nextDigit(t, a); got != want {
				t.Fatalf("type %d: key %d is %v, want %v", pt, i, got, want)
			}
		}
	}
}

func TestSessionDetectsInBandKeys(t *testing.T) {
	for _, c := range []Codec{CodecPCMU, CodecPCMA} {
		a, b := listen(t), listen(t)
		if err := a.Start(Negotiated{Remote: b.LocalAddr(), Codec: c}); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(Negotiated{Remote: a.LocalAddr(), Codec: c}); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(9, 9))
		var pcm []float64
		for _, key := range "90#" {
			pcm = appendTone(t, pcm, toneSpec{key: Digit(key), dur: 70 * time.Millisecond, rowDB: -10, colDB: -12}, rng)
			pcm = appendSilence(pcm, 70*time.Millisecond)
		}
		lin := toPCM(pcm, -45, rng)
		audio := make([]byte, len(lin))
		c.Law.Encode(audio, lin)
		if err := b.Play(context.Background(), audio); err != nil {
			t.Fatal(err)
		}
		for _, want := range []Digit{'9', '0', '#'} {
			if got := nextDigit(t, a); got != want {
				t.Fatalf("%v: key %v, want %v", c, got, want)
			}
		}
	}
}

func FuzzRTPParse(f *testing.F) {
	var seq uint16
	for _, p := range eventPackets(f, 101, &seq, 100, '3', 1) {
		f.Add(p)
	}
	f.Add(rtpPacket(f, rtp.Header{Version: 2, PayloadType: PCMA, Extension: true, ExtensionProfile: 0xBEDE}, make([]byte, 160)))
	f.Add(rtpPacket(f, rtp.Header{Version: 2, PayloadType: 96, CSRC: []uint32{1, 2}}, []byte{1}))
	f.Add([]byte{0x80, 0xc8, 0, 6}) // RTCP sender report
	f.Add([]byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	d, err := NewDetector(DetectorConfig{})
	if err != nil {
		f.Fatal(err)
	}
	r := &receiver{codec: CodecPCMU, eventPT: 101, detector: d, audio: func(*rtp.Header, []int16) {}}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, k := range r.handle(b, nil) {
			if !k.Valid() {
				t.Fatalf("invalid key %v", k)
			}
		}
	})
}
