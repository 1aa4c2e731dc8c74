package verify

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ringproof/ringproof/api"
)

// follow watches id until cond holds, failing t if the stream ends first
// or the deadline passes.
func follow(t *testing.T, svc *Service, id string, cond func(*Verification) bool) *Verification {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := svc.Watch(ctx, id, "")
	if err != nil {
		t.Fatalf("watch %s: %v", id, err)
	}
	var last *Verification
	for v := range ch {
		if last = v; cond(v) {
			return v
		}
	}
	t.Fatalf("%s never got there; last seen: %+v", id, last)
	return nil
}

func eventsOf(v *Verification) []string {
	var out []string
	for _, e := range v.Events {
		out = append(out, e.Type)
	}
	return out
}

func TestFallbackChain(t *testing.T) {
	tests := []struct {
		name      string
		method    Method
		fallback  []string
		textFails int32
		hangup    bool     // the application says nothing came
		want      []Method // the chain as it unfolds
		wantWhy   []string // reason or status each link ended with, but the last
	}{
		{"voice fails, then sms", MethodVoice, []string{"sms"}, 0, false, []Method{MethodVoice, MethodSMS}, []string{ReasonCall}},
		{"sms refused, then voice fails, then flash call", MethodSMS, []string{"voice", "flashcall"}, 403, false,
			[]Method{MethodSMS, MethodVoice, MethodFlashCall}, []string{ReasonSMS, ReasonCall}},
		{"flash call came to nothing, then sms", MethodFlashCall, []string{"sms"}, 0, true, []Method{MethodFlashCall, MethodSMS}, []string{string(StatusRang)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, d := newTestService(t, Config{})
			d.textFails.Store(tt.textFails)
			v, err := svc.Create(context.Background(), CreateRequest{Number: "+447911123456", Method: string(tt.method), Fallback: tt.fallback, Reference: "order-7"})
			if err != nil {
				t.Fatal(err)
			}
			token := v.WatchToken
			if tt.hangup {
				follow(t, svc, v.ID, func(v *Verification) bool { return v.Status == StatusRang })
				if _, err := svc.Check(context.Background(), v.ID, HangupCode); err != nil {
					t.Fatal(err)
				}
			}
			var prev string
			for i, m := range tt.want {
				if i == len(tt.want)-1 {
					break
				}
				v = follow(t, svc, v.ID, func(v *Verification) bool { return v.NextID != "" })
				why := v.Reason
				if tt.hangup {
					why = string(v.Status)
				}
				r, err := svc.load(context.Background(), v.ID)
				if err != nil {
					t.Fatal(err)
				}
				if v.Method != m || v.PreviousID != prev || why != tt.wantWhy[i] || v.Reference != "order-7" || !r.watchTokenMatches(token) {
					t.Fatalf("link %d: %s %s/%s previous %q reference %q; want %s ended %s after %q",
						i, v.Method, v.Status, v.Reason, v.PreviousID, v.Reference, m, tt.wantWhy[i], prev)
				}
				prev = v.ID
				next, err := svc.Get(context.Background(), v.NextID)
				if err != nil {
					t.Fatalf("link %d: next %s: %v", i, v.NextID, err)
				}
				v = next
			}
			last := tt.want[len(tt.want)-1]
			r, err := svc.load(context.Background(), v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v.Method != last || v.PreviousID != prev || len(v.Fallback) != 0 || v.Number != "+447911123456" || !r.watchTokenMatches(token) {
				t.Fatalf("last link: %+v, want %s after %s with no fallback left", v, last, prev)
			}
			// Only one verification follows each link, however many
			// updates a link gets afterwards.
			if _, err := svc.Check(context.Background(), prev, HangupCode); err != nil {
				t.Fatal(err)
			}
			again, err := svc.Get(context.Background(), prev)
			if err != nil || again.NextID != v.ID {
				t.Fatalf("the link before the last now points at %q (%v), want %s", again.NextID, err, v.ID)
			}
		})
	}
}

func TestFallbackIsNotTakenWhenTheCodeArrived(t *testing.T) {
	svc, _ := newTestService(t, Config{})
	v, err := svc.Create(context.Background(), CreateRequest{Number: "+447911123456", Method: "sms", Fallback: []string{"voice"}})
	if err != nil {
		t.Fatal(err)
	}
	v = follow(t, svc, v.ID, func(v *Verification) bool { return slices.Contains(eventsOf(v), "sent") })
	if v.NextID != "" || v.Status != StatusPending {
		t.Fatalf("a text the carrier took: %+v", v)
	}
}

func TestFallbackIsChecked(t *testing.T) {
	svc, _ := newTestService(t, Config{})
	tests := []struct {
		method   string
		fallback []string
		code     string
	}{
		{"flashcall", []string{"keypad_out"}, "unsupported"},
		{"flashcall", []string{"inbound_missed"}, "unsupported"},
		{"flashcall", []string{"telegram"}, "unsupported"},
		{"flashcall", []string{"sms", "voice", "sms", "voice"}, "too_long"},
		{"inbound_missed", []string{"sms"}, "not_applicable"},
		{"keypad_in", []string{"sms"}, "not_applicable"},
	}
	for _, tt := range tests {
		_, err := svc.Create(context.Background(), CreateRequest{Number: "+447911123456", Method: tt.method, Fallback: tt.fallback})
		var in *api.InputError
		if !errors.As(err, &in) || in.Field != "fallback" || in.Code != tt.code {
			t.Errorf("%s with fallback %v: %v, want a %s error naming fallback", tt.method, tt.fallback, err, tt.code)
		}
	}
}

func TestFallbackThatCannotStartEndsTheChain(t *testing.T) {
	svc, _ := newTestService(t, Config{CodeLength: 4, MaxCodeLength: 6, Expiry: 5 * time.Minute, MaxAttempts: 3, MaxPerNumberPerHour: 1})
	v, err := svc.Create(context.Background(), CreateRequest{Number: "+447911123456", Method: "voice", Fallback: []string{"sms"}})
	if err != nil {
		t.Fatal(err)
	}
	// The number's hourly limit is used up: the sms cannot be created, and
	// the watch of the failed voice verification ends with the reason.
	v = follow(t, svc, v.ID, func(v *Verification) bool { return slices.Contains(eventsOf(v), string(eventFallbackFailed)) })
	last := v.Events[len(v.Events)-1]
	if v.NextID != "" || last.Reason != "rate_limited" || v.Status != StatusFailed {
		t.Fatalf("after a fallback that could not start: %+v", v)
	}
	if _, err := svc.Get(context.Background(), nextID(v.ID)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the next verification exists: %v", err)
	}
}

// TestFallbackLinkStreamEndsWithItsNext: once a link names its next, its
// stream sends that state and ends, though the link itself is not final
// (a flash call that rang, then HANGUP) and expires much later.
func TestFallbackLinkStreamEndsWithItsNext(t *testing.T) {
	svc, _ := newTestService(t, Config{})
	v, err := svc.Create(context.Background(), CreateRequest{Number: "+447911123456", Method: "flashcall", Fallback: []string{"sms"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := svc.Watch(ctx, v.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var last *Verification
	for w := range ch {
		last = w
		if w.Status == StatusRang && !slices.Contains(eventsOf(w), "hangup_requested") {
			if _, err := svc.Check(context.Background(), v.ID, HangupCode); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("the stream was still open at the deadline; last sent: %+v", last)
	}
	if last == nil || last.NextID == "" || last.Status != StatusRang {
		t.Fatalf("the stream ended on %+v, want the link still rang naming its next", last)
	}
	// A stream opened afterwards sends the state once and ends too.
	again, err := svc.Watch(context.Background(), v.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range again {
		n++
	}
	if n != 1 {
		t.Fatalf("a stream of a link with its next sent %d states, want 1", n)
	}
}
