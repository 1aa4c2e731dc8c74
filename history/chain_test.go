package history_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/history"
)

// seal stands for a signature in these tests: a digest of the hash under
// a secret the tests' tamperer does not use.
func seal(hash []byte) []byte {
	sum := sha256.Sum256(append([]byte("secret"), hash...))
	return sum[:]
}

func checkSeal(r history.AuditRecord) error {
	if string(seal(r.Hash)) != string(r.Seal) {
		return errors.New("wrong seal")
	}
	return nil
}

func auditRecord(i int, at time.Time) history.AuditRecord {
	return history.AuditRecord{ID: fmt.Sprintf("a%03d", i), At: at, Subject: fmt.Sprintf("s%d", i%3), Body: []byte(fmt.Sprintf(`{"n":%d}`, i)),
		ExpiresAt: at.Add(24 * time.Hour)}
}

// TestAuditChainOfConcurrentAppends appends from several goroutines over
// two handles on one database, as the nodes of a cluster (or a server and
// a command) do: the records still form one chain, without gaps.
func TestAuditChainOfConcurrentAppends(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		a, b, ctx := open(t), open(t), context.Background()
		const writers, each = 4, 10
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := a
				if w%2 == 1 {
					s = b
				}
				for i := range each {
					r := auditRecord(w*each+i, t0.Add(time.Duration(i)*time.Second))
					if _, err := s.AppendAuditSealed(ctx, r, seal); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		c, err := history.CheckAuditChain(ctx, a, checkSeal)
		if err != nil || c.Broken != nil || c.Entries != writers*each || c.First != 1 || c.Last != writers*each || c.Unsealed != 0 {
			t.Fatalf("chain: %+v %+v, %v", c, c.Broken, err)
		}
		all, err := b.Audit(ctx, "")
		if err != nil || len(all) != writers*each || all[0].Seq != 1 || string(all[len(all)-1].Hash) != string(c.Head) {
			t.Fatalf("audit: %d records, %v", len(all), err)
		}
	})
}

// TestAuditChainFindsTampering edits the trail in the database, behind
// the store's back, as someone with access to it could: the check names
// the first entry that fails.
func TestAuditChainFindsTampering(t *testing.T) {
	backendsSQL(t, func(t *testing.T, open func(*testing.T) history.Store, db *sql.DB) {
		s, ctx := open(t), context.Background()
		for i := range 6 {
			if _, err := s.AppendAuditSealed(ctx, auditRecord(i, t0.Add(time.Duration(i)*time.Minute)), seal); err != nil {
				t.Fatal(err)
			}
		}
		ph := func(q string) string { // PostgreSQL's placeholders
			if strings.Contains(fmt.Sprintf("%T", db.Driver()), "sqlite") {
				return q
			}
			n := 0
			return strings.Map(func(r rune) rune { return r }, replaceEach(q, func() string { n++; return fmt.Sprintf("$%d", n) }))
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, ph(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		broken := func(wantSeq int64, want string) {
			t.Helper()
			c, err := history.CheckAuditChain(ctx, s, checkSeal)
			if err != nil {
				t.Fatal(err)
			}
			if c.Broken == nil || c.Broken.Seq != wantSeq || !strings.Contains(c.Broken.Problem, want) {
				t.Fatalf("check: %+v, broken %+v; want #%d %q", c, c.Broken, wantSeq, want)
			}
		}
		if c, err := history.CheckAuditChain(ctx, s, checkSeal); err != nil || c.Broken != nil || c.Entries != 6 {
			t.Fatalf("untouched chain: %+v, %v", c, err)
		}
		var body []byte
		var hash []byte
		if err := db.QueryRowContext(ctx, ph(`SELECT body, hash FROM history_audit WHERE seq = ?`), 3).Scan(&body, &hash); err != nil {
			t.Fatal(err)
		}
		// One byte of an entry changed.
		exec(`UPDATE history_audit SET body = ? WHERE seq = ?`, []byte(`{"n":9}`), 3)
		broken(3, "does not match its hash: the entry was edited")
		// Its hash recomputed too, without the seal's key.
		recs, err := s.AuditChain(ctx, 2, 1)
		if err != nil || len(recs) != 1 {
			t.Fatal(recs, err)
		}
		exec(`UPDATE history_audit SET hash = ? WHERE seq = ?`, history.AuditHash(recs[0]), 3)
		broken(3, "its seal does not verify")
		// Put back; the chain holds again.
		exec(`UPDATE history_audit SET body = ?, hash = ? WHERE seq = ?`, body, hash, 3)
		if c, err := history.CheckAuditChain(ctx, s, checkSeal); err != nil || c.Broken != nil {
			t.Fatalf("restored chain: %+v %+v, %v", c, c.Broken, err)
		}
		// The seal stripped from the last entry.
		exec(`UPDATE history_audit SET seal = NULL WHERE seq = ?`, 6)
		broken(6, "carries no seal")
		// An entry removed.
		exec(`DELETE FROM history_audit WHERE seq = ?`, 2)
		broken(2, "entries #2 to #2 are missing")
		// ... and the places renumbered to hide it: each place is part of
		// its entry's hash.
		exec(`UPDATE history_audit SET seq = 1 - seq WHERE seq > ?`, 2)
		exec(`UPDATE history_audit SET seq = -seq WHERE seq < ?`, 0)
		broken(2, "does not match its hash")
	})
}

// replaceEach replaces each '?' of q with next().
func replaceEach(q string, next func() string) string {
	var b strings.Builder
	for _, c := range q {
		if c == '?' {
			b.WriteString(next())
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// TestAuditRetentionKeepsTheChainVerifiable expires the start of the
// trail: only a prefix goes (an expired entry after a kept one stays),
// the anchor follows, the rest still checks, and appends go on from the
// end.
func TestAuditRetentionKeepsTheChainVerifiable(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		var hashes [][]byte
		for i := range 5 {
			r := auditRecord(i, t0.Add(time.Duration(i)*time.Hour))
			if i == 2 {
				r.ExpiresAt = t0.Add(100 * 24 * time.Hour) // kept long
			}
			r, err := s.AppendAuditSealed(ctx, r, seal)
			if err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, r.Hash)
		}
		// Records 1 and 2 (places) expired; 3 is kept, so 4 and 5 stay
		// although they expired too.
		x, err := s.Expire(ctx, t0.Add(30*24*time.Hour))
		if err != nil || x.Audit != 2 || x.AuditThrough != 2 {
			t.Fatalf("expire: %+v, %v", x, err)
		}
		a, err := s.AuditAnchor(ctx)
		if err != nil || a.Seq != 2 || string(a.Hash) != string(hashes[1]) {
			t.Fatalf("anchor: %+v, %v", a, err)
		}
		c, err := history.CheckAuditChain(ctx, s, checkSeal)
		if err != nil || c.Broken != nil || c.Entries != 3 || c.First != 3 || c.Anchor.Seq != 2 {
			t.Fatalf("chain after retention: %+v %+v, %v", c, c.Broken, err)
		}
		// Everything expired: all goes, and the chain goes on from the
		// anchor.
		if x, err = s.Expire(ctx, t0.Add(200*24*time.Hour)); err != nil || x.Audit != 3 || x.AuditThrough != 5 {
			t.Fatalf("expire all: %+v, %v", x, err)
		}
		r, err := s.AppendAuditSealed(ctx, auditRecord(9, t0.Add(200*24*time.Hour)), seal)
		if err != nil || r.Seq != 6 || string(r.Prev) != string(hashes[4]) {
			t.Fatalf("append after retention: %+v, %v", r, err)
		}
		if c, err := history.CheckAuditChain(ctx, s, checkSeal); err != nil || c.Broken != nil || c.Entries != 1 || c.First != 6 {
			t.Fatalf("chain: %+v %+v, %v", c, c.Broken, err)
		}
		// An expiry of zero is never.
		forever := auditRecord(10, t0)
		forever.ExpiresAt = time.Time{}
		if _, err := s.AppendAuditSealed(ctx, forever, seal); err != nil {
			t.Fatal(err)
		}
		if x, err = s.Expire(ctx, t0.Add(1000*24*time.Hour)); err != nil || x.Audit != 1 {
			t.Fatalf("expire before a record kept forever: %+v, %v", x, err)
		}
	})
}

// TestSchemaMigratesAuditTrail opens a database of schema version 1 with
// audit records: they are chained, unsealed, in the order of their ids.
func TestSchemaMigratesAuditTrail(t *testing.T) {
	backendsSQL(t, func(t *testing.T, open func(*testing.T) history.Store, db *sql.DB) {
		ctx := context.Background()
		blob, ph := "BLOB", "?, ?, ?, ?"
		if !strings.Contains(fmt.Sprintf("%T", db.Driver()), "sqlite") {
			blob, ph = "BYTEA", "$1, $2, $3, $4"
		}
		for _, q := range []string{
			`CREATE TABLE history_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL)`,
			`INSERT INTO history_meta (name, value) VALUES ('schema_version', 1)`,
			`CREATE TABLE history_audit (id TEXT PRIMARY KEY, at BIGINT NOT NULL, subject TEXT NOT NULL, body ` + blob + ` NOT NULL)`,
			`CREATE INDEX history_audit_by_subject ON history_audit (subject, id)`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"b", "a", "c"} {
			if _, err := db.ExecContext(ctx, `INSERT INTO history_audit (id, at, subject, body) VALUES (`+ph+`)`, id, t0.UnixMilli(), "s", []byte(id)); err != nil {
				t.Fatal(err)
			}
		}
		s := open(t)
		open(t) // a second process opening it finds it migrated
		c, err := history.CheckAuditChain(ctx, s, checkSeal)
		if err != nil || c.Broken != nil || c.Entries != 3 || c.Unsealed != 3 {
			t.Fatalf("migrated chain: %+v %+v, %v", c, c.Broken, err)
		}
		all, _ := s.Audit(ctx, "s")
		if len(all) != 3 || all[0].ID != "a" || all[2].ID != "c" || all[0].ExpiresAt.IsZero() {
			t.Fatalf("migrated records: %+v", all)
		}
		r, err := s.AppendAuditSealed(ctx, auditRecord(1, t0), seal)
		if err != nil || r.Seq != 4 {
			t.Fatalf("append: %+v, %v", r, err)
		}
		if c, err := history.CheckAuditChain(ctx, s, checkSeal); err != nil || c.Broken != nil || c.Entries != 4 || c.Unsealed != 3 {
			t.Fatalf("chain: %+v %+v, %v", c, c.Broken, err)
		}
	})
}
