package main

import (
	"context"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ringproof/ringproof/media"
)

// rtpPeer plays the user's side of a call's audio in tests: it records
// every RTP packet ringproof sends and, once it knows where they come from,
// sends a paced stream back — silence, RFC 4733 key events, or in-band DTMF
// tones.
type rtpPeer struct {
	t    *testing.T
	conn *net.UDPConn

	mu      sync.Mutex
	got     []rtpPacket
	remote  netip.AddrPort
	arrived chan struct{} // closed on the first packet
	once    sync.Once

	frames chan rtpFrame // what to send next; silence when empty
}

type rtpPacket struct {
	at      time.Time
	hdr     rtp.Header
	payload []byte
}

// rtpFrame is one 20 ms packet to send: audio (160 µ-law bytes), or a
// telephone-event payload.
type rtpFrame struct {
	audio  []byte
	event  []byte
	ts     uint32 // for events: the event's timestamp
	marker bool
}

func newRTPPeer(t *testing.T) *rtpPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPeer{t: t, conn: conn, arrived: make(chan struct{}), frames: make(chan rtpFrame, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.read() }()
	go func() { defer wg.Done(); p.send(ctx) }()
	t.Cleanup(func() { cancel(); conn.Close(); wg.Wait() })
	return p
}

func (p *rtpPeer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *rtpPeer) read() {
	buf := make([]byte, 1500)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		p.mu.Lock()
		p.got = append(p.got, rtpPacket{at: time.Now(), hdr: pkt.Header, payload: append([]byte(nil), pkt.Payload...)})
		p.remote = from
		p.mu.Unlock()
		p.once.Do(func() { close(p.arrived) })
	}
}

// send paces one packet every 20 ms to ringproof once its address is known.
func (p *rtpPeer) send(ctx context.Context) {
	select {
	case <-p.arrived:
	case <-ctx.Done():
		return
	}
	silence := make([]byte, media.FrameSamples)
	for i := range silence {
		silence[i] = media.ULaw.Silence()
	}
	hdr := rtp.Header{Version: 2, PayloadType: media.PCMU, SSRC: rand.Uint32(), SequenceNumber: uint16(rand.Uint32())}
	ts := rand.Uint32()
	start := time.Now()
	for n := 0; ; n++ {
		timer := time.NewTimer(time.Until(start.Add(time.Duration(n) * 20 * time.Millisecond)))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		f := rtpFrame{audio: silence}
		select {
		case next, ok := <-p.frames:
			if !ok {
				return // closed: a mute peer
			}
			f = next
		default:
		}
		pkt := rtp.Packet{Header: hdr}
		pkt.SequenceNumber = hdr.SequenceNumber + uint16(n)
		pkt.Marker = f.marker
		if f.event != nil {
			pkt.PayloadType = 101
			pkt.Timestamp = f.ts
			pkt.Payload = f.event
		} else {
			pkt.Timestamp = ts + uint32(n)*media.FrameSamples
			pkt.Payload = f.audio
		}
		b, _ := pkt.Marshal()
		p.mu.Lock()
		to := p.remote
		p.mu.Unlock()
		p.conn.WriteToUDPAddrPort(b, to)
	}
}

// waitFirst waits for ringproof's first RTP packet.
func (p *rtpPeer) waitFirst() {
	p.t.Helper()
	select {
	case <-p.arrived:
	case <-time.After(20 * time.Second):
		p.t.Fatal("no RTP from ringproof")
	}
}

// waitPackets waits until at least n packets have arrived (a call's BYE
// can overtake its last RTP packets, and a busy machine reads them late)
// and returns them; after a deadline it returns what arrived.
func (p *rtpPeer) waitPackets(n int) []rtpPacket {
	poll(20*time.Second, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.got) >= n
	})
	return p.packets()
}

// packets returns a copy of what arrived so far.
func (p *rtpPeer) packets() []rtpPacket {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rtpPacket(nil), p.got...)
}

// typeRFC4733 queues keys as telephone-events: 100 ms each with three end
// packets (RFC 4733 §2.5.1.4), 100 ms of silence between.
func (p *rtpPeer) typeRFC4733(keys string) {
	ts := rand.Uint32()
	for _, k := range keys {
		code, _ := media.Digit(k).EventCode()
		ts += 8000
		for i := 1; i <= 5; i++ {
			ev := media.Event{Code: code, Volume: 10, Duration: uint16(i * 160)}
			p.frames <- rtpFrame{event: ev.AppendTo(nil), ts: ts, marker: i == 1}
		}
		for range 3 {
			ev := media.Event{Code: code, End: true, Volume: 10, Duration: 800}
			p.frames <- rtpFrame{event: ev.AppendTo(nil), ts: ts}
		}
		p.silence(5)
	}
}

// dtmfFreqs are the row and column tones of each key.
var dtmfFreqs = map[rune][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477},
	'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477},
	'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477},
	'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477},
}

// typeInBand queues keys as audio tones: 100 ms of tone, 100 ms of silence.
func (p *rtpPeer) typeInBand(keys string) {
	for _, k := range keys {
		f := dtmfFreqs[k]
		pcm := make([]int16, media.FrameSamples)
		for frame := range 5 {
			for i := range pcm {
				n := float64(frame*media.FrameSamples + i)
				v := 0.3*math.Sin(2*math.Pi*f[0]*n/8000) + 0.3*math.Sin(2*math.Pi*f[1]*n/8000)
				pcm[i] = int16(v * 32767)
			}
			audio := make([]byte, media.FrameSamples)
			media.ULaw.Encode(audio, pcm)
			p.frames <- rtpFrame{audio: audio}
		}
		p.silence(5)
	}
}

func (p *rtpPeer) silence(n int) {
	s := make([]byte, media.FrameSamples)
	for i := range s {
		s[i] = media.ULaw.Silence()
	}
	for range n {
		p.frames <- rtpFrame{audio: s}
	}
}
