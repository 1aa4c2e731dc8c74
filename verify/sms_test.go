package verify

import (
	"fmt"
	"regexp"
	"testing"
	"time"
)

// The sms method with a fake dialer: the text holds the code, and how the
// text ended decides the verification. cmd/ringproof's sms_test.go sends
// texts to SIPp as a carrier.

func TestSMSEnds(t *testing.T) {
	tests := []struct {
		name   string
		end    CallEvent
		status Status
		reason string
	}{
		{"taken by the carrier", CallEvent{Kind: CallSent, Status: 202}, StatusPending, ""},
		{"refused by the carrier", CallEvent{Kind: CallFailed, Status: 403, Reason: "Forbidden"}, StatusFailed, ReasonSMS},
		{"no answer from the carrier", CallEvent{Kind: CallTimeout, Reason: "no response"}, StatusFailed, ReasonSMS},
		{"no trunk could take it", CallEvent{Kind: CallFailed, Reason: ReasonNoRoute + ": every trunk down"}, StatusFailed, ReasonNoRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, d := newTestService(t, Config{CodeLength: 4, MaxCodeLength: 6, Expiry: 5 * time.Minute, MaxAttempts: 3,
				MaxPerNumberPerHour: 100, SMSText: "Ringproof: {code} is your code"})
			d.text, d.texts = &tt.end, make(chan string, 1)
			ctx := t.Context()
			v, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: string(MethodSMS)})
			if err != nil {
				t.Fatal(err)
			}
			if v.Code != "" {
				t.Fatalf("an sms verification's code was returned: %+v", v)
			}
			var body string
			select {
			case body = <-d.texts:
			case <-time.After(10 * time.Second):
				t.Fatal("nothing was texted")
			}
			m := regexp.MustCompile(`^Ringproof: (\d{4}) is your code$`).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("texted %q, want sms.text with a 4-digit code", body)
			}
			got := follow(t, svc, v.ID, hasEvent(string(tt.end.Kind)))
			last := got.Events[len(got.Events)-1]
			if got.Status != tt.status || got.Reason != tt.reason || last.Status != tt.end.Status || last.Reason != tt.end.Reason {
				t.Fatalf("status %s (%q), last event %+v; want %s (%q) after %+v", got.Status, got.Reason, last, tt.status, tt.reason, tt.end)
			}
			wrong := fmt.Sprintf("%04d", (mustAtoi(t, m[1])+1)%10000)
			if c, err := svc.Check(ctx, v.ID, wrong); err != nil || c.Status == StatusVerified {
				t.Fatalf("a wrong code: %+v, %v", c, err)
			}
			want := StatusVerified
			if tt.status == StatusFailed {
				want = StatusFailed // the code of a text that never left cannot be checked
			}
			if c, err := svc.Check(ctx, v.ID, m[1]); err != nil || c.Status != want {
				t.Fatalf("the texted code: %+v, %v; want %s", c, err, want)
			}
		})
	}
}
