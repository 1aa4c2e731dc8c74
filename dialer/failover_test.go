package dialer

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/sip"
)

// Unit tests of routing and failover with a scripted caller; the same
// paths run against SIPp carriers in cmd/ringproof/trunks_test.go.

// scriptCaller plays each trunk's part in a call from a script: the steps
// after dialing that the trunk named answers with.
type scriptCaller struct {
	mu      sync.Mutex
	script  map[string][]sip.Event // by trunk name
	calls   []sip.Call
	options []sip.FlashOptions
}

func (s *scriptCaller) Flash(ctx context.Context, c sip.Call, o sip.FlashOptions, report func(sip.Event)) sip.Event {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.options = append(s.options, o)
	steps := s.script[c.Trunk.Name]
	s.mu.Unlock()
	now := time.Now()
	all := append([]sip.Event{{Kind: sip.EventDialing}}, steps...)
	for i := range all {
		all[i].Trunk, all[i].At = c.Trunk.Name, now
		if i > 0 {
			all[i].Provisional = now.Add(time.Millisecond)
		}
		report(all[i])
	}
	return all[len(all)-1]
}

func (s *scriptCaller) Dial(ctx context.Context, c sip.Call, o sip.DialOptions, report func(sip.Event)) (*sip.Dialog, sip.Event) {
	return nil, s.Flash(ctx, c, sip.FlashOptions{Timeout: o.Timeout, NoResponse: o.NoResponse}, report)
}

func (s *scriptCaller) SendText(ctx context.Context, m sip.Text, timeout time.Duration) sip.Event {
	s.mu.Lock()
	s.calls = append(s.calls, sip.Call{Trunk: m.Trunk, From: m.From, To: m.To})
	steps := s.script[m.Trunk.Name]
	s.mu.Unlock()
	ev := steps[len(steps)-1]
	ev.Trunk = m.Trunk.Name
	return ev
}

func (s *scriptCaller) Public() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:5060") }

func (s *scriptCaller) trunksCalled() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		out = append(out, c.Trunk.Name)
	}
	return out
}

var (
	rings      = []sip.Event{{Kind: sip.EventRinging, Status: 180}, {Kind: sip.EventCancelled, Status: 487}}
	unavail    = []sip.Event{{Kind: sip.EventFailed, Status: 503, Reason: "Service Unavailable"}}
	busy       = []sip.Event{{Kind: sip.EventFailed, Status: 486, Reason: "Busy Here"}}
	noResponse = []sip.Event{{Kind: sip.EventTimeout, Reason: "no response"}}
	ringsThen  = []sip.Event{{Kind: sip.EventRinging, Status: 180}, {Kind: sip.EventFailed, Status: 503}}
	textSent   = []sip.Event{{Kind: sip.EventSent, Status: 202}}
)

// routedConfig has trunks a, b and uk; +1 numbers go to [a, b] with a
// pool of their own, +44 numbers to uk, others to b then a.
func routedConfig() *conf.Config {
	c := conf.Default()
	c.Trunks = nil
	for _, name := range []string{"a", "b", "uk"} {
		t := conf.Default().Trunks[0]
		t.Name = name
		c.Trunks = append(c.Trunks, t)
	}
	c.Routes = []conf.Route{
		{Prefix: "+1", Trunks: []conf.TrunkGroup{{"a"}, {"b"}}, Callers: []string{"+12025550100-+12025550199"}},
		{Prefix: "+44", Trunks: []conf.TrunkGroup{{"uk"}}},
	}
	c.DefaultRoute.Trunks = []conf.TrunkGroup{{"b"}, {"a"}}
	return c
}

func newScripted(t *testing.T, c *conf.Config, script map[string][]sip.Event) (*Dialer, *scriptCaller) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	sc := &scriptCaller{script: script}
	d, err := New(c, sc, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return d, sc
}

// steps describes events as "kind/trunk/status".
func steps(evs []sip.Event) []string {
	var out []string
	for _, ev := range evs {
		s := string(ev.Kind) + "/" + ev.Trunk
		if ev.Status != 0 {
			s += "/" + strconv.Itoa(ev.Status)
		}
		out = append(out, s)
	}
	return out
}

func TestFailover(t *testing.T) {
	tests := []struct {
		name   string
		script map[string][]sip.Event
		want   []string
	}{
		{"503 moves on", map[string][]sip.Event{"a": unavail, "b": rings},
			[]string{"dialing/a", "failover/a/503", "dialing/b", "ringing/b/180", "cancelled/b/487"}},
		{"no response moves on", map[string][]sip.Event{"a": noResponse, "b": rings},
			[]string{"dialing/a", "failover/a", "dialing/b", "ringing/b/180", "cancelled/b/487"}},
		{"486 is not in failover_on", map[string][]sip.Event{"a": busy, "b": rings},
			[]string{"dialing/a", "failed/a/486"}},
		{"never after a 180", map[string][]sip.Event{"a": ringsThen, "b": rings},
			[]string{"dialing/a", "ringing/a/180", "failed/a/503"}},
		{"the last trunk's failure is final", map[string][]sip.Event{"a": unavail, "b": unavail},
			[]string{"dialing/a", "failover/a/503", "dialing/b", "failed/b/503"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, sc := newScripted(t, routedConfig(), tt.script)
			var got []sip.Event
			final := d.Flash(context.Background(), "+12025550123", "+12025550999", func(ev sip.Event) { got = append(got, ev) })
			if s := steps(got); !slices.Equal(s, tt.want) {
				t.Fatalf("steps %v, want %v", s, tt.want)
			}
			if final != got[len(got)-1] {
				t.Errorf("Flash returned %+v, last step %+v", final, got[len(got)-1])
			}
			// Every attempt presents the same caller ID.
			for _, c := range sc.calls {
				if c.From != "+12025550123" {
					t.Errorf("attempt over %s from %s", c.Trunk.Name, c.From)
				}
			}
		})
	}
}

func TestNoResponseTimerOnlyWhenAnotherTrunkIsLeft(t *testing.T) {
	d, sc := newScripted(t, routedConfig(), map[string][]sip.Event{"a": unavail, "b": unavail})
	d.Flash(context.Background(), "+12025550123", "+12025550999", nil)
	if len(sc.options) != 2 || sc.options[0].NoResponse != 5*time.Second || sc.options[1].NoResponse != 0 {
		t.Fatalf("NoResponse of the attempts: %+v", sc.options)
	}
	// The attempts share the call's timeout.
	if sc.options[0].Timeout > 30*time.Second || sc.options[1].Timeout > sc.options[0].Timeout {
		t.Errorf("timeouts %v then %v", sc.options[0].Timeout, sc.options[1].Timeout)
	}
}

func TestRoutesByLongestPrefix(t *testing.T) {
	c := routedConfig()
	c.Routes = append(c.Routes, conf.Route{Prefix: "+4479", Trunks: []conf.TrunkGroup{{"a"}}})
	d, sc := newScripted(t, c, map[string][]sip.Event{"a": rings, "b": rings, "uk": rings})
	for _, tt := range []struct{ number, trunk string }{
		{"+12025550999", "a"},
		{"+442079460001", "uk"},
		{"+447911123456", "a"},
		{"+33612345678", "b"},
	} {
		sc.calls = nil
		d.Flash(context.Background(), "+442079460000", tt.number, nil)
		if got := sc.trunksCalled(); !slices.Equal(got, []string{tt.trunk}) {
			t.Errorf("%s went over %v, want %s", tt.number, got, tt.trunk)
		}
	}
}

func TestCallerIDsComeFromTheRoutePool(t *testing.T) {
	d, _ := newScripted(t, routedConfig(), nil)
	for range 50 {
		us, err := d.DrawCallerID("+12025550999", "k")
		if err != nil || !strings.HasPrefix(us.CallerID, "+120255501") {
			t.Fatalf("+1 number: caller ID %q, %v", us.CallerID, err)
		}
		uk, err := d.DrawCallerID("+447911123456", "k")
		if err != nil || !strings.HasPrefix(uk.CallerID, "+44207946") {
			t.Fatalf("+44 number (global pool): caller ID %q, %v", uk.CallerID, err)
		}
	}
}

func TestNoRouteWhenEveryTrunkIsDown(t *testing.T) {
	d, sc := newScripted(t, routedConfig(), map[string][]sip.Event{"uk": rings})
	d.trunks[2].setState(TrunkDown)
	var got []sip.Event
	final := d.Flash(context.Background(), "+442079460000", "+447911123456", func(ev sip.Event) { got = append(got, ev) })
	if !IsNoRoute(final) || len(got) != 1 || len(sc.calls) != 0 {
		t.Fatalf("final %+v, steps %v, calls %v; want one no_route failure and no call", final, steps(got), sc.calls)
	}
	if !strings.Contains(final.Reason, "route +44") || !strings.Contains(final.Reason, "uk down") {
		t.Errorf("reason %q does not say which route and trunk", final.Reason)
	}
	if n := d.Stats().NoRoute["+44"]; n != 1 {
		t.Errorf("no_route count of +44 = %d, want 1", n)
	}
	// A trunk down is skipped; the next one takes the call.
	d.trunks[0].setState(TrunkDown)
	sc.calls = nil
	d.Flash(context.Background(), "+442079460000", "+12025550999", nil)
	if got := sc.trunksCalled(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("with a down: calls over %v, want [b]", got)
	}
}

func TestNoRouteWhenEveryTrunkIsOverItsRate(t *testing.T) {
	c := routedConfig()
	c.Trunks[2].MaxCPS = 1
	c.FlashCall.TimeoutS = 1
	d, _ := newScripted(t, c, map[string][]sip.Event{"uk": rings})
	d.trunks[2].limit.lim.SetLimit(0.01) // the slot after the first is 100 s away
	d.Flash(context.Background(), "+442079460000", "+447911123456", nil)
	final := d.Flash(context.Background(), "+442079460000", "+447911123456", nil)
	if !IsNoRoute(final) || !strings.Contains(final.Reason, "max_cps") {
		t.Fatalf("second call: %+v, want no_route over max_cps", final)
	}
}

func TestFailoverOfTexts(t *testing.T) {
	d, sc := newScripted(t, routedConfig(), map[string][]sip.Event{"a": unavail, "b": textSent})
	ev := d.SendText(context.Background(), "+12025550999", "hello")
	if ev.Kind != sip.EventSent || ev.Trunk != "b" {
		t.Fatalf("text: %+v, want sent over b", ev)
	}
	if got := sc.trunksCalled(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("text went over %v", got)
	}
	if sc.calls[0].From != "+12025550100" {
		t.Errorf("text from %s, want the first number of the +1 pool", sc.calls[0].From)
	}
	st := d.Stats()
	if st.Trunks[0].Attempts != 1 || st.Trunks[0].Failovers != 1 || st.Trunks[1].Failovers != 0 {
		t.Errorf("stats %+v", st.Trunks)
	}
}

func TestWeightedOrder(t *testing.T) {
	a, b, c := &trunk{weight: 3}, &trunk{weight: 1}, &trunk{weight: 1}
	a.Name, b.Name, c.Name = "a", "b", "c"
	r := &route{groups: [][]*trunk{{a, b}, {c}}}
	name := func(ts []*trunk) string {
		var s string
		for _, t := range ts {
			s += t.Name
		}
		return s
	}
	// intN returning 0..3 picks a for 0, 1, 2 (its weight 3) and b for 3.
	for pick, want := range map[int]string{0: "abc", 2: "abc", 3: "bac"} {
		if got := name(r.order(func(n int) int { return pick % n })); got != want {
			t.Errorf("draw %d: order %s, want %s", pick, got, want)
		}
	}
}
