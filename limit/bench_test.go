package limit_test

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/store/storetest"
)

// BenchmarkAllow is the cost of one Allow against an embedded etcd: for a
// subject seen for the first time (a number's first verification), for
// one subject taken from again and again by one goroutine, and by 16
// goroutines each with subjects of their own (concurrent creates).
func BenchmarkAllow(b *testing.B) {
	st := storetest.New(b)
	l := limit.New(st, "limit/bench/", limit.PerHour(1_000_000_000))
	b.Run("new-subject", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if ok, _, err := l.Allow(b.Context(), "new/"+strconv.Itoa(i)); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("same-subject", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _, err := l.Allow(b.Context(), "same"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("parallel-16", func(b *testing.B) {
		var ids atomic.Int64
		b.SetParallelism(8) // 16 goroutines on 2 cores
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			prefix := "par/" + strconv.FormatInt(ids.Add(1), 10) + "/"
			for i := 0; pb.Next(); i++ {
				if ok, _, err := l.Allow(b.Context(), prefix+strconv.Itoa(i%64)); !ok || err != nil {
					b.Error(ok, err)
					return
				}
			}
		})
	})
}

// BenchmarkPoolAllow is a limit on the whole cluster (one subject) of
// 100,000 a second, asked by 16 goroutines: most events come out of this
// node's batch without a store transaction.
func BenchmarkPoolAllow(b *testing.B) {
	st := storetest.New(b)
	p := limit.NewPool(limit.New(st, "limit/bench/", limit.PerSecond(100_000)), 0)
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := p.Allow(b.Context(), "global"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRefused is the cost of a refusal resting on what the node saw:
// no store transaction.
func BenchmarkRefused(b *testing.B) {
	st := storetest.New(b)
	l := limit.New(st, "limit/bench/", limit.PerHour(1))
	if ok, _, _ := l.Allow(b.Context(), "spent"); !ok {
		b.Fatal("refused")
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := l.Allow(b.Context(), "spent"); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
