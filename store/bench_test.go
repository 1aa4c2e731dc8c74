package store_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store/storetest"
)

func BenchmarkCreate(b *testing.B) {
	s := storetest.New(b)
	for _, ttl := range []time.Duration{0, 5 * time.Minute} {
		b.Run("ttl="+ttl.String(), func(b *testing.B) {
			ctx := b.Context()
			val := []byte(`{"state":"pending","method":"flashcall","attempts":0}`)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := s.Create(ctx, "bench/create/"+ttl.String()+"/"+strconv.Itoa(i), val, ttl); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpdate runs 16 goroutines, each updating its own key: the shape
// of concurrent verifications.
func BenchmarkUpdate(b *testing.B) {
	s := storetest.New(b)
	ctx := b.Context()
	var ids atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := "bench/update/" + strconv.FormatInt(ids.Add(1), 10)
		if err := s.Create(ctx, key, []byte(`{"N":0}`), 5*time.Minute); err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			if _, err := s.Update(ctx, key, incrJSON); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
