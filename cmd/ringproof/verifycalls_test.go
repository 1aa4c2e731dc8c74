package main

import (
	"testing"
	"time"

	"github.com/ringproof/ringproof/dialer"
	"github.com/ringproof/ringproof/sip"
	"github.com/ringproof/ringproof/verify"
)

// TestCallEventsInVerifyWords: every step of a call reaches verify under
// the same word (the API shows it as the event's type), with its status,
// reason, time and trunk, and a call no trunk could take keeps saying so.
func TestCallEventsInVerifyWords(t *testing.T) {
	at := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, k := range []sip.EventKind{sip.EventDialing, sip.EventRinging, sip.EventAnswered, sip.EventCancelled,
		sip.EventFailed, sip.EventTimeout, sip.EventHungUp, sip.EventSent, dialer.EventFailover} {
		got := callEvent(sip.Event{Kind: k, Status: 487, Reason: "rang", At: at, Trunk: "t1"})
		want := verify.CallEvent{Kind: verify.CallEventKind(k), Status: 487, Reason: "rang", At: at, Trunk: "t1"}
		if got != want {
			t.Errorf("%s: %+v, want %+v", k, got, want)
		}
		if got.Kind.Final() != k.Final() {
			t.Errorf("%s: final %v in verify, %v in sip", k, got.Kind.Final(), k.Final())
		}
	}
	ev := callEvent(sip.Event{Kind: sip.EventFailed, Reason: dialer.ReasonNoRoute + ": every trunk down"})
	if ev.Reason != verify.ReasonNoRoute+": every trunk down" {
		t.Errorf("no route: reason %q", ev.Reason)
	}
}
