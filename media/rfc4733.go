package media

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// EventSize is the size of one RFC 4733 telephone-event payload.
const EventSize = 4

// SIPpEventPT is the payload type SIPp's play_dtmf sends telephone-events
// with, whatever the SDP said; sessions accept it besides the negotiated one.
const SIPpEventPT = 96

// ErrShortEvent is returned for a telephone-event payload under 4 bytes.
var ErrShortEvent = errors.New("media: telephone-event payload shorter than 4 bytes")

// Event is one RFC 4733 §2.3 telephone-event payload:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Event struct {
	Code     uint8  // 0–9, 10 '*', 11 '#', 12–15 'A'–'D', 16 flash, ...
	End      bool   // E: the last packet(s) of the event
	Volume   uint8  // power level in -dBm0, 0–63
	Duration uint16 // in RTP timestamp units since the event began
}

// ParseEvent decodes the first telephone-event in payload. Bytes after the
// first 4 are ignored; the reserved bit is ignored as §2.3.3 requires.
func ParseEvent(payload []byte) (Event, error) {
	if len(payload) < EventSize {
		return Event{}, fmt.Errorf("%w: got %d", ErrShortEvent, len(payload))
	}
	return Event{
		Code:     payload[0],
		End:      payload[1]&0x80 != 0,
		Volume:   payload[1] & 0x3f,
		Duration: binary.BigEndian.Uint16(payload[2:4]),
	}, nil
}

// AppendTo appends the 4-byte payload of e to b. Volume is truncated to 6
// bits; the reserved bit is zero.
func (e Event) AppendTo(b []byte) []byte {
	flags := e.Volume & 0x3f
	if e.End {
		flags |= 0x80
	}
	return binary.BigEndian.AppendUint16(append(b, e.Code, flags), e.Duration)
}

// eventTracker turns a stream of telephone-event packets into one digit per
// event. All packets of an event share its RTP timestamp, and the end packet
// is sent three times (RFC 4733 §2.5.1.4), so the timestamp identifies the
// event: a digit is reported on the first end packet of a timestamp, or, if
// every end packet was lost, when a packet of a newer event arrives. The
// unit of the timestamp does not matter (SIPp counts milliseconds).
type eventTracker struct {
	reported   bool
	reportedTS uint32

	pending     bool
	pendingTS   uint32
	pendingCode uint8
}

// observe takes one event packet with RTP timestamp ts and returns the digit
// to report, if any. Events that are not keys (flash, tones) are ignored.
func (t *eventTracker) observe(ts uint32, e Event) (Digit, bool) {
	d, ok := DigitFromEvent(e.Code)
	if !ok || (t.reported && ts == t.reportedTS) {
		return 0, false
	}
	if e.End {
		t.pending = false
		t.reported, t.reportedTS = true, ts
		return d, true
	}
	if t.pending && ts != t.pendingTS {
		// A new event began while the last one never ended: its end
		// packets were lost. Report it now and track the new one.
		lost, _ := DigitFromEvent(t.pendingCode)
		t.reported, t.reportedTS = true, t.pendingTS
		t.pendingTS, t.pendingCode = ts, e.Code
		return lost, true
	}
	t.pending, t.pendingTS, t.pendingCode = true, ts, e.Code
	return 0, false
}
