package verify

import (
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
		{"rings then cancelled", false, []CallEventKind{CallDialing, CallRinging, CallCancelled}, StatusCancelled, ""},
		{"dialing only", false, []CallEventKind{CallDialing}, StatusPending, ""},
		{"ringing", false, []CallEventKind{CallDialing, CallRinging}, StatusRinging, ""},
		{"busy", false, []CallEventKind{CallDialing, CallFailed}, StatusFailed, ReasonCall},
		{"never rang", false, []CallEventKind{CallDialing, CallTimeout}, StatusFailed, ReasonNoRing},
		{"answered then hung up", false, []CallEventKind{CallDialing, CallRinging, CallAnswered, CallHungUp}, StatusCancelled, ""},
		{"hangup asked before ring", true, []CallEventKind{CallDialing, CallCancelled}, StatusCancelled, ReasonCancelled},
		{"hangup asked, no response", true, []CallEventKind{CallDialing, CallTimeout}, StatusCancelled, ReasonCancelled},
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
