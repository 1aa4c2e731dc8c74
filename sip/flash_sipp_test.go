package sip

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ringproof/ringproof/sip/sipptest"
)

// Integration tests: ringproof's endpoint places flash calls to SIPp
// playing the carrier (testdata/sipp/uas_*.xml).

func newTestEndpoint(t *testing.T) *Endpoint {
	t.Helper()
	return newTestEndpointWith(t, Options{})
}

// newTestEndpointWith listens on a free loopback port with o's other
// settings.
func newTestEndpointWith(t *testing.T, o Options) *Endpoint {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o.Listen, o.Logger = "127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := Listen(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// recorder collects a call's events.
type recorder struct{ events []Event }

func (r *recorder) report(ev Event) { r.events = append(r.events, ev) }

func (r *recorder) kinds() []EventKind {
	var out []EventKind
	for _, ev := range r.events {
		out = append(out, ev.Kind)
	}
	return out
}

const (
	testFrom = "+442079461234"
	testTo   = "+447911123456"
)

func testCall(carrier, transport string) Call {
	return Call{
		Trunk: Trunk{Name: "sipp", Address: carrier, Transport: transport},
		From:  testFrom, To: testTo,
		SDP: []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 16384 RTP/AVP 0\r\n"),
	}
}

func waitSIPp(t *testing.T, p *sipptest.Proc) sipptest.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.Wait(ctx)
	if err != nil {
		t.Fatalf("SIPp: %v (successful %d, failed %d)\n%s", err, res.Successful, res.Failed, res.Errors)
	}
	return res
}

func TestCancelFollowsRinging(t *testing.T) {
	tests := []struct {
		scenario  string
		transport string
		ring      int
		pollUDP   bool // the UDP socket read through Go's network poller
	}{
		{"uas_ring_cancel.xml", "udp", 180, false},
		{"uas_183_cancel.xml", "udp", 183, false},
		{"uas_ring_cancel.xml", "tcp", 180, false},
		{"uas_ring_cancel.xml", "udp", 180, true},
	}
	for _, tt := range tests {
		name := tt.scenario + "/" + tt.transport
		if tt.pollUDP {
			name += "/poller"
		}
		t.Run(name, func(t *testing.T) {
			e := newTestEndpointWith(t, Options{PollUDP: tt.pollUDP})
			if _, poller := e.udp.(*net.UDPConn); runtime.GOOS == "linux" && poller != tt.pollUDP {
				t.Fatalf("UDP socket %T, want the poller's: %v", e.udp, tt.pollUDP)
			}
			const calls = 5
			opts := sipptest.Options{Scenario: tt.scenario, Calls: calls}
			if tt.transport == "tcp" {
				opts.Transport = "t1"
			}
			carrier := sipptest.Start(context.Background(), t, opts)
			fastBefore := e.FastCancels()
			for i := range calls {
				var rec recorder
				final := e.Flash(context.Background(), testCall(carrier.Addr, tt.transport), FlashOptions{Timeout: 10 * time.Second}, rec.report)
				want := []EventKind{EventDialing, EventRinging, EventCancelled}
				if !slices.Equal(rec.kinds(), want) {
					t.Fatalf("call %d: events %v, want %v", i, rec.kinds(), want)
				}
				if rec.events[1].Status != tt.ring || final.Kind != EventCancelled || final.Status != 487 {
					t.Fatalf("call %d: ringing %d, final %+v", i, rec.events[1].Status, final)
				}
			}
			waitSIPp(t, carrier)
			// Over UDP the CANCEL leaves from the read path (fastcancel.go).
			wantFast := int64(calls)
			if tt.transport == "tcp" {
				wantFast = 0
			}
			if n := e.FastCancels() - fastBefore; n != wantFast {
				t.Errorf("%d CANCELs sent from the read path, want %d", n, wantFast)
			}
			records, err := carrier.Log()
			if err != nil {
				t.Fatal(err)
			}
			if len(records) != calls {
				t.Fatalf("SIPp logged %d calls, want %d", len(records), calls)
			}
			for _, r := range records {
				if !r.Cancelled || !r.BranchMatch || !r.CSeqMatch || !r.RURIMatch || !r.FromMatch || !r.ToMatch {
					t.Errorf("CANCEL does not match its INVITE (RFC 3261 §9.1): %+v", r)
				}
				if r.From != testFrom || r.To != testTo {
					t.Errorf("INVITE From %q To %q, want %q %q", r.From, r.To, testFrom, testTo)
				}
				if r.Prov != tt.ring || r.CancelAt.Before(r.ProvAt) {
					t.Errorf("CANCEL did not follow the %d: %+v", tt.ring, r)
				}
			}
		})
	}
}

func TestRingForDelaysTheCancel(t *testing.T) {
	e := newTestEndpoint(t)
	carrier := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: "uas_ring_cancel.xml", Calls: 1})
	const ringFor = 300 * time.Millisecond
	final := e.Flash(context.Background(), testCall(carrier.Addr, "udp"), FlashOptions{RingFor: ringFor, Timeout: 10 * time.Second}, nil)
	if final.Kind != EventCancelled {
		t.Fatalf("final %+v", final)
	}
	waitSIPp(t, carrier)
	records, _ := carrier.Log()
	if len(records) != 1 || records[0].Reaction() < ringFor {
		t.Fatalf("CANCEL came %v after the 180, want at least %v: %+v", records[0].Reaction(), ringFor, records)
	}
}

func TestBusyIsRecordedAsFailed(t *testing.T) {
	e := newTestEndpoint(t)
	carrier := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: "uas_busy.xml", Calls: 1})
	var rec recorder
	final := e.Flash(context.Background(), testCall(carrier.Addr, "udp"), FlashOptions{Timeout: 10 * time.Second}, rec.report)
	if final.Kind != EventFailed || final.Status != 486 {
		t.Fatalf("final %+v, want failed 486", final)
	}
	if !slices.Equal(rec.kinds(), []EventKind{EventDialing, EventFailed}) {
		t.Fatalf("events %v", rec.kinds())
	}
	waitSIPp(t, carrier)
	records, _ := carrier.Log()
	if len(records) != 1 || !records[0].AckMatch {
		t.Fatalf("ACK for the 486 does not match the INVITE: %+v", records)
	}
}

func TestAnswerRacingCancelIsHungUp(t *testing.T) {
	e := newTestEndpoint(t)
	carrier := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: "uas_answer.xml", Calls: 1})
	var rec recorder
	final := e.Flash(context.Background(), testCall(carrier.Addr, "udp"), FlashOptions{Timeout: 10 * time.Second}, rec.report)
	if final.Kind != EventHungUp || final.Reason != "" {
		t.Fatalf("final %+v, want hungup without error", final)
	}
	if !slices.Contains(rec.kinds(), EventAnswered) {
		t.Fatalf("events %v lack answered", rec.kinds())
	}
	// SIPp passes the call only once it got the ACK and the BYE.
	waitSIPp(t, carrier)
}

func TestHangupBeforeRinging(t *testing.T) {
	e := newTestEndpoint(t)
	carrier := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: "uas_silent.xml", Calls: 1})
	ctx, hangup := context.WithCancel(context.Background())
	done := make(chan Event, 1)
	dialing := make(chan struct{})
	go func() {
		done <- e.Flash(ctx, testCall(carrier.Addr, "udp"), FlashOptions{Timeout: 10 * time.Second}, func(ev Event) {
			if ev.Kind == EventDialing {
				close(dialing)
			}
		})
	}()
	<-dialing
	hangup()
	select {
	case final := <-done:
		if final.Kind != EventCancelled || final.Reason != "hangup" {
			t.Fatalf("final %+v, want cancelled by hangup", final)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("hangup did not end the call")
	}
	waitSIPp(t, carrier)
	records, _ := carrier.Log()
	if len(records) != 1 || !records[0].Cancelled || !records[0].BranchMatch {
		t.Fatalf("carrier did not get a matching CANCEL: %+v", records)
	}
}

func TestNoRingTimesOut(t *testing.T) {
	e := newTestEndpoint(t)
	carrier := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: "uas_silent.xml", Calls: 1})
	final := e.Flash(context.Background(), testCall(carrier.Addr, "udp"), FlashOptions{Timeout: 500 * time.Millisecond}, nil)
	if final.Kind != EventTimeout {
		t.Fatalf("final %+v, want timeout", final)
	}
	waitSIPp(t, carrier)
}

func TestDigestAuth(t *testing.T) {
	e := newTestEndpoint(t)
	carrier := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: "uas_auth.xml", Calls: 1})
	c := testCall(carrier.Addr, "udp")
	c.Trunk.Username, c.Trunk.Password = "ringproof", "secret"
	var rec recorder
	final := e.Flash(context.Background(), c, FlashOptions{Timeout: 10 * time.Second}, rec.report)
	if final.Kind != EventCancelled || final.Status != 487 {
		t.Fatalf("final %+v, events %v", final, rec.kinds())
	}
	waitSIPp(t, carrier)
	records, _ := carrier.Log()
	if len(records) != 1 || records[0].Fields["auth"] != "true" || !records[0].BranchMatch {
		t.Fatalf("carrier records %+v", records)
	}
}

func TestChallengeWithoutCredentialsFails(t *testing.T) {
	e := newTestEndpoint(t)
	carrier := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: "uas_auth.xml", Calls: 1})
	final := e.Flash(context.Background(), testCall(carrier.Addr, "udp"), FlashOptions{Timeout: 10 * time.Second}, nil)
	if final.Kind != EventFailed || final.Status != 401 {
		t.Fatalf("final %+v, want failed 401", final)
	}
	// The carrier's scenario waits for a second, authenticated INVITE
	// that never comes: the test's end stops it.
}

func TestInvalidCallIsRefusedBeforeSending(t *testing.T) {
	e := newTestEndpoint(t)
	for _, c := range []Call{
		{Trunk: Trunk{Name: "t", Address: "127.0.0.1:5070"}, From: "442079461234", To: testTo},
		{Trunk: Trunk{Name: "t", Address: "127.0.0.1:5070"}, From: testFrom, To: "+44 7911"},
		{Trunk: Trunk{Name: "t", Address: "nowhere"}, From: testFrom, To: testTo},
	} {
		var rec recorder
		final := e.Flash(context.Background(), c, FlashOptions{}, rec.report)
		if final.Kind != EventFailed || len(rec.events) != 2 {
			t.Errorf("%+v: final %+v events %v", c, final, rec.kinds())
		}
	}
}

func TestListenAddr(t *testing.T) {
	e := newTestEndpoint(t)
	if !e.Addr().Addr().IsLoopback() || e.Addr().Port() == 0 {
		t.Fatalf("Addr() = %v", e.Addr())
	}
	if _, err := Listen(context.Background(), Options{Listen: netip.AddrPortFrom(e.Addr().Addr(), e.Addr().Port()).String()}); err == nil {
		t.Fatal("a second endpoint on the same port did not fail")
	}
}
