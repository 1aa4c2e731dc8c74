package dialer

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/sip"
	"github.com/ringproof/ringproof/store/storetest"
)

// Benchmarks of the dialer's share of a flash call: leasing a caller ID
// (Pick is BenchmarkPick in pool_test.go) and the work Dialer.Flash does
// before handing the call to SIP. See docs/performance.md.
//
//	go test ./dialer -run '^$' -bench . -benchmem

// grantLeaser grants every lease, so that Lease costs one draw and one
// take.
type grantLeaser struct{}

func (grantLeaser) Take(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return true, nil
}

func BenchmarkLease(b *testing.B) {
	p := mustPool(b, 4, rng(442079460000, 442079469999, 12))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Lease(ctx, grantLeaser{}, "8c7dd922ad47494fc02c388e12c00eac", nil, 2*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeaseEtcd leases caller IDs on a real embedded etcd, 32 at a
// time, each for a different number: one create-if-absent write per
// verification, which the POST waits for.
func BenchmarkLeaseEtcd(b *testing.B) {
	st := storetest.New(b)
	p := mustPool(b, 4, rng(442079460000, 442079469999, 12))
	var n atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			key := "number" + strconv.FormatInt(n.Add(1), 10)
			if _, err := p.Lease(ctx, storeLeaser{st}, key, nil, 2*time.Minute); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// instantCaller ends every call at once, cancelled.
type instantCaller struct{}

func (instantCaller) Flash(ctx context.Context, c sip.Call, o sip.FlashOptions, report func(sip.Event)) sip.Event {
	return sip.Event{Kind: sip.EventCancelled, Status: 487}
}

func (instantCaller) Public() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:5060") }

// BenchmarkDialerFlash is the dialer's own work per call, SIP aside: the
// trunk's calls-per-second limiter (at a cap it never reaches) and the SDP
// offer.
func BenchmarkDialerFlash(b *testing.B) {
	c := conf.Default()
	c.Trunks[0].MaxCPS = 1 << 30
	d, err := New(c, instantCaller{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if ev := d.Flash(ctx, "+442079461234", "+447911123456", nil); ev.Kind != sip.EventCancelled {
			b.Fatalf("call ended %s: %s", ev.Kind, ev.Reason)
		}
	}
}
