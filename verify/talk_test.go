package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/media"
)

// The methods' behaviour on answered and inbound calls, with a fake
// conversation in place of the dialer's: what is said, what the keys typed
// do, which inbound calls verify or are answered. The same paths run end
// to end, with SIPp and real audio, in cmd/ringproof (voice_test.go,
// inbound_test.go), which keeps what only a real call shows: the audio,
// DTMF in its three forms, SIP's caller-ID headers.

// fakeConversation is an answered call: it records what is said and
// hands out what the user types, one entry per ReadKeys.
type fakeConversation struct {
	trunk   string
	entries chan string // closed: the user hung up
	ended   string      // why the call ends when hung up; "local" if empty

	mu   sync.Mutex
	said [][]string

	hangupOnce sync.Once
	done       chan struct{} // closed by Hangup
}

func newFakeConversation(typed ...string) *fakeConversation {
	c := &fakeConversation{trunk: "t1", entries: make(chan string, len(typed)), done: make(chan struct{})}
	for _, k := range typed {
		c.entries <- k
	}
	close(c.entries)
	return c
}

func (c *fakeConversation) Say(ctx context.Context, names ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.said = append(c.said, names)
	return nil
}

// ReadKeys returns the next entry, up to term or max keys.
func (c *fakeConversation) ReadKeys(ctx context.Context, max int, term media.Digit, gap time.Duration) (string, error) {
	select {
	case k, ok := <-c.entries:
		if !ok {
			return "", errors.New("call ended")
		}
		k, _, _ = strings.Cut(k, string(rune(term)))
		return k[:min(len(k), max)], nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *fakeConversation) Hangup() { c.hangupOnce.Do(func() { close(c.done) }) }

func (c *fakeConversation) Ended() string {
	<-c.done
	if c.ended == "" {
		return "local"
	}
	return c.ended
}

func (c *fakeConversation) Trunk() string { return c.trunk }

// saidAll is everything said, in order.
func (c *fakeConversation) saidAll() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Concat(c.said...)
}

// waitHungUp waits for the call to be hung up.
func (c *fakeConversation) waitHungUp(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the call was never hung up")
	}
}

func hasEvent(typ string) func(*Verification) bool {
	return func(v *Verification) bool { return slices.Contains(eventsOf(v), typ) }
}

// spokenCode is the code in what a voice call said: the digits after
// code_is, up to the first "again".
func spokenCode(said []string) string {
	var b strings.Builder
	for _, n := range said[1:] {
		if n == media.PromptAgain {
			break
		}
		b.WriteString(n)
	}
	return b.String()
}

func TestVoiceCallSpeaksTheCode(t *testing.T) {
	svc, d := newTestService(t, Config{CodeLength: 4, MaxCodeLength: 6, Expiry: 5 * time.Minute, MaxAttempts: 3,
		MaxPerNumberPerHour: 100, VoiceRepeat: 2})
	conv := newFakeConversation()
	d.answerWith(conv)
	v, err := svc.Create(t.Context(), CreateRequest{Number: "+447911123456", Method: string(MethodVoice)})
	if err != nil {
		t.Fatal(err)
	}
	if v.Code != "" {
		t.Fatalf("a voice verification's code was returned: %+v", v)
	}
	got := follow(t, svc, v.ID, hasEvent(string(CallHungUp)))
	said := conv.saidAll()
	code := spokenCode(said)
	want := append([]string{media.PromptCodeIs}, digitsOf(code)...)
	want = append(append(want, media.PromptAgain), digitsOf(code)...)
	if len(code) != 4 || !slices.Equal(said, want) {
		t.Fatalf("said %v, want the code twice", said)
	}
	types := eventsOf(got)
	if !slices.Contains(types, string(CallAnswered)) || !slices.Contains(types, "code_spoken") || got.Status != StatusAnswered {
		t.Fatalf("status %s, events %v", got.Status, types)
	}
	other := fmt.Sprintf("%04d", (mustAtoi(t, code)+1)%10000)
	if c, err := svc.Check(t.Context(), v.ID, other); err != nil || c.Status == StatusVerified {
		t.Fatalf("another code: %+v, %v", c, err)
	}
	if c, err := svc.Check(t.Context(), v.ID, code); err != nil || c.Status != StatusVerified {
		t.Fatalf("the spoken code did not verify: %+v, %v", c, err)
	}
}

func TestKeypadOut(t *testing.T) {
	tests := []struct {
		name   string
		typed  func(code, wrong string) []string
		status Status
		keys   int // keys_entered events
	}{
		{"the code verifies", func(code, _ string) []string { return []string{code + "#"} }, StatusVerified, 1},
		{"typed without the end key", func(code, _ string) []string { return []string{code} }, StatusVerified, 1},
		{"a wrong code, then the right one", func(code, wrong string) []string { return []string{wrong + "#", code + "#"} }, StatusVerified, 2},
		{"three wrong codes fail it", func(_, wrong string) []string { return []string{wrong, wrong, wrong} }, StatusFailed, 3},
		{"two silences end the call, still checkable", func(string, string) []string { return []string{"", ""} }, StatusAnswered, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, d := newTestService(t, Config{})
			// The code is known only from create: answer the call once it
			// is, with what the user types then.
			conv := &fakeConversation{trunk: "t1", entries: make(chan string, 3), done: make(chan struct{})}
			d.answerWith(conv)
			v, err := svc.Create(t.Context(), CreateRequest{Number: "+447911123456", Method: string(MethodKeypadOut)})
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Code) != 4 {
				t.Fatalf("keypad_out create did not return the code: %+v", v)
			}
			for _, k := range tt.typed(v.Code, fmt.Sprintf("%04d", (mustAtoi(t, v.Code)+1)%10000)) {
				conv.entries <- k
			}
			conv.waitHungUp(t)
			got := follow(t, svc, v.ID, func(v *Verification) bool {
				return v.Status == tt.status && strings.Count(fmt.Sprint(eventsOf(v)), "keys_entered") == tt.keys
			})
			// The digits typed never reach the record's events.
			for _, e := range got.Events {
				if strings.Contains(e.Reason, v.Code) || strings.Contains(e.Type, v.Code) {
					t.Fatalf("an event holds the code: %+v", e)
				}
			}
			said := conv.saidAll()
			if said[0] != media.PromptEnterCode {
				t.Fatalf("said %v, want the code asked for first", said)
			}
			if tt.status == StatusVerified && said[len(said)-1] != media.PromptVerified {
				t.Fatalf("said %v, want verified last", said)
			}
		})
	}
}

// inboundService is a service with dial numbers, for the inbound methods.
func inboundService(t *testing.T, unknownCaller string) *Service {
	t.Helper()
	ranges, err := conf.ParseRanges([]string{"+441632960000-+441632960009"})
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := newTestService(t, Config{CodeLength: 4, MaxCodeLength: 6, Expiry: 5 * time.Minute, MaxAttempts: 3,
		MaxPerNumberPerHour: 100, DialNumbers: ranges, VoiceRepeat: 2, UnknownCaller: unknownCaller,
		InboundStatus: 603, TrunkRegions: map[string]string{"pbx": "GB"}})
	return svc
}

func TestInboundVoiceAnswersItsCallerAndSpeaksTheCode(t *testing.T) {
	svc := inboundService(t, "reject")
	ctx := t.Context()
	v, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: string(MethodInboundVoice)})
	if err != nil {
		t.Fatal(err)
	}
	// Another number calling the dial number is not answered.
	if a := svc.HandleInbound(ctx, InboundCall{Trunk: "t1", Dialed: v.DialNumber, CallerID: "+447911999999"}); a.Talk != nil || a.Status != 603 {
		t.Fatalf("a stranger's call: %+v, want rejected with 603", a)
	}
	a := svc.HandleInbound(ctx, InboundCall{Trunk: "t1", Dialed: v.DialNumber, CallerID: "+447911123456",
		Verstat: "TN-Validation-Passed", Attestation: "A"})
	if a.Talk == nil {
		t.Fatalf("the caller's own call was not answered: %+v", a)
	}
	conv := newFakeConversation()
	a.Talk(ctx, conv)
	code := spokenCode(conv.saidAll())
	if len(code) != 4 {
		t.Fatalf("said %v", conv.saidAll())
	}
	got, err := svc.Get(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if types := fmt.Sprint(eventsOf(got)); !strings.Contains(types, "answered code_spoken hungup") {
		t.Fatalf("events %s", types)
	}
	// The carrier's STIR/SHAKEN verdict on the caller ID is recorded with
	// the answer, as inbound_missed records it with its match.
	if e := got.Events[slices.IndexFunc(got.Events, func(e Event) bool { return e.Type == string(CallAnswered) })]; e.Verstat != "TN-Validation-Passed" || e.Attestation != "A" {
		t.Fatalf("answered event %+v, want verstat TN-Validation-Passed and attestation A", e)
	}
	if c, err := svc.Check(ctx, v.ID, code); err != nil || c.Status != StatusVerified {
		t.Fatalf("the spoken code did not verify: %+v, %v", c, err)
	}
}

func TestKeypadInWrongCodeCostsAnAttempt(t *testing.T) {
	svc := inboundService(t, "reject")
	ctx := t.Context()
	v, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: string(MethodKeypadIn)})
	if err != nil {
		t.Fatal(err)
	}
	a := svc.HandleInbound(ctx, InboundCall{Trunk: "t1", Dialed: v.DialNumber, CallerID: "+447911123456"})
	if a.Talk == nil {
		t.Fatalf("keypad_in's caller was not answered: %+v", a)
	}
	wrong := fmt.Sprintf("%04d", (mustAtoi(t, v.Code)+1)%10000)
	conv := newFakeConversation(wrong+"#", v.Code+"#")
	a.Talk(ctx, conv)
	got, err := svc.Get(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusVerified || got.AttemptsLeft != 2 {
		t.Fatalf("after a wrong code and the right one: status %s, %d attempts left", got.Status, got.AttemptsLeft)
	}
	if said := conv.saidAll(); !slices.Contains(said, media.PromptWrongCode) || said[len(said)-1] != media.PromptVerified {
		t.Fatalf("said %v", said)
	}
}

func TestUnknownCallerIsRejectedOrAnnounced(t *testing.T) {
	for _, mode := range []string{"reject", "announce"} {
		t.Run(mode, func(t *testing.T) {
			svc := inboundService(t, mode)
			ctx := t.Context()
			v, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: string(MethodInboundVoice)})
			if err != nil {
				t.Fatal(err)
			}
			a := svc.HandleInbound(ctx, InboundCall{Trunk: "t1", Dialed: v.DialNumber, CallerID: "+447911999999"})
			if mode == "reject" {
				if a.Talk != nil || a.Status != 603 {
					t.Fatalf("%+v, want rejected unanswered with 603", a)
				}
				return
			}
			if a.Talk == nil {
				t.Fatalf("%+v, want answered with an announcement", a)
			}
			conv := newFakeConversation()
			a.Talk(ctx, conv)
			if said := conv.saidAll(); !slices.Equal(said, []string{media.PromptUnidentified}) {
				t.Fatalf("said %v to a stranger", said)
			}
			if got, _ := svc.Get(ctx, v.ID); got.Status != StatusPending {
				t.Fatalf("a stranger's call moved the verification: %+v", got)
			}
		})
	}
}

func TestInboundMissedCallVerifiesOnlyTheRightCaller(t *testing.T) {
	svc := inboundService(t, "reject")
	ctx := t.Context()
	numbers := []string{"+447911123401", "+447911123402", "+447911123403", "+447911123404", "+447911123405"}
	ids, dials := map[string]string{}, map[string]string{}
	for _, n := range numbers {
		v, err := svc.Create(ctx, CreateRequest{Number: n, Method: string(MethodInboundMissed)})
		if err != nil {
			t.Fatal(err)
		}
		ids[n], dials[n] = v.ID, v.DialNumber
	}
	seen := map[string]bool{}
	for _, d := range dials {
		seen[d] = true
	}
	if len(seen) != len(numbers) {
		t.Fatalf("5 verifications share %d dial numbers: %v", len(seen), dials)
	}
	// Calls that must verify nothing: strangers, a pending number calling
	// a dial number that is not its own, a withheld caller ID, and a
	// caller ID the trunk does not trust.
	var calls []InboundCall
	for i := range 20 {
		calls = append(calls, InboundCall{Trunk: "t1", Dialed: dials[numbers[0]], CallerID: fmt.Sprintf("+4479111239%02d", i)})
	}
	calls = append(calls,
		InboundCall{Trunk: "t1", Dialed: dials[numbers[2]], CallerID: numbers[1]},
		InboundCall{Trunk: "t1", Dialed: dials[numbers[0]], Anonymous: true},
		InboundCall{Trunk: "t1", Dialed: dials[numbers[0]], CallerID: numbers[0], Untrusted: "attestation"},
		InboundCall{Trunk: "t1", Dialed: "+441632960099", CallerID: numbers[0]},
	)
	for _, in := range calls {
		if a := svc.HandleInbound(ctx, in); a.Talk != nil || a.Status != 603 {
			t.Fatalf("%+v: %+v, want rejected unanswered", in, a)
		}
	}
	for _, n := range numbers {
		if v, _ := svc.Get(ctx, ids[n]); v.Status != StatusPending {
			t.Fatalf("%s verified by a call that proves nothing: %+v", n, v)
		}
	}
	// Each number's own call to its own dial number verifies it, unanswered.
	// Caller IDs come in the forms carriers use: E.164, digits without
	// '+', and national on a trunk with a region.
	for i, n := range numbers {
		in := InboundCall{Trunk: "t1", Dialed: dials[n], CallerID: n, Verstat: "TN-Validation-Passed", Attestation: "A"}
		switch i % 3 {
		case 1:
			in.CallerID = strings.TrimPrefix(n, "+")
		case 2:
			in.Trunk, in.CallerID, in.Dialed = "pbx", "0"+strings.TrimPrefix(n, "+44"), "0"+strings.TrimPrefix(dials[n], "+44")
		}
		if a := svc.HandleInbound(ctx, in); a.Talk != nil || a.Status != 603 {
			t.Fatalf("%+v: %+v, want rejected unanswered (the caller pays nothing)", in, a)
		}
		v, err := svc.Get(ctx, ids[n])
		if err != nil || v.Status != StatusVerified || !slices.Contains(eventsOf(v), "inbound_call") {
			t.Fatalf("%s not verified by its own call (%+v): %+v, %v", n, in, v, err)
		}
	}
}

// TestAnsweredCallEndsWithWhy: the call's end is recorded with the reason
// the conversation gives, and leaves the code checkable.
func TestAnsweredCallEndsWithWhy(t *testing.T) {
	for _, why := range []string{"remote_bye", "no_media", "max_duration"} {
		t.Run(why, func(t *testing.T) {
			svc, d := newTestService(t, Config{})
			conv := newFakeConversation() // types nothing: the call ends
			conv.ended = why
			d.answerWith(conv)
			v, err := svc.Create(t.Context(), CreateRequest{Number: "+447911123456", Method: string(MethodKeypadOut)})
			if err != nil {
				t.Fatal(err)
			}
			got := follow(t, svc, v.ID, hasEvent(string(CallHungUp)))
			last := got.Events[len(got.Events)-1]
			if last.Type != string(CallHungUp) || last.Reason != why || last.Trunk != "t1" {
				t.Fatalf("last event %+v, want hungup for %s", last, why)
			}
			if got.Status != StatusAnswered {
				t.Fatalf("status %s after the call ended, want answered (still checkable)", got.Status)
			}
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("%q is not a number", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
