package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/pion/rtp"
)

// maxDatagram bounds an inbound packet; larger ones are truncated and then
// fail to parse or decode as a partial frame.
const maxDatagram = 2048

// receive is the session's receive goroutine: it reads packets until the
// socket closes or no RTP arrives for timeout, latches the peer's address,
// and delivers keys.
func (s *Session) receive(r *receiver, timeout time.Duration) {
	defer close(s.readerDone)
	defer close(s.digits)
	buf := make([]byte, maxDatagram)
	digits := make([]Digit, 0, 8)
	var source netip.AddrPort // the peer's, once latched
	last := time.Now()
	for {
		if timeout > 0 {
			if err := s.conn.SetReadDeadline(last.Add(timeout)); err != nil {
				s.finish(fmt.Errorf("media: receive: %w", err))
				return
			}
		}
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				if quiet := s.silentSince(last); time.Since(quiet) < timeout {
					last = quiet // a prompt was being spoken: silence counts from its end
					continue
				}
				s.finish(fmt.Errorf("%w for %v", ErrNoMedia, timeout))
			case errors.Is(err, net.ErrClosed):
				s.finish(ErrClosed)
			default:
				s.finish(fmt.Errorf("media: receive: %w", err))
			}
			return
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		switch {
		case source.IsValid() && from != source:
			continue // not our peer's: never switch
		case !source.IsValid() && !r.fromPeer(from):
			continue // not from the address the SDP names
		case !isMedia(buf[:n]):
			continue
		}
		pkt := buf[:n]
		if s.srtp != nil {
			plain, err := s.srtp.dec.DecryptRTP(s.srtp.in[:0], pkt, nil)
			if err != nil {
				continue // forged, damaged or replayed
			}
			s.srtp.in, pkt = plain, plain
		}
		last = time.Now()
		if !source.IsValid() {
			source = from
			s.remote.Store(&from)
		}
		digits = r.handle(pkt, digits[:0])
		for _, d := range digits {
			select {
			case s.digits <- d:
			default: // nobody reads: drop rather than stall the stream
			}
		}
	}
}

// receiver is the inbound half of a session without the socket: it parses
// packets, decodes audio and finds keys. Tests and fuzzers drive it
// directly.
type receiver struct {
	peer      netip.Addr // the IP address the peer's SDP names
	codec     Codec
	eventPT   uint8
	detector  *Detector // nil: no in-band detection
	audio     func(*rtp.Header, []int16)
	pkt       rtp.Packet
	pcm       []int16
	events    eventTracker
	sawEvents bool
}

// fromPeer reports whether a packet from src may latch the session: it
// comes from the IP address the peer's SDP names, which must be a real
// one. Its port may differ from the SDP's (a NAT in front of the peer).
func (r *receiver) fromPeer(src netip.AddrPort) bool {
	return r.peer.IsValid() && !r.peer.IsUnspecified() && src.Addr() == r.peer
}

// isMedia reports whether b looks like an RTP packet: version 2 and not
// RTCP multiplexed on the RTP port, whose packet types 200–204 read as
// marker set and payload type 72–76 (RFC 5761 §4). Anything else (STUN,
// RTCP, junk) is no sign of the peer's media and must not be latched on.
func isMedia(b []byte) bool {
	return len(b) >= 12 && b[0]>>6 == 2 && (b[1] < 200 || b[1] > 204)
}

// handle processes one datagram and returns digits with the keys it
// completes appended. Audio of the negotiated codec, or of either G.711
// static type, is decoded for the audio handler and the in-band detector;
// telephone-events become keys; anything else is ignored.
func (r *receiver) handle(b []byte, digits []Digit) []Digit {
	if !isMedia(b) {
		return digits
	}
	if err := r.pkt.Unmarshal(b); err != nil {
		return digits
	}
	pt, payload := r.pkt.PayloadType, r.pkt.Payload
	switch {
	case pt == r.codec.PT || pt == PCMU || pt == PCMA:
		law := r.codec.Law
		if pt != r.codec.PT { // a static G.711 type: trust it
			law = ULaw
			if pt == PCMA {
				law = ALaw
			}
		}
		if cap(r.pcm) < len(payload) {
			r.pcm = make([]int16, len(payload))
		}
		pcm := r.pcm[:len(payload)]
		law.Decode(pcm, payload)
		// A peer that sends telephone-events sends keys that way; its
		// audio may still carry the tones, which must not count twice.
		if r.detector != nil && !r.sawEvents {
			digits = r.detector.Detect(pcm, digits)
		}
		if r.audio != nil {
			r.audio(&r.pkt.Header, pcm)
		}
	case (pt == r.eventPT && pt != 0) || pt == SIPpEventPT:
		e, err := ParseEvent(payload)
		if err != nil {
			break
		}
		r.sawEvents = true
		if d, found := r.events.observe(r.pkt.Timestamp, e); found {
			digits = append(digits, d)
		}
	}
	// Other types (comfort noise, a codec the peer should not send) carry
	// nothing for us, but are signs of life all the same.
	return digits
}
