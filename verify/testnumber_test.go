package verify

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/store/storetest"
)

// reachNobody is a dialer that counts every call and text it is asked for.
type reachNobody struct {
	fakeDialer
	reached atomic.Int32
}

func (d *reachNobody) Flash(ctx context.Context, callerID, number string, report func(CallEvent)) CallEvent {
	d.reached.Add(1)
	return d.fakeDialer.Flash(ctx, callerID, number, report)
}

func (d *reachNobody) Call(ctx context.Context, number, locale string, report func(CallEvent)) (Conversation, CallEvent) {
	d.reached.Add(1)
	return d.fakeDialer.Call(ctx, number, locale, report)
}

func (d *reachNobody) SendText(ctx context.Context, number, body string) CallEvent {
	d.reached.Add(1)
	return d.fakeDialer.SendText(ctx, number, body)
}

// refuseAll is a fraud guard that refuses every create and check and
// counts what it is told of.
type refuseAll struct{ verified atomic.Int32 }

var errRefused = errors.New("refused by the guard")

func (*refuseAll) Admit(context.Context, string) (func(bool), error) { return nil, errRefused }
func (*refuseAll) Check(context.Context) error                       { return errRefused }
func (g *refuseAll) Verified(string, time.Time)                      { g.verified.Add(1) }

func TestTestNumbersReachNobodyAndVerifyWithTheirCode(t *testing.T) {
	st := storetest.New(t)
	d := &reachNobody{fakeDialer: fakeDialer{callerID: "+442079461234"}}
	guard := &refuseAll{}
	cfg := Config{
		CodeLength: 4, MaxCodeLength: 6, Expiry: 5 * time.Minute, MaxAttempts: 3,
		MaxPerNumberPerHour: 1, Vault: testVault(t, st), Guard: guard,
		// +447700900123 is in Ofcom's drama range, which libphonenumber
		// calls invalid: a test number need not be dialable.
		TestNumbers: map[string]string{"+447911123456": "2468", "+447700900123": "1357"},
	}
	svc := NewService(st, d, cfg, func(n string) string { return "k" + strings.TrimPrefix(n, "+") }, storetest.Logger(t))
	t.Cleanup(func() { svc.Close(context.Background()) })
	ctx := context.Background()

	for _, m := range Methods() {
		for _, number := range []string{"+447911123456", "07911 123456", "+447700900123"} {
			v, err := svc.Create(ctx, CreateRequest{Number: number, Region: "GB", Method: m})
			if err != nil {
				t.Fatalf("create %s of test number %s: %v (the per-number limit is 1, the guard refuses all)", m, number, err)
			}
			if !v.Test || v.Status != StatusPending || v.CodeLength != 4 {
				t.Fatalf("create %s: %+v, want a pending test verification with a 4-digit code", m, v)
			}
			code := cfg.TestNumbers[v.Number]
			if res, err := svc.Check(ctx, v.ID, "0000"); err != nil || res.Status != StatusPending || res.AttemptsLeft != 2 {
				t.Fatalf("%s: a wrong code: %+v, %v", m, res, err)
			}
			res, err := svc.Check(ctx, v.ID, code)
			if err != nil || res.Status != StatusVerified {
				t.Fatalf("%s: the test number's code: %+v, %v", m, res, err)
			}
		}
	}
	if n := d.reached.Load(); n != 0 {
		t.Fatalf("%d calls or texts placed for test numbers", n)
	}
	if n := guard.verified.Load(); n != 0 {
		t.Fatalf("the pumping guard was told of %d test verifications", n)
	}

	// A code_length other than the test code's is refused, naming it.
	var in *api.InputError
	if _, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: "sms", CodeLength: 6}); !errors.As(err, &in) || in.Field != "code_length" {
		t.Fatalf("a 6-digit test create: %v, want an input error on code_length", err)
	}
	// Other numbers still meet the guard.
	if _, err := svc.Create(ctx, CreateRequest{Number: "+447911123457", Method: "sms"}); !errors.Is(err, errRefused) {
		t.Fatalf("another number: %v, want the guard's refusal", err)
	}
}
