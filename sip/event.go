package sip

import "time"

// EventKind names a step in an outbound call's life.
type EventKind string

// The steps of an outbound call. A call reports Dialing first and ends with
// exactly one of Cancelled, Failed, Timeout or HungUp.
const (
	EventDialing   EventKind = "dialing"   // INVITE sent
	EventRinging   EventKind = "ringing"   // 180 or 183 received
	EventAnswered  EventKind = "answered"  // 2xx received (it raced the CANCEL)
	EventCancelled EventKind = "cancelled" // ended by our CANCEL
	EventFailed    EventKind = "failed"    // a final 3xx-6xx, or a transport error
	EventTimeout   EventKind = "timeout"   // no 180/183 in time
	EventHungUp    EventKind = "hungup"    // BYE sent after an answer
)

// EventSent ends a text message (SendText) that the carrier took: it
// answered the MESSAGE with a 2xx. A text that was not taken ends with
// EventFailed or EventTimeout.
const EventSent EventKind = "sent"

// Final reports whether the kind ends a call.
func (k EventKind) Final() bool {
	switch k {
	case EventCancelled, EventFailed, EventTimeout, EventHungUp, EventSent:
		return true
	}
	return false
}

// Event is one step of a call. Status is the SIP status code that caused it,
// when there is one; Reason says why in a few words and never holds a phone
// number.
type Event struct {
	Kind   EventKind
	Status int
	Reason string
	At     time.Time
	// Trunk names the trunk the call or text went through; empty for an
	// event of no trunk (one that failed before choosing any).
	Trunk string
	// Provisional is when the first provisional response to the INVITE
	// (100 Trying included) arrived, on the steps that come after it; zero
	// before, and when none came.
	Provisional time.Time
}
