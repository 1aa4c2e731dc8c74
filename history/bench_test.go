package history_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/history/pgtest"
)

// benchBackends runs fn against the embedded backend and, when PostgreSQL
// is installed, a PostgreSQL database.
func benchBackends(b *testing.B, fn func(b *testing.B, s history.Store)) {
	b.Run("embedded", func(b *testing.B) {
		s, err := history.OpenEmbedded(context.Background(), filepath.Join(b.TempDir(), history.EmbeddedFile))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		fn(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		pgOnce.Do(func() { pg, pgErr = pgtest.Start() })
		if pgErr != nil {
			b.Skipf("pgtest: %v", pgErr)
		}
		s, err := history.OpenPostgres(context.Background(), pg.Database(b))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		fn(b, s)
	})
}

// body is a verification entry's size as the writer makes it (about 700
// bytes of JSON with its sealed personal data).
func body() []byte {
	b := make([]byte, 700)
	rand.Read(b)
	return b
}

// BenchmarkWrite writes entries in batches of 256, as a node's writer does
// under load, each with its number's data key; entries/s is the figure.
func BenchmarkWrite(b *testing.B) { benchWrite(b, 256) }

// BenchmarkWriteSmall writes entries in batches of 50, as a node's writer
// does at 500 verifications/s (a batch every 100 ms), each with its
// number's data key; entries/s is the figure.
func BenchmarkWriteSmall(b *testing.B) { benchWrite(b, 50) }

// benchWrite writes b.N entries, size to a batch, each with its number's
// data key.
func benchWrite(b *testing.B, size int) {
	benchBackends(b, func(b *testing.B, s history.Store) {
		ctx, bd := context.Background(), body()
		now := time.Now()
		b.ResetTimer()
		for i := 0; i < b.N; {
			var batch history.Batch
			for j := 0; j < size && i < b.N; j, i = j+1, i+1 {
				nk := fmt.Sprintf("%032x", i)
				batch.Entries = append(batch.Entries, history.Entry{ID: "v" + nk, NumberKey: nk, Kind: history.KindVerification,
					CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour), Version: 1, Body: bd})
				batch.DataKeys = append(batch.DataKeys, history.DataKey{NumberKey: nk, Wrapped: bd[:60], Since: now, ExpiresAt: now.Add(30 * 24 * time.Hour)})
			}
			if _, err := s.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}

// BenchmarkExpire measures retention on a store of RINGPROOF_EXPIRE_ROWS
// entries (default 100,000; set 1000000 for the figure in
// docs/performance.md): half of them expire, removed in bulk by range.
func BenchmarkExpire(b *testing.B) {
	rows := 100_000
	if v, err := strconv.Atoi(os.Getenv("RINGPROOF_EXPIRE_ROWS")); err == nil && v > 0 {
		rows = v
	}
	benchBackends(b, func(b *testing.B, s history.Store) {
		ctx, bd := context.Background(), body()
		for n := 0; n < b.N; n++ {
			b.StopTimer()
			start := time.Now()
			for i := 0; i < rows; {
				var batch history.Batch
				for j := 0; j < 1000 && i < rows; j, i = j+1, i+1 {
					nk := fmt.Sprintf("%d-%032x", n, i)
					at := t0.Add(time.Duration(i) * time.Second)
					batch.Entries = append(batch.Entries, history.Entry{ID: "v" + nk, NumberKey: nk, Kind: history.KindVerification,
						CreatedAt: at, ExpiresAt: at, Version: 1, Body: bd})
				}
				if _, err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.Logf("filled %d entries in %v", rows, time.Since(start))
			b.StartTimer()
			x, err := s.Expire(ctx, t0.Add(time.Duration(rows/2)*time.Second))
			if err != nil || x.Entries != int64(rows/2) {
				b.Fatalf("expire: %+v, %v", x, err)
			}
			b.StopTimer()
			if _, err := s.Expire(ctx, t0.Add(time.Duration(rows)*time.Second)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rows/2)*float64(b.N)/b.Elapsed().Seconds(), "expired/s")
	})
}

// BenchmarkList reads the first page (20) of a scope's verifications,
// newest first, from 50,000 entries spread over 5 scopes and 10,000
// numbers, and one number's first page; pages/s is the figure.
func BenchmarkList(b *testing.B) {
	benchBackends(b, func(b *testing.B, s history.Store) {
		ctx, bd := context.Background(), body()
		t0 := time.Now().Add(-time.Hour)
		const n = 50_000
		for i := 0; i < n; {
			var batch history.Batch
			for j := 0; j < 500 && i < n; j, i = j+1, i+1 {
				batch.Entries = append(batch.Entries, history.Entry{
					ID: fmt.Sprintf("v%031x", i), NumberKey: fmt.Sprintf("%032x", i%10_000), Kind: history.KindVerification,
					Scope: "s" + strconv.Itoa(i%5), CreatedAt: t0.Add(time.Duration(i) * time.Millisecond),
					ExpiresAt: t0.Add(24 * time.Hour), Version: 1, Body: bd,
				})
			}
			if _, err := s.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		for _, q := range []struct {
			name string
			q    history.ListQuery
		}{
			{"scope", history.ListQuery{Kind: history.KindVerification, Scope: "s1", Limit: 20}},
			{"number", history.ListQuery{Kind: history.KindVerification, Scope: "s1", NumberKey: fmt.Sprintf("%032x", 1), Limit: 20}},
		} {
			b.Run(q.name, func(b *testing.B) {
				for b.Loop() {
					es, err := s.List(ctx, q.q)
					if err != nil || len(es) == 0 {
						b.Fatalf("list: %d entries, %v", len(es), err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
			})
		}
	})
}

// BenchmarkDataKey looks up the data key of a number the store has never
// seen (a new number's first verification, the common case on the create
// path) among 20,000 that it holds, from 8 goroutines; with the writer,
// while another goroutine writes batches of 256 entries as a node's
// history writer does, so that a look-up meets a write in progress.
func BenchmarkDataKey(b *testing.B) {
	for _, writing := range []bool{false, true} {
		b.Run(map[bool]string{false: "idle", true: "writer"}[writing], func(b *testing.B) {
			benchBackends(b, func(b *testing.B, s history.Store) {
				ctx, bd := context.Background(), body()
				now := time.Now()
				batchOf := func(from, n int) history.Batch {
					var batch history.Batch
					for i := from; i < from+n; i++ {
						nk := fmt.Sprintf("%032x", i)
						batch.Entries = append(batch.Entries, history.Entry{ID: "v" + nk, NumberKey: nk, Kind: history.KindVerification,
							CreatedAt: now, ExpiresAt: now.Add(time.Hour), Version: 1, Body: bd})
						batch.DataKeys = append(batch.DataKeys, history.DataKey{NumberKey: nk, Wrapped: bd[:60], Since: now, ExpiresAt: now.Add(time.Hour)})
					}
					return batch
				}
				for i := 0; i < 20_000; i += 500 {
					if _, err := s.Write(ctx, batchOf(i, 500)); err != nil {
						b.Fatal(err)
					}
				}
				stop, done := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(done)
					for i := 1_000_000; writing; i += 256 {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := s.Write(ctx, batchOf(i, 256)); err != nil {
							b.Error(err)
							return
						}
					}
				}()
				var seq atomic.Int64
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						nk := fmt.Sprintf("new-%d", seq.Add(1))
						if _, err := s.DataKey(ctx, nk); !errors.Is(err, history.ErrNotFound) {
							b.Errorf("DataKey(%s): %v, want ErrNotFound", nk, err)
							return
						}
					}
				})
				b.StopTimer()
				close(stop)
				<-done
			})
		})
	}
}
