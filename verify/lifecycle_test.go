package verify

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newTestRecord() *record {
	id := "v" + "0123456789abcdef0123456789abcdef"
	return &record{
		ID: id, Method: MethodFlashCall, Status: StatusPending,
		CallerID: "+442079461234", CodeLength: 4, MaxAttempts: 3,
		CodeHash:  testCodeHash(id, "1234"),
		CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute),
	}
}

// testCodeHash stands for the keyed hash of a code in tests of the pure
// lifecycle: what matters there is only that equal codes hash alike.
func testCodeHash(id, code string) string { return id + ":" + code }

func TestCallEventsMoveTheLifecycle(t *testing.T) {
	tests := []struct {
		name       string
		hangup     bool
		events     []CallEventKind
		want       Status
		wantReason string
	}{
		{"rings then cut", false, []CallEventKind{CallDialing, CallRinging, CallCancelled}, StatusRang, ""},
		{"dialing only", false, []CallEventKind{CallDialing}, StatusPending, ""},
		{"ringing", false, []CallEventKind{CallDialing, CallRinging}, StatusRinging, ""},
		{"busy", false, []CallEventKind{CallDialing, CallFailed}, StatusFailed, ReasonCall},
		{"never rang", false, []CallEventKind{CallDialing, CallTimeout}, StatusFailed, ReasonNoRing},
		{"answered then hung up", false, []CallEventKind{CallDialing, CallRinging, CallAnswered, CallHungUp}, StatusRang, ""},
		{"hangup asked before ring", true, []CallEventKind{CallDialing, CallCancelled}, StatusRang, ReasonHangup},
		{"hangup asked, no response", true, []CallEventKind{CallDialing, CallTimeout}, StatusRang, ReasonHangup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRecord()
			r.HangupAsked = tt.hangup
			for i, k := range tt.events {
				r.applyCallEvent(CallEvent{Kind: k, At: t0.Add(time.Duration(i) * time.Millisecond)})
			}
			if r.Status != tt.want || r.Reason != tt.wantReason {
				t.Fatalf("status %s (%q), want %s (%q)", r.Status, r.Reason, tt.want, tt.wantReason)
			}
			if len(r.Events) != len(tt.events) {
				t.Fatalf("%d events recorded, want %d", len(r.Events), len(tt.events))
			}
		})
	}
}

func TestCallEventNeverUndoesAFinalStatus(t *testing.T) {
	r := newTestRecord()
	r.Status = StatusVerified
	r.applyCallEvent(CallEvent{Kind: CallCancelled, At: t0})
	if r.Status != StatusVerified {
		t.Fatalf("status %s after a late call event, want verified", r.Status)
	}
}

func TestHangupRequest(t *testing.T) {
	tests := []struct {
		name        string
		status      Status
		events      []CallEventKind // before the request
		asked       bool            // asked already
		at          time.Duration
		wantChanged bool
		want        Status
		wantReason  string
	}{
		{"while ringing", StatusRinging, []CallEventKind{CallDialing, CallRinging}, false, 0, true, StatusRinging, ReasonHangup},
		{"after the call ended", StatusRang, []CallEventKind{CallDialing, CallRinging, CallCancelled}, false, 0, true, StatusRang, ReasonHangup},
		{"before any event", StatusPending, nil, false, 0, true, StatusPending, ReasonHangup},
		{"asked twice", StatusRang, []CallEventKind{CallDialing, CallCancelled}, true, 0, false, StatusRang, ""},
		{"verified", StatusVerified, nil, false, 0, false, StatusVerified, ""},
		{"canceled", StatusCanceled, nil, false, 0, false, StatusCanceled, ""},
		{"expired, not yet stored so", StatusRang, nil, false, 5 * time.Minute, false, StatusRang, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRecord()
			r.Status, r.HangupAsked = tt.status, tt.asked
			for _, k := range tt.events {
				r.Events = append(r.Events, Event{Type: string(k), At: t0})
			}
			before := len(r.Events)
			changed := r.applyHangup(t0.Add(tt.at))
			if changed != tt.wantChanged || r.Status != tt.want || r.Reason != tt.wantReason {
				t.Fatalf("changed %v, status %s (%q); want %v, %s (%q)", changed, r.Status, r.Reason, tt.wantChanged, tt.want, tt.wantReason)
			}
			if !changed {
				if len(r.Events) != before || r.HangupAsked != tt.asked {
					t.Fatalf("unchanged, yet events %d (was %d), hangup asked %v", len(r.Events), before, r.HangupAsked)
				}
				return
			}
			if last := r.Events[len(r.Events)-1]; len(r.Events) != before+1 || last.Type != "hangup_requested" || !r.HangupAsked {
				t.Fatalf("events %+v, hangup asked %v; want a hangup_requested event and hangup asked", r.Events, r.HangupAsked)
			}
		})
	}
}

func TestHangupAfterTheCallEndedMovesTheChainOn(t *testing.T) {
	r := newTestRecord()
	r.Fallback = []Method{MethodSMS}
	for i, k := range []CallEventKind{CallDialing, CallRinging, CallCancelled} {
		r.applyCallEvent(CallEvent{Kind: k, At: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	if r.fallbackDue() {
		t.Fatal("a chain moves on before the application said nothing came")
	}
	r.applyHangup(t0.Add(time.Second))
	if !r.fallbackDue() {
		t.Fatalf("HANGUP after the call ended does not move the chain on: %+v", r)
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name       string
		status     Status
		at         time.Duration
		wantErr    Status // the status a FinalError names; "" for none
		want       Status
		wantEvents int
	}{
		{"pending", StatusPending, 0, "", StatusCanceled, 1},
		{"ringing", StatusRinging, 0, "", StatusCanceled, 1},
		{"rang", StatusRang, 0, "", StatusCanceled, 1},
		{"answered", StatusAnswered, 0, "", StatusCanceled, 1},
		{"canceled already", StatusCanceled, 0, "", StatusCanceled, 0},
		{"verified", StatusVerified, 0, StatusVerified, StatusVerified, 0},
		{"failed", StatusFailed, 0, StatusFailed, StatusFailed, 0},
		{"past its expiry", StatusRang, 5 * time.Minute, StatusExpired, StatusRang, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRecord()
			r.Status = tt.status
			err := r.applyCancel(t0.Add(tt.at))
			var fin *FinalError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("cancel: %v", err)
			case tt.wantErr != "" && (!errors.As(err, &fin) || fin.Status != tt.wantErr || !errors.Is(err, ErrFinal)):
				t.Fatalf("cancel: %v, want a FinalError naming %s", err, tt.wantErr)
			}
			if r.Status != tt.want || len(r.Events) != tt.wantEvents {
				t.Fatalf("status %s with %d events, want %s with %d", r.Status, len(r.Events), tt.want, tt.wantEvents)
			}
			if tt.wantEvents > 0 && (r.Reason != ReasonCanceled || !r.HangupAsked || r.Events[0].Type != "cancel_requested") {
				t.Fatalf("canceled: reason %q, hangup asked %v, events %+v", r.Reason, r.HangupAsked, r.Events)
			}
		})
	}
}

func TestCanceledTakesNoCodeAndNoFallback(t *testing.T) {
	r := newTestRecord()
	r.Fallback = []Method{MethodSMS}
	r.applyCallEvent(CallEvent{Kind: CallDialing, At: t0})
	if err := r.applyCancel(t0); err != nil {
		t.Fatal(err)
	}
	r.applyCallEvent(CallEvent{Kind: CallCancelled, At: t0.Add(time.Millisecond)})
	if o := r.applyCheck(testCodeHash(r.ID, "1234"), t0.Add(time.Second)); o != outcomeFinal || r.Status != StatusCanceled {
		t.Fatalf("the right code after cancel: outcome %d, status %s", o, r.Status)
	}
	if r.fallbackDue() {
		t.Fatal("a canceled verification moves its chain on")
	}
}

func TestCheckValid(t *testing.T) {
	tests := []struct {
		name   string
		status Status
		code   string
		want   bool
	}{
		{"right code", StatusRang, "1234", true},
		{"wrong code", StatusRang, "0000", false},
		{"right code once verified", StatusVerified, "1234", true},
		{"wrong code once verified", StatusVerified, "0000", false},
		{"right code once failed", StatusFailed, "1234", false},
		{"right code once canceled", StatusCanceled, "1234", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRecord()
			r.Status = tt.status
			given := testCodeHash(r.ID, tt.code)
			if got := r.checkValid(given, r.applyCheck(given, t0)); got != tt.want {
				t.Fatalf("valid %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStatusReadsItsFormerName(t *testing.T) {
	var r struct{ Status Status }
	if err := json.Unmarshal([]byte(`{"Status":"cancelled"}`), &r); err != nil || r.Status != StatusRang {
		t.Fatalf("a record of an earlier version: %q (%v), want rang", r.Status, err)
	}
	out, _ := json.Marshal(StatusRang)
	if string(out) != `"rang"` {
		t.Fatalf("rang is written %s", out)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		codes    []string
		at       time.Duration
		want     Status
		attempts int
		last     outcome
	}{
		{"right code", []string{"1234"}, 0, StatusVerified, 0, outcomeMatch},
		{"wrong then right", []string{"0000", "1234"}, 0, StatusVerified, 1, outcomeMatch},
		{"wrong code stays checkable", []string{"0000"}, 0, StatusPending, 1, outcomeWrong},
		{"attempts run out", []string{"0000", "1111", "2222"}, 0, StatusFailed, 3, outcomeLockout},
		{"no check after lockout", []string{"0000", "1111", "2222", "1234"}, 0, StatusFailed, 3, outcomeFinal},
		{"prefix is not the code", []string{"4420"}, 0, StatusPending, 1, outcomeWrong},
		{"expired", []string{"1234"}, 5 * time.Minute, StatusExpired, 0, outcomeFinal},
		{"just before expiry", []string{"1234"}, 5*time.Minute - time.Nanosecond, StatusVerified, 0, outcomeMatch},
		{"verified stays verified", []string{"1234", "0000"}, 0, StatusVerified, 0, outcomeFinal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRecord()
			var got outcome
			for _, c := range tt.codes {
				got = r.applyCheck(testCodeHash(r.ID, c), t0.Add(tt.at))
			}
			if r.Status != tt.want || r.Attempts != tt.attempts || got != tt.last {
				t.Fatalf("status %s attempts %d outcome %d; want %s %d %d", r.Status, r.Attempts, got, tt.want, tt.attempts, tt.last)
			}
		})
	}
}

func TestViewHidesCallerIDAndComputesExpiry(t *testing.T) {
	r := newTestRecord()
	v := r.view(t0)
	if v.CLIPrefix != "+44207946" {
		t.Fatalf("cli_prefix %q, want +44207946", v.CLIPrefix)
	}
	if v.AttemptsLeft != 3 || v.Status != StatusPending {
		t.Fatalf("view %+v", v)
	}
	if v := r.view(t0.Add(time.Hour)); v.Status != StatusExpired || v.Reason != ReasonExpired {
		t.Fatalf("view after expiry: %s %q", v.Status, v.Reason)
	}
}

func TestCodeMatches(t *testing.T) {
	tests := []struct {
		expected, given string
		want            bool
	}{
		{"1234", "1234", true},
		{"1234", "1235", false},
		{"1234", "123", false},
		{"1234", "12345", false},
		{"", "", false},
		{"0000", "0000", true},
	}
	for _, tt := range tests {
		if got := codeMatches(tt.expected, tt.given); got != tt.want {
			t.Errorf("codeMatches(%q, %q) = %v", tt.expected, tt.given, got)
		}
	}
}

func TestValidCode(t *testing.T) {
	tests := []struct {
		code string
		n    int
		want bool
	}{
		{"1234", 4, true}, {"123", 4, false}, {"12a4", 4, false}, {"１２３４", 4, false}, {"123456", 6, true}, {"", 4, false},
	}
	for _, tt := range tests {
		if got := validCode(tt.code, tt.n); got != tt.want {
			t.Errorf("validCode(%q, %d) = %v", tt.code, tt.n, got)
		}
	}
}

func TestValidID(t *testing.T) {
	for range 100 {
		if id := newID(); !validID(id) {
			t.Fatalf("newID() = %q is not valid", id)
		}
	}
	for _, bad := range []string{"", "v", "x0123456789abcdef0123456789abcdef", "v0123456789ABCDEF0123456789abcdef", "v0123456789abcdef0123456789abcde", "../../etc/passwd"} {
		if validID(bad) {
			t.Errorf("validID(%q) = true", bad)
		}
	}
}

// TestVerifiedAtIsTheFirstMatch: a verification records when the right
// code first verified it; a wrong code, and checks once it is final, leave
// it as it was.
func TestVerifiedAtIsTheFirstMatch(t *testing.T) {
	r := newTestRecord()
	r.applyCheck(testCodeHash(r.ID, "0000"), t0.Add(time.Second))
	if !r.VerifiedAt.IsZero() || r.view(t0).VerifiedAt != nil {
		t.Fatalf("a wrong code set verified_at: %v", r.VerifiedAt)
	}
	r.applyCheck(testCodeHash(r.ID, "1234"), t0.Add(2*time.Second))
	r.applyCheck(testCodeHash(r.ID, "1234"), t0.Add(3*time.Second))
	if v := r.view(t0.Add(4 * time.Second)); v.VerifiedAt == nil || !v.VerifiedAt.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("verified_at %v, want the first match at %v", v.VerifiedAt, t0.Add(2*time.Second))
	}
}
