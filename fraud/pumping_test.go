package fraud

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// guardConf is a pumping guard that judges a prefix of 6 digits after 4
// verifications, and suspends it above half unverified.
var guardConf = conf.PumpingGuard{Enabled: true, PrefixDigits: 6, WindowS: 3600, MinAttempts: 4, MaxUnverifiedRatio: 0.5}

// startPumping runs a node's pumping guard on st until the test ends.
func startPumping(t *testing.T, st *store.Store, node string, safe ...string) *pumping {
	t.Helper()
	return startPumpingAt(t, st, node, time.Now, safe...)
}

// startPumpingAt is startPumping on the clock now.
func startPumpingAt(t *testing.T, st *store.Store, node string, now func() time.Time, safe ...string) *pumping {
	t.Helper()
	rs, err := conf.ParseRanges(safe)
	if err != nil {
		t.Fatal(err)
	}
	p := newPumping(st, guardConf, rs, node, storetest.Logger(t))
	p.now = now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

// waitUntil polls cond until it holds, failing t after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func admitOK(t *testing.T, p *pumping, number string) {
	t.Helper()
	if _, err := p.admit(t.Context(), number); err != nil {
		t.Fatalf("admit %s: %v", number, err)
	}
}

func admitSuspended(t *testing.T, p *pumping, number string) *Refusal {
	t.Helper()
	_, err := p.admit(t.Context(), number)
	var r *Refusal
	if !errors.As(err, &r) || !errors.Is(err, ErrPrefixSuspended) || r.Status != 429 || r.Reason != ReasonSuspended {
		t.Fatalf("admit %s = %v, want prefix_suspended", number, err)
	}
	return r
}

// TestPumpingSuspendsAndLifts: a prefix is judged once it has
// min_attempts verifications; the create that would take it above the
// ratio is refused and suspends it, on every node; safe numbers pass; a
// lift on any node ends it everywhere and starts the counts afresh.
func TestPumpingSuspendsAndLifts(t *testing.T) {
	st := storetest.New(t)
	a := startPumping(t, st, "node-a", "+447400123499")
	b := startPumping(t, st, "node-b", "+447400123499")
	for i := range 4 {
		admitOK(t, a, "+44740012340"+string(rune('0'+i)))
	}
	a.verified("+447400123400", time.Now())
	// 4 created, 1 verified: the next would make 4 of 5 unverified.
	r := admitSuspended(t, a, "+447400123405")
	if r.Prefix != "447400" || r.RetryAfter != time.Hour {
		t.Fatalf("refusal %+v, want prefix 447400, retry after 1h", r)
	}
	admitSuspended(t, a, "+447400999999")
	admitOK(t, a, "+447400123499") // safe
	admitOK(t, a, "+447401000000") // another prefix
	waitUntil(t, "suspension on node b", func() bool { return len(b.suspensions()) == 1 })
	admitSuspended(t, b, "+447400555555")
	if s := b.suspensions()[0]; s.Attempts != 5 || s.Verified != 1 || s.UnverifiedRatio != 0.8 {
		t.Fatalf("suspension %+v, want 5 attempts, 1 verified, ratio 0.8", s)
	}
	if a.decisions[DecisionSuspended] != 1 || a.decisions[DecisionRefused] != 1 || a.decisions[DecisionSafe] != 1 || a.decisions[DecisionNotJudged] != 5 {
		t.Fatalf("decisions %v", a.decisions)
	}

	if _, err := b.lift(t.Context(), "447400"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.lift(t.Context(), "447400"); !errors.Is(err, ErrNotSuspended) {
		t.Fatalf("second lift: %v, want ErrNotSuspended", err)
	}
	waitUntil(t, "lift on node a", func() bool { return len(a.suspensions()) == 0 })
	// The counts start afresh: 4 more before it is judged again.
	for range 4 {
		admitOK(t, a, "+447400123401")
	}
	admitSuspended(t, a, "+447400123401")
}

// TestPumpingCountsAcrossNodes: a node judges a prefix by every node's
// creates, written once a second.
func TestPumpingCountsAcrossNodes(t *testing.T) {
	st := storetest.New(t)
	a := startPumping(t, st, "node-a")
	b := startPumping(t, st, "node-b")
	for range 3 {
		admitOK(t, a, "+447400123456")
	}
	waitUntil(t, "node a's counts on node b", func() bool { c, _ := b.figures("447400"); return c == 3 })
	admitOK(t, b, "+447400123456")        // 3 before it: not judged yet
	admitSuspended(t, b, "+447400123456") // 4 before it, none verified
	// Node a sees b's create, not its refusal.
	waitUntil(t, "node b's count on node a", func() bool { c, _ := a.figures("447400"); return c == 4 })
}

// TestPumpingUndo: a create admitted but not made is taken back.
func TestPumpingUndo(t *testing.T) {
	st := storetest.New(t)
	a := startPumping(t, st, "node-a")
	for range 10 {
		undo, err := a.admit(t.Context(), "+447400123456")
		if err != nil {
			t.Fatal(err)
		}
		undo()
	}
	if c, v := a.figures("447400"); c != 0 || v != 0 {
		t.Fatalf("figures %d created, %d verified after undoing every create", c, v)
	}
}

// TestPumpingWindowSlides: creates older than the window no longer count.
func TestPumpingWindowSlides(t *testing.T) {
	st := storetest.New(t)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	a := startPumpingAt(t, st, "node-a", func() time.Time { return time.Unix(0, now.Load()) })
	for range 4 {
		admitOK(t, a, "+447400123456")
	}
	now.Add(int64(time.Hour + 10*time.Minute)) // past the window and its last part
	admitOK(t, a, "+447400123456")
	if c, _ := a.figures("447400"); c != 1 {
		t.Fatalf("%d created in the window, want 1", c)
	}
}

// TestPumpingRestart: a node that stops writes its last counts, and takes
// them up again when it starts on the same node name.
func TestPumpingRestart(t *testing.T) {
	st := storetest.New(t)
	p := newPumping(st, guardConf, nil, "node-a", storetest.Logger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx) }()
	for range 3 {
		admitOK(t, p, "+447400123456")
	}
	cancel()
	<-done
	again := startPumping(t, st, "node-a")
	waitUntil(t, "the counts of the last run", func() bool { c, _ := again.figures("447400"); return c == 3 })
	admitOK(t, again, "+447400123456")
	admitSuspended(t, again, "+447400123456")
}
