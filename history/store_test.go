package history_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to edit a database behind the store
	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/history/pgtest"
	_ "modernc.org/sqlite" // the "sqlite" driver, likewise
)

// pg is the package's PostgreSQL server, started by the first test that
// needs it (nil until then).
var (
	pgOnce sync.Once
	pg     *pgtest.Server
	pgErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pg != nil {
		pg.Close()
	}
	os.Exit(code)
}

// backendsSQL is backends that also hands fn the backend's database as
// plain SQL, for tests that edit it behind the store's back.
func backendsSQL(t *testing.T, fn func(t *testing.T, open func(t *testing.T) history.Store, db *sql.DB)) {
	t.Run("embedded", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), history.EmbeddedFile)
		fn(t, func(t *testing.T) history.Store {
			s, err := history.OpenEmbedded(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}, rawDB(t, "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"))
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgDatabase(t)
		fn(t, func(t *testing.T) history.Store {
			s, err := history.OpenPostgres(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}, rawDB(t, "pgx", url))
	})
}

func rawDB(t *testing.T, driver, dsn string) *sql.DB {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// pgDatabase returns the URL of a new database on the package's
// PostgreSQL server, skipping the test without PostgreSQL (unless CI is
// "true").
func pgDatabase(t *testing.T) string {
	pgOnce.Do(func() { pg, pgErr = pgtest.Start() })
	if pgErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %v", pgErr)
		}
		t.Skipf("pgtest: %v", pgErr)
	}
	return pg.Database(t)
}

// backends runs fn against each backend: the embedded one on a fresh file,
// and PostgreSQL on a fresh database (skipped without PostgreSQL, unless
// CI=true).
func backends(t *testing.T, fn func(t *testing.T, open func(t *testing.T) history.Store)) {
	t.Run("embedded", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), history.EmbeddedFile)
		fn(t, func(t *testing.T) history.Store {
			s, err := history.OpenEmbedded(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
	t.Run("postgres", func(t *testing.T) {
		pgOnce.Do(func() { pg, pgErr = pgtest.Start() })
		if pgErr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("pgtest: %v", pgErr)
			}
			t.Skipf("pgtest: %v", pgErr)
		}
		url := pg.Database(t)
		fn(t, func(t *testing.T) history.Store {
			s, err := history.OpenPostgres(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func entry(id, nk string, created time.Time, version int64, body string) history.Entry {
	return history.Entry{ID: id, NumberKey: nk, Kind: history.KindVerification, CreatedAt: created,
		ExpiresAt: created.Add(30 * 24 * time.Hour), Version: version, Body: []byte(body)}
}

func TestWriteKeepsTheNewestVersion(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		w, err := s.Write(ctx, history.Batch{Entries: []history.Entry{
			entry("v1", "nkA", t0, 2, `{"v":2}`),
			entry("v2", "nkA", t0.Add(time.Second), 1, `{"v":1}`),
			entry("v3", "nkB", t0, 1, `{}`),
		}})
		if err != nil || w.Entries != 3 {
			t.Fatalf("write: %+v, %v", w, err)
		}
		// An older or equal version changes nothing; a newer one replaces.
		if w, err := s.Write(ctx, history.Batch{Entries: []history.Entry{
			entry("v1", "nkA", t0, 1, `{"v":1}`), entry("v1", "nkA", t0, 2, `{"v":"again"}`), entry("v2", "nkA", t0.Add(time.Second), 5, `{"v":5}`),
		}}); err != nil || w.Entries != 1 {
			t.Fatalf("rewrite: %+v, %v", w, err)
		}
		got, err := s.Entries(ctx, "nkA")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != "v1" || string(got[0].Body) != `{"v":2}` || got[1].ID != "v2" || string(got[1].Body) != `{"v":5}` || got[1].Version != 5 {
			t.Fatalf("entries of nkA: %+v", got)
		}
		if !got[0].CreatedAt.Equal(t0) || got[0].Kind != history.KindVerification {
			t.Fatalf("entry fields: %+v", got[0])
		}
		if got, _ := s.Entries(ctx, "nobody"); len(got) != 0 {
			t.Fatalf("entries of nobody: %+v", got)
		}
	})
}

func TestDataKeysExtendNeverShorten(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		if _, err := s.DataKey(ctx, "nkA"); err != history.ErrNotFound {
			t.Fatalf("absent key: %v", err)
		}
		k := history.DataKey{NumberKey: "nkA", Wrapped: []byte("wrapped-1"), Since: t0, ExpiresAt: t0.Add(time.Hour)}
		if _, err := s.Write(ctx, history.Batch{DataKeys: []history.DataKey{k}}); err != nil {
			t.Fatal(err)
		}
		longer, shorter := k, k
		longer.ExpiresAt, shorter.ExpiresAt = t0.Add(3*time.Hour), t0.Add(2*time.Hour)
		longer.Wrapped = []byte("a different wrapping is not taken")
		for _, w := range []history.DataKey{longer, shorter} {
			if _, err := s.Write(ctx, history.Batch{DataKeys: []history.DataKey{w}}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.DataKey(ctx, "nkA")
		if err != nil || string(got.Wrapped) != "wrapped-1" || !got.ExpiresAt.Equal(t0.Add(3*time.Hour)) {
			t.Fatalf("data key: %+v, %v", got, err)
		}
		if ok, err := s.SwapDataKey(ctx, "nkA", []byte("not it"), []byte("x")); ok || err != nil {
			t.Fatalf("swap from the wrong old value: %v, %v", ok, err)
		}
		if ok, err := s.SwapDataKey(ctx, "nkA", []byte("wrapped-1"), []byte("wrapped-2")); !ok || err != nil {
			t.Fatalf("swap: %v, %v", ok, err)
		}
		var all []history.DataKey
		if err := s.RangeDataKeys(ctx, func(k history.DataKey) error { all = append(all, k); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || string(all[0].Wrapped) != "wrapped-2" || !all[0].ExpiresAt.Equal(t0.Add(3*time.Hour)) {
			t.Fatalf("range: %+v", all)
		}
	})
}

func TestEraseRefusesWhatWasMadeBefore(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		key := history.DataKey{NumberKey: "nkA", Wrapped: []byte("k1"), Since: t0, ExpiresAt: t0.Add(time.Hour)}
		if _, err := s.Write(ctx, history.Batch{DataKeys: []history.DataKey{key},
			Entries: []history.Entry{entry("v1", "nkA", t0, 1, "{}"), entry("v2", "nkA", t0.Add(time.Minute), 1, "{}"), entry("v3", "nkB", t0, 1, "{}")}}); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(2 * time.Minute)
		dry, err := s.Erase(ctx, history.Erasure{NumberKey: "nkA", At: at, DryRun: true})
		if err != nil || len(dry.Entries) != 2 || dry.DataKeys != 1 {
			t.Fatalf("dry run: %+v, %v", dry, err)
		}
		if got, _ := s.Entries(ctx, "nkA"); len(got) != 2 {
			t.Fatalf("a dry run removed entries: %+v", got)
		}
		out, err := s.Erase(ctx, history.Erasure{NumberKey: "nkA", At: at})
		if err != nil || len(out.Entries) != 2 || out.DataKeys != 1 || out.Entries[0].ID != "v1" {
			t.Fatalf("erase: %+v, %v", out, err)
		}
		if got, _ := s.Entries(ctx, "nkA"); len(got) != 0 {
			t.Fatalf("entries left: %+v", got)
		}
		if _, err := s.DataKey(ctx, "nkA"); err != history.ErrNotFound {
			t.Fatalf("data key left: %v", err)
		}
		if got, _ := s.Entries(ctx, "nkB"); len(got) != 1 {
			t.Fatalf("another number's entries: %+v", got)
		}
		// A writer that read before the erasure comes late: refused.
		w, err := s.Write(ctx, history.Batch{DataKeys: []history.DataKey{key}, Entries: []history.Entry{entry("v2", "nkA", t0.Add(time.Minute), 2, "{}")}})
		if err != nil || w.Entries != 0 || w.DataKeys != 0 || w.Refused != 1 {
			t.Fatalf("late write: %+v, %v", w, err)
		}
		// What the number does after the erasure is kept.
		key2 := history.DataKey{NumberKey: "nkA", Wrapped: []byte("k2"), Since: at.Add(time.Second), ExpiresAt: at.Add(time.Hour)}
		w, err = s.Write(ctx, history.Batch{DataKeys: []history.DataKey{key2}, Entries: []history.Entry{entry("v4", "nkA", at.Add(time.Second), 1, "{}")}})
		if err != nil || w.Entries != 1 || w.DataKeys != 1 {
			t.Fatalf("write after: %+v, %v", w, err)
		}
		if k, err := s.DataKey(ctx, "nkA"); err != nil || string(k.Wrapped) != "k2" {
			t.Fatalf("new data key: %+v, %v", k, err)
		}
		// The mark is forgotten after a day.
		x, err := s.Expire(ctx, at.Add(25*time.Hour))
		if err != nil || x.Erasures != 1 {
			t.Fatalf("expire marks: %+v, %v", x, err)
		}
	})
}

// TestEraseRacingWrites erases a number while writers keep writing what was
// made before the erasure: afterwards nothing of it is left, whichever
// order the transactions took.
func TestEraseRacingWrites(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		at := t0.Add(time.Hour)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					_, err := s.Write(ctx, history.Batch{
						DataKeys: []history.DataKey{{NumberKey: "nkA", Wrapped: []byte("k"), Since: t0, ExpiresAt: at.Add(time.Hour)}},
						Entries:  []history.Entry{entry(fmt.Sprintf("v%d-%d", w, i), "nkA", t0.Add(time.Duration(i)*time.Second), 1, "{}")},
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		for range 3 {
			if _, err := s.Erase(ctx, history.Erasure{NumberKey: "nkA", At: at}); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		if _, err := s.Erase(ctx, history.Erasure{NumberKey: "nkA", At: at}); err != nil {
			t.Fatal(err)
		}
		// Now every late write is refused.
		if w, err := s.Write(ctx, history.Batch{Entries: []history.Entry{entry("late", "nkA", t0, 1, "{}")}}); err != nil || w.Entries != 0 {
			t.Fatalf("late write: %+v, %v", w, err)
		}
		if got, _ := s.Entries(ctx, "nkA"); len(got) != 0 {
			t.Fatalf("%d entries survived the erasure", len(got))
		}
		if _, err := s.DataKey(ctx, "nkA"); err != history.ErrNotFound {
			t.Fatalf("data key survived the erasure: %v", err)
		}
	})
}

func TestExpireRemovesWhatRetentionEnded(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		var b history.Batch
		for i := range 30 {
			e := entry(fmt.Sprintf("v%02d", i), "nkA", t0.Add(time.Duration(i)*time.Hour), 1, "{}")
			e.ExpiresAt = e.CreatedAt.Add(24 * time.Hour)
			b.Entries = append(b.Entries, e)
		}
		b.DataKeys = []history.DataKey{
			{NumberKey: "nkA", Wrapped: []byte("k"), Since: t0, ExpiresAt: t0.Add(53 * time.Hour)},
			{NumberKey: "nkB", Wrapped: []byte("k"), Since: t0, ExpiresAt: t0.Add(10 * time.Hour)},
		}
		if _, err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		x, err := s.Expire(ctx, t0.Add(34*time.Hour+time.Minute))
		if err != nil || x.Entries != 11 || x.DataKeys != 1 {
			t.Fatalf("expire: %+v, %v", x, err)
		}
		got, _ := s.Entries(ctx, "nkA")
		if len(got) != 19 || got[0].ID != "v11" {
			t.Fatalf("left: %d, first %+v", len(got), got[0])
		}
		if _, err := s.DataKey(ctx, "nkB"); err != history.ErrNotFound {
			t.Fatalf("nkB's key should have expired: %v", err)
		}
		stats, err := s.Stats(ctx)
		if err != nil || len(stats) != 1 || stats[0].Count != 19 || !stats[0].Oldest.Equal(t0.Add(11*time.Hour)) || !stats[0].Newest.Equal(t0.Add(29*time.Hour)) {
			t.Fatalf("stats: %+v, %v", stats, err)
		}
	})
}

func TestAuditTrail(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		for i, subj := range []string{"s1", "s2", "s1", ""} {
			if err := s.AppendAudit(ctx, history.AuditRecord{ID: fmt.Sprintf("a%d", i), At: t0.Add(time.Duration(i) * time.Second), Subject: subj, Body: []byte(fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.Audit(ctx, "")
		if err != nil || len(all) != 4 {
			t.Fatalf("all: %+v, %v", all, err)
		}
		s1, err := s.Audit(ctx, "s1")
		if err != nil || len(s1) != 2 || s1[0].ID != "a0" || s1[1].ID != "a2" || string(s1[1].Body) != "2" || !s1[1].At.Equal(t0.Add(2*time.Second)) {
			t.Fatalf("s1: %+v, %v", s1, err)
		}
		if err := s.AppendAudit(ctx, history.AuditRecord{ID: "a0", At: t0, Subject: "s1"}); err == nil {
			t.Fatal("an audit record's id was accepted twice")
		}
	})
}

// TestEmbeddedSharedByProcesses opens one embedded database twice, as the
// server and a privacy command do: each sees the other's writes.
func TestEmbeddedSharedByProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), history.EmbeddedFile)
	ctx := context.Background()
	a, err := history.OpenEmbedded(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := history.OpenEmbedded(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Write(ctx, history.Batch{Entries: []history.Entry{entry("v1", "nkA", t0, 1, "{}")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Erase(ctx, history.Erasure{NumberKey: "nkA", At: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Entries(ctx, "nkA"); len(got) != 0 {
		t.Fatalf("a still sees %d entries", len(got))
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode: %v, %v", fi.Mode(), err)
	}
}

// TestWriteTakesRepeatsInOneBatch writes one id twice and one number's key
// twice in a batch, as a writer may: the highest version and the latest
// key win.
func TestWriteTakesRepeatsInOneBatch(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		_, err := s.Write(ctx, history.Batch{
			Entries: []history.Entry{entry("v1", "nkA", t0, 1, "one"), entry("v1", "nkA", t0, 3, "three"), entry("v1", "nkA", t0, 2, "two")},
			DataKeys: []history.DataKey{
				{NumberKey: "nkA", Wrapped: []byte("old"), Since: t0, ExpiresAt: t0.Add(2 * time.Hour)},
				{NumberKey: "nkA", Wrapped: []byte("new"), Since: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour)},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.Entries(ctx, "nkA")
		if len(got) != 1 || string(got[0].Body) != "three" {
			t.Fatalf("entries: %+v", got)
		}
		if k, err := s.DataKey(ctx, "nkA"); err != nil || string(k.Wrapped) != "new" || !k.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("data key: %+v, %v", k, err)
		}
	})
}

func TestHoldingsStats(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		b := history.Batch{
			Entries: []history.Entry{
				entry("v1", "nkA", t0, 1, `{"id":"v1","legal_basis":"consent"}`),
				entry("v2", "nkA", t0.Add(time.Hour), 1, `{"id":"v2"}`),
				entry("v3", "nkB", t0.Add(2*time.Hour), 1, `{"id":"v3","legal_basis":"consent"}`),
			},
			DataKeys: []history.DataKey{
				{NumberKey: "nkA", Wrapped: []byte("k"), Since: t0, ExpiresAt: t0.Add(48 * time.Hour)},
				{NumberKey: "nkB", Wrapped: []byte("k"), Since: t0.Add(2 * time.Hour), ExpiresAt: t0.Add(48 * time.Hour)},
			},
		}
		if _, err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		c, err := s.StatsMatching(ctx, history.KindVerification, []byte(`"legal_basis":"consent"`))
		if err != nil || c.Count != 2 || !c.Oldest.Equal(t0) || !c.Newest.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("consent: %+v, %v", c, err)
		}
		if c, err := s.StatsMatching(ctx, history.KindMaskingRoute, []byte(`"legal_basis":"consent"`)); err != nil || c.Count != 0 || !c.Oldest.IsZero() {
			t.Fatalf("none: %+v, %v", c, err)
		}
		k, err := s.DataKeyStats(ctx)
		if err != nil || k.Count != 2 || !k.Newest.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("data keys: %+v, %v", k, err)
		}
		if err := s.AppendAudit(ctx, history.AuditRecord{ID: "a1", At: t0, Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		if a, err := s.AuditStats(ctx); err != nil || a.Count != 1 || !a.Oldest.Equal(t0) {
			t.Fatalf("audit: %+v, %v", a, err)
		}
		if s.Backend() == "" {
			t.Fatal("no backend name")
		}
	})
}

// TestWriteBatchesOfEverySize writes batches whose sizes fall on, beside
// and across the sizes a batch is cut into (the prepared statements on
// SQLite, 100 rows on PostgreSQL), many of them through one store: each
// batch is written whole once, counted right, and refused where its
// number was erased; written again, it changes nothing unless its version
// is newer.
func TestWriteBatchesOfEverySize(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		if _, err := s.Erase(ctx, history.Erasure{NumberKey: "erased", At: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 2, 3, 4, 5, 15, 16, 17, 21, 63, 64, 65, 85, 99, 100, 101, 150} {
			batch := func(version int64) history.Batch {
				var b history.Batch
				for i := range n {
					nk := fmt.Sprintf("nk%d-%d", n, i)
					if i == n/2 {
						nk = "erased"
					}
					id := fmt.Sprintf("v%d-%d", n, i)
					b.Entries = append(b.Entries, entry(id, nk, t0, version, fmt.Sprintf("body %d", version)))
					b.DataKeys = append(b.DataKeys, history.DataKey{NumberKey: nk, Wrapped: []byte("key"), Since: t0, ExpiresAt: t0.Add(time.Hour)})
					b.Deliveries = append(b.Deliveries, history.Delivery{ID: id, Event: "verification.updated", URL: "https://example.com/hook",
						Body: []byte("{}"), CreatedAt: t0, NextAt: t0, GiveUpAt: t0.Add(time.Hour), ExpiresAt: t0.Add(time.Hour)})
				}
				return b
			}
			want := history.Written{Entries: max(n-1, 0), DataKeys: max(n-1, 0), Refused: min(n, 1), Deliveries: n}
			if w, err := s.Write(ctx, batch(1)); err != nil || w != want {
				t.Fatalf("%d rows: wrote %+v, %v; want %+v", n, w, err, want)
			}
			want = history.Written{Refused: min(n, 1)}
			if w, err := s.Write(ctx, batch(1)); err != nil || w != want {
				t.Fatalf("%d rows again: wrote %+v, %v; want %+v", n, w, err, want)
			}
			want = history.Written{Entries: max(n-1, 0), Refused: min(n, 1)}
			if w, err := s.Write(ctx, batch(2)); err != nil || w != want {
				t.Fatalf("%d rows, newer: wrote %+v, %v; want %+v", n, w, err, want)
			}
			for i := range n {
				nk := fmt.Sprintf("nk%d-%d", n, i)
				if i == n/2 {
					continue
				}
				got, err := s.Entries(ctx, nk)
				if err != nil || len(got) != 1 || got[0].Version != 2 || string(got[0].Body) != "body 2" {
					t.Fatalf("%d rows: entries of %s: %+v, %v", n, nk, got, err)
				}
			}
		}
		if got, err := s.Entries(ctx, "erased"); err != nil || len(got) != 0 {
			t.Fatalf("entries of the erased number: %+v, %v", got, err)
		}
	})
}
