package verify

import (
	"context"
	"strings"
	"time"

	"github.com/ringproof/ringproof/media"
)

// The calls of verifications in verify's own words: what verify needs to
// know of a call (its events, a user's call to a dial number, an answered
// call's conversation), whatever places or takes it. verify speaks no SIP;
// serve adapts the dialer and the SIP endpoint to these types.

// CallEventKind names a step of a verification's call or text.
type CallEventKind string

// The steps of a call. A call reports CallDialing first and ends with
// exactly one of CallCancelled, CallFailed, CallTimeout or CallHungUp; a
// text ends with CallSent, CallFailed or CallTimeout.
const (
	CallDialing   CallEventKind = "dialing"   // the call left
	CallRinging   CallEventKind = "ringing"   // the phone rings
	CallAnswered  CallEventKind = "answered"  // picked up (for a flash call, it raced the hang-up)
	CallCancelled CallEventKind = "cancelled" // hung up by us before an answer
	CallFailed    CallEventKind = "failed"    // refused, or could not be placed
	CallTimeout   CallEventKind = "timeout"   // nothing in time
	CallHungUp    CallEventKind = "hungup"    // an answered call ended
	CallSent      CallEventKind = "sent"      // a text was taken by the carrier
	CallFailover  CallEventKind = "failover"  // one trunk failed; the next is tried (not final)
)

// Final reports whether the kind ends a call or text.
func (k CallEventKind) Final() bool {
	switch k {
	case CallCancelled, CallFailed, CallTimeout, CallHungUp, CallSent:
		return true
	}
	return false
}

// CallEvent is one step of a verification's call or text. Status is the
// carrier's status code that caused it, when there is one; Reason says
// why in a few words and never holds a phone number; Trunk names the
// trunk it went through, if any. Verstat and Attestation are, when the user
// placed the call (inbound_voice, keypad_in), the carrier's STIR/SHAKEN
// verdict on its caller ID, as InboundCall has them.
type CallEvent struct {
	Kind                 CallEventKind
	Status               int
	Reason               string
	At                   time.Time
	Trunk                string
	Verstat, Attestation string
}

// noRoute reports whether ev ended a call or text because no trunk of its
// route could take it (its Reason starts with ReasonNoRoute).
func (ev CallEvent) noRoute() bool {
	return ev.Kind == CallFailed && strings.HasPrefix(ev.Reason, ReasonNoRoute)
}

// CallerIDLease is a caller ID drawn for a flash call and how to lease it
// for the number: the store key that holds it, and for how long. The
// verification's transaction writes Key with TTL only if Key is absent; if
// present, the number holds that caller ID already and another is drawn.
type CallerIDLease struct {
	CallerID string
	Key      string
	TTL      time.Duration
}

// Conversation is an answered call with its audio, as the voice and
// keypad methods use it.
type Conversation interface {
	// Say speaks the named prompts in turn.
	Say(ctx context.Context, names ...string) error
	// ReadKeys returns the keys pressed until max of them, term, a gap
	// longer than gap after the first, or the end of ctx or the call.
	ReadKeys(ctx context.Context, max int, term media.Digit, gap time.Duration) (string, error)
	// Hangup ends the call (a no-op once it has ended).
	Hangup()
	// Ended waits for the call's end and says why it ended.
	Ended() string
	// Trunk names the trunk the call went through.
	Trunk() string
}

// InboundCall is a user's call to a dial number.
type InboundCall struct {
	// Trunk names the trunk the call came in on.
	Trunk string
	// Dialed is the number called, as the carrier sent it.
	Dialed string
	// CallerID is the number the call asserts, as the carrier sent it;
	// empty when withheld.
	CallerID string
	// Anonymous is set when the caller withheld the caller ID.
	Anonymous bool
	// Untrusted says why the trunk does not let this caller ID prove a
	// number ("verstat", "attestation"); empty when it may.
	Untrusted string
	// Verstat and Attestation are the carrier's STIR/SHAKEN verdict on
	// the caller ID, recorded with a match; empty when the call has none.
	Verstat, Attestation string
}

// InboundAnswer is what to do with an inbound call: reject it unanswered
// with Status after ringing for RingFor, or, when Talk is set, answer it
// (in Locale's prompts) and run Talk on the conversation, which is hung
// up when Talk returns.
type InboundAnswer struct {
	Status  int
	RingFor time.Duration
	Locale  string
	Talk    func(ctx context.Context, conv Conversation)
}
