package verify

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The flash call method's behaviour with a scripted dialer: what its call's
// ends do to the verification, and its code, the caller ID's last digits.
// cmd/ringproof's flashcall_test.go runs the same method against SIPp.

// scripted returns a Flash that reports dialing and then each of steps,
// ending with the last.
func scripted(steps ...CallEvent) func(context.Context, func(CallEvent)) CallEvent {
	return func(ctx context.Context, report func(CallEvent)) CallEvent {
		report(CallEvent{Kind: CallDialing, At: time.Now(), Trunk: "t1"})
		var ev CallEvent
		for _, ev = range steps {
			ev.At, ev.Trunk = time.Now(), "t1"
			report(ev)
		}
		return ev
	}
}

// flashService is a service whose flash calls follow script.
func flashService(t *testing.T, script func(context.Context, func(CallEvent)) CallEvent) *Service {
	t.Helper()
	svc, d := newTestService(t, Config{})
	d.flash = script
	return svc
}

func TestFlashCallAttemptsRunOut(t *testing.T) {
	svc := flashService(t, nil) // rings, and is cancelled
	ctx := t.Context()
	v, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: string(MethodFlashCall)})
	if err != nil {
		t.Fatal(err)
	}
	follow(t, svc, v.ID, hasEvent(string(CallCancelled)))
	const code = "1234" // the fake dialer's caller ID is +442079461234
	wrong := fmt.Sprintf("%04d", (mustAtoi(t, code)+5000)%10000)
	for i, left := range []int{2, 1, 0} {
		c, err := svc.Check(ctx, v.ID, wrong)
		if err != nil || c.AttemptsLeft != left {
			t.Fatalf("guess %d: %+v, %v; want %d attempts left", i, c, err, left)
		}
	}
	c, err := svc.Check(ctx, v.ID, code)
	if err != nil || c.Status != StatusFailed {
		t.Fatalf("right code after the attempts ran out: %+v, %v; want failed", c, err)
	}
	if got, _ := svc.Get(ctx, v.ID); got.Reason != ReasonAttempts {
		t.Fatalf("reason %q, want %q", got.Reason, ReasonAttempts)
	}
}

func TestFlashCallEnds(t *testing.T) {
	tests := []struct {
		name   string
		steps  []CallEvent
		status Status
		reason string
	}{
		{"busy", []CallEvent{{Kind: CallFailed, Status: 486, Reason: "Busy Here"}}, StatusFailed, ReasonCall},
		{"no ring in time", []CallEvent{{Kind: CallTimeout, Reason: "no response"}}, StatusFailed, ReasonNoRing},
		{"no trunk could take it", []CallEvent{{Kind: CallFailed, Reason: ReasonNoRoute + ": every trunk down"}}, StatusFailed, ReasonNoRoute},
		{"rang, then cancelled", []CallEvent{{Kind: CallRinging, Status: 180}, {Kind: CallCancelled, Status: 487, Reason: "rang"}}, StatusRang, ""},
		{"a 200 raced the CANCEL", []CallEvent{{Kind: CallRinging, Status: 180}, {Kind: CallAnswered, Status: 200}, {Kind: CallHungUp, Status: 200}}, StatusRang, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := flashService(t, scripted(tt.steps...))
			ctx := t.Context()
			v, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: string(MethodFlashCall)})
			if err != nil {
				t.Fatal(err)
			}
			last := tt.steps[len(tt.steps)-1]
			got := follow(t, svc, v.ID, hasEvent(string(last.Kind)))
			if got.Status != tt.status || got.Reason != tt.reason {
				t.Fatalf("status %s (%q), want %s (%q)", got.Status, got.Reason, tt.status, tt.reason)
			}
			ev := got.Events[len(got.Events)-1]
			if ev.Type != string(last.Kind) || ev.Status != last.Status || ev.Reason != last.Reason || ev.Trunk != "t1" {
				t.Fatalf("last event %+v, want %+v from trunk t1", ev, last)
			}
			if tt.status == StatusFailed {
				if c, err := svc.Check(ctx, v.ID, "1234"); err != nil || c.Status != StatusFailed {
					t.Fatalf("check after a failed call: %+v, %v", c, err)
				}
			}
		})
	}
}

// callUntilHungUp creates a flash call whose phone never rings: the call
// dials, then waits to be hung up (the dialer's context ends) and reports
// it cancelled. It returns once the call is dialing.
func callUntilHungUp(t *testing.T) (*Service, *Verification) {
	t.Helper()
	dialing := make(chan struct{})
	svc := flashService(t, func(ctx context.Context, report func(CallEvent)) CallEvent {
		report(CallEvent{Kind: CallDialing, At: time.Now()})
		close(dialing)
		<-ctx.Done() // hung up: the dialer sends its CANCEL
		ev := CallEvent{Kind: CallCancelled, Status: 487, Reason: "hangup", At: time.Now()}
		report(ev)
		return ev
	})
	v, err := svc.Create(t.Context(), CreateRequest{Number: "+447911123456", Method: string(MethodFlashCall)})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-dialing:
	case <-time.After(10 * time.Second):
		t.Fatal("the call never started")
	}
	return svc, v
}

// TestHangupCancelsACallThatNeverRang: HANGUP as a code hangs up a call
// still dialing (the dialer's context ends), uses no attempt, and the
// verification says the application asked for it.
func TestHangupCancelsACallThatNeverRang(t *testing.T) {
	svc, v := callUntilHungUp(t)
	ctx := t.Context()
	c, err := svc.Check(ctx, v.ID, HangupCode)
	if err != nil || c.AttemptsLeft != 3 {
		t.Fatalf("HANGUP: %+v, %v", c, err)
	}
	got := follow(t, svc, v.ID, hasEvent(string(CallCancelled)))
	if got.Status != StatusRang || got.Reason != ReasonHangup {
		t.Fatalf("after HANGUP: status %s (%q), want %s (%q)", got.Status, got.Reason, StatusRang, ReasonHangup)
	}
}
