package fraud

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/store/storetest"
)

func newTestGuard(t testing.TB, mod func(*conf.Config)) *Guard {
	c := conf.Default()
	c.Fraud.PumpingGuard.MinAttempts = 1_000_000
	if mod != nil {
		mod(c)
	}
	return New(storetest.New(t), Config{Fraud: c.Fraud, Limits: c.Limits, Node: "n1"}, storetest.Logger(t))
}

func client(key, ip string) context.Context {
	return WithClient(context.Background(), Client{Key: key, IP: netip.MustParseAddr(ip)})
}

// admitted admits a create of number and reports its refusal, if any.
func admitted(t *testing.T, g *Guard, ctx context.Context, number string) *Refusal {
	t.Helper()
	done, err := g.Admit(ctx, number)
	if err == nil {
		done(true)
		return nil
	}
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("Admit: %v", err)
	}
	return r
}

func TestGuardLimits(t *testing.T) {
	g := newTestGuard(t, func(c *conf.Config) {
		c.Limits.PerKeyPerMinute = 3
		c.Limits.PerIPPerMinute = 2
	})
	const n = "+447400123456"
	if r := admitted(t, g, client("k1", "198.51.100.1"), n); r != nil {
		t.Fatal(r)
	}
	if r := admitted(t, g, client("k1", "198.51.100.1"), n); r != nil {
		t.Fatal(r)
	}
	r := admitted(t, g, client("k1", "198.51.100.1"), n)
	if r == nil || r.Reason != ReasonPerIP || r.Status != 429 || r.RetryAfter <= 20*time.Second || r.RetryAfter > 30*time.Second {
		t.Fatalf("third from one address: %+v, want per_ip with at most 30 s to wait (one back every 30 s)", r)
	}
	// The per-IP refusal took nothing from the key: one create left.
	if r := admitted(t, g, client("k1", "198.51.100.2"), n); r != nil {
		t.Fatalf("the key's third create: %v", r)
	}
	r = admitted(t, g, client("k1", "198.51.100.3"), n)
	if r == nil || r.Reason != ReasonPerKey || r.RetryAfter <= 10*time.Second || r.RetryAfter > 20*time.Second {
		t.Fatalf("the key's fourth create: %+v, want per_key with at most 20 s to wait (one back every 20 s)", r)
	}
	// A fallback link (no client) is not held to the client's limits.
	if r := admitted(t, g, context.Background(), n); r != nil {
		t.Fatalf("fallback link: %v", r)
	}
	st := g.Stats()
	if st.Refusals[[2]string{ReasonPerIP, "GB"}] != 1 || st.Refusals[[2]string{ReasonPerKey, "GB"}] != 1 {
		t.Fatalf("refusals %v", st.Refusals)
	}
}

// TestGuardGivesBack: a create admitted but not stored gives back what it
// took.
func TestGuardGivesBack(t *testing.T) {
	g := newTestGuard(t, func(c *conf.Config) { c.Limits.PerKeyPerMinute = 1 })
	for range 5 {
		done, err := g.Admit(client("k1", "198.51.100.1"), "+447400123456")
		if err != nil {
			t.Fatal(err)
		}
		done(false)
	}
}

func TestGuardGlobal(t *testing.T) {
	g := newTestGuard(t, func(c *conf.Config) { c.Limits.GlobalPerSecond = 2 })
	var refused *Refusal
	for i := range 3 {
		refused = admitted(t, g, client("k"+strconv.Itoa(i), "198.51.100.1"), "+447400123456")
	}
	if refused == nil || refused.Reason != ReasonGlobal || refused.RetryAfter <= 0 || refused.RetryAfter > 500*time.Millisecond {
		t.Fatalf("third of 2 a second: %+v", refused)
	}
}

func TestGuardChecks(t *testing.T) {
	g := newTestGuard(t, func(c *conf.Config) { c.Limits.ChecksPerIPPerMinute = 2 })
	ctx := client("k1", "2001:db8:1:2::1")
	for range 2 {
		if err := g.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Another address of the same /64 shares its budget.
	err := g.Check(client("k1", "2001:db8:1:2::99"))
	var r *Refusal
	if !errors.As(err, &r) || r.Reason != ReasonChecksPerIP || r.Code != CodeRateLimited {
		t.Fatalf("third check: %v", err)
	}
	if err := g.Check(client("k1", "2001:db8:1:3::1")); err != nil {
		t.Fatalf("another /64: %v", err)
	}
}

func TestGuardDestinationFirst(t *testing.T) {
	g := newTestGuard(t, func(c *conf.Config) { c.Limits.PerKeyPerMinute = 1 })
	r := admitted(t, g, client("k1", "198.51.100.1"), "+449098790123")
	if r == nil || r.Reason != ReasonNumberType || r.Status != 403 {
		t.Fatalf("premium rate: %+v", r)
	}
	// Nothing was taken from the key's budget.
	if r := admitted(t, g, client("k1", "198.51.100.1"), "+447400123456"); r != nil {
		t.Fatal(r)
	}
}

// BenchmarkGuardAdmit is the guard's cost on the create path: with the
// default configuration (destination rules, the pumping guard, no
// limits), and with a per-key limit high enough never to refuse (one
// store transaction per create, or per batch).
func BenchmarkGuardAdmit(b *testing.B) {
	for _, bc := range []struct {
		name string
		mod  func(*conf.Config)
	}{
		{"defaults", nil},
		{"per-key-limit", func(c *conf.Config) { c.Limits.PerKeyPerMinute = 1_000_000_000 }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := newTestGuard(b, bc.mod)
			ctx := client("k1", "198.51.100.1")
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				done, err := g.Admit(ctx, "+4474001"+strconv.Itoa(10000+i%90000))
				if err != nil {
					b.Fatal(err)
				}
				done(true)
			}
		})
	}
}
