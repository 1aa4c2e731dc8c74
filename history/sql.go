package history

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// dialect is what differs between the SQL backends.
type dialect struct {
	name string
	// blob is the column type of byte strings.
	blob string
	// dollar numbers placeholders $1, $2… instead of ?.
	dollar bool
	// txOptions are the options of a transaction that writes: it must
	// behave as if transactions ran one at a time (Write against Erase).
	txOptions *sql.TxOptions
	// retryable reports whether err is a serialization failure, after
	// which the transaction may be run again.
	retryable func(err error) bool
	// forUpdate ends a SELECT that locks the rows it reads until the
	// transaction ends (" FOR UPDATE"); "" where a writing transaction
	// holds the whole database already (SQLite).
	forUpdate string
	// contains is the condition that the column body holds the byte
	// string of one placeholder.
	contains string
	// skipLocked ends a subquery that picks rows to claim: on PostgreSQL
	// " FOR UPDATE SKIP LOCKED", so that nodes claiming at once take
	// different rows; "" where one writer runs at a time (SQLite).
	skipLocked string
	// seqTaken reports whether err says that an audit record's place was
	// taken by a concurrent append (worth another try).
	seqTaken func(err error) bool
}

// sqlStore is Store on a database/sql database.
type sqlStore struct {
	// db runs the transactions that write, and rd the statements that
	// only read: the same pool on PostgreSQL; on SQLite, where one
	// connection writes at a time, readers of their own (in WAL mode a
	// reader never waits for a writer), so that a look-up on a request's
	// path does not queue behind the history writer's batch.
	db, rd *sql.DB
	// dataKey, on SQLite, is q.dataKey prepared on rd: it runs on the
	// path that creates a verification, once per number not seen lately,
	// and preparing is half its cost there. (pgx keeps its own cache of
	// prepared statements.)
	dataKey *sql.Stmt
	// insEntries, insDataKeys and insDeliveries write a batch's rows, and
	// erasedAt, cancelDelivery and replaceDelivery run per row of it; on
	// SQLite they are prepared once on db (see stmts.go), elsewhere the
	// statements are nil and their text is run.
	insEntries, insDataKeys, insDeliveries    rowsStmt
	erasedAt, cancelDelivery, replaceDelivery *sql.Stmt
	d                                         dialect
	// q holds every statement, rewritten for the dialect.
	q queries
}

// queries are the statements the store runs, written with ? placeholders.
type queries struct {
	entries, dataKey, allDataKeys, swapDataKey,
	eraseMark, eraseEntries, eraseDataKey, listErased, countDataKey,
	expireEntries, expireDataKeys, expireErasures, expireWebhooks, expireIdempotency,
	appendAudit, auditAll, auditOf, stats, getVersion, putVersion,
	auditTail, auditAnchor, auditChain, auditKeepFrom, auditLast, expireAudit, putAnchor,
	erasedAt, cancelDelivery, replaceDelivery string
}

func newQueries(d dialect) queries {
	q := queries{
		entries:      `SELECT ` + entryColumns + ` FROM history_entries WHERE number_key = ? ORDER BY created_at, id`,
		dataKey:      `SELECT number_key, wrapped, since, expires_at FROM history_data_keys WHERE number_key = ?`,
		allDataKeys:  `SELECT number_key, wrapped, since, expires_at FROM history_data_keys`,
		swapDataKey:  `UPDATE history_data_keys SET wrapped = ? WHERE number_key = ? AND wrapped = ?`,
		eraseMark:    `INSERT INTO history_erasures (guard, at) VALUES (?, ?) ON CONFLICT (guard, at) DO NOTHING`,
		eraseEntries: `DELETE FROM history_entries WHERE number_key = ?`,
		eraseDataKey: `DELETE FROM history_data_keys WHERE number_key = ?`,
		listErased:   `SELECT ` + entryColumns + ` FROM history_entries WHERE number_key = ? ORDER BY created_at, id`,
		countDataKey: `SELECT COUNT(*) FROM history_data_keys WHERE number_key = ?`,
		// Retention deletes by range of expiry, a slice at a time so that
		// no one transaction holds the database for long.
		expireEntries:     `DELETE FROM history_entries WHERE id IN (SELECT id FROM history_entries WHERE expires_at < ? LIMIT ` + strconv.Itoa(expireSlice) + `)`,
		expireDataKeys:    `DELETE FROM history_data_keys WHERE number_key IN (SELECT number_key FROM history_data_keys WHERE expires_at < ? LIMIT ` + strconv.Itoa(expireSlice) + `)`,
		expireErasures:    `DELETE FROM history_erasures WHERE at < ?`,
		expireWebhooks:    `DELETE FROM history_webhooks WHERE id IN (SELECT id FROM history_webhooks WHERE expires_at < ? LIMIT ` + strconv.Itoa(expireSlice) + `)`,
		expireIdempotency: `DELETE FROM history_idempotency WHERE idem_key IN (SELECT idem_key FROM history_idempotency WHERE expires_at < ? LIMIT ` + strconv.Itoa(expireSlice) + `)`,
		appendAudit:       `INSERT INTO history_audit (id, at, subject, body, seq, prev, hash, seal, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		auditAll:          `SELECT ` + auditColumns + ` FROM history_audit ORDER BY seq`,
		auditOf:           `SELECT ` + auditColumns + ` FROM history_audit WHERE subject = ? ORDER BY seq`,
		auditChain:        `SELECT ` + auditColumns + ` FROM history_audit WHERE seq > ? ORDER BY seq LIMIT ?`,
		auditTail:         `SELECT seq, hash FROM history_audit WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1`,
		auditAnchor:       `SELECT seq, hash, at FROM history_audit_anchor WHERE name = 'anchor'`,
		auditKeepFrom:     `SELECT MIN(seq) FROM history_audit WHERE expires_at IS NULL OR expires_at = 0 OR expires_at >= ?`,
		auditLast:         `SELECT seq, hash FROM history_audit WHERE seq < ? ORDER BY seq DESC LIMIT 1`,
		expireAudit:       `DELETE FROM history_audit WHERE seq <= ?`,
		putAnchor:         `INSERT INTO history_audit_anchor (name, seq, hash, at) VALUES ('anchor', ?, ?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at`,
		stats:             `SELECT kind, COUNT(*), MIN(created_at), MAX(created_at) FROM history_entries GROUP BY kind`,
		getVersion:        `SELECT value FROM history_meta WHERE name = 'schema_version'`,
		putVersion:        `INSERT INTO history_meta (name, value) VALUES ('schema_version', ?) ON CONFLICT (name) DO NOTHING`,
		erasedAt:          `SELECT COALESCE(MAX(at), 0) FROM history_erasures WHERE guard = ?`,
		cancelDelivery:    `DELETE FROM history_webhooks WHERE id = ? AND state = '` + DeliveryPending + `' AND attempts = 0`,
		replaceDelivery:   replaceScheduled,
	}
	if d.dollar {
		for _, p := range []*string{&q.entries, &q.dataKey, &q.allDataKeys, &q.swapDataKey,
			&q.eraseMark, &q.eraseEntries, &q.eraseDataKey, &q.listErased, &q.countDataKey,
			&q.expireEntries, &q.expireDataKeys, &q.expireErasures, &q.expireWebhooks, &q.expireIdempotency,
			&q.appendAudit, &q.auditAll, &q.auditOf, &q.stats, &q.getVersion, &q.putVersion,
			&q.auditTail, &q.auditAnchor, &q.auditChain, &q.auditKeepFrom, &q.auditLast, &q.expireAudit, &q.putAnchor,
			&q.erasedAt, &q.cancelDelivery, &q.replaceDelivery} {
			*p = dollars(*p)
		}
	}
	return q
}

// auditColumns are the columns of an audit record, as scanAudit reads
// them.
const auditColumns = `id, at, subject, body, seq, prev, hash, seal, expires_at`

// expireSlice is how many rows one retention statement deletes.
const expireSlice = 10000

// erasureMemory is how long an erasure's mark refuses late writes: far
// longer than any writer holds what it read.
const erasureMemory = 24 * time.Hour

// dollars rewrites ? placeholders as $1, $2…
func dollars(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// open prepares db for use: the schema is created if absent and brought
// to this code's version, and a schema newer than this code is refused.
func open(ctx context.Context, db *sql.DB, d dialect) (*sqlStore, error) {
	s := &sqlStore{db: db, rd: db, d: d, q: newQueries(d)}
	s.insEntries.text, s.insDataKeys.text, s.insDeliveries.text = s.insertEntries, s.insertDataKeys, s.insertDeliveries
	if s.d.seqTaken == nil {
		s.d.seqTaken = func(error) bool { return false }
	}
	for _, stmt := range schema(d.blob) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("history: %s: create schema: %w", d.name, err)
		}
	}
	if _, err := db.ExecContext(ctx, s.q.putVersion, baseVersion); err != nil {
		return nil, fmt.Errorf("history: %s: schema version: %w", d.name, err)
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// readFrom has s read from rd (see sqlStore.rd) and prepares the
// statements it keeps.
func (s *sqlStore) readFrom(ctx context.Context, rd *sql.DB) error {
	s.rd = rd
	st, err := rd.PrepareContext(ctx, s.q.dataKey)
	if err != nil {
		return fmt.Errorf("history: %s: prepare: %w", s.d.name, err)
	}
	s.dataKey = st
	return nil
}

// migrate brings the schema to schemaVersion, a version at a time, each in
// a transaction that holds the version row: of processes opening the
// database at once, one migrates and the others find it done.
func (s *sqlStore) migrate(ctx context.Context) error {
	for {
		var v int64
		if err := s.db.QueryRowContext(ctx, s.q.getVersion).Scan(&v); err != nil {
			return fmt.Errorf("history: %s: schema version: %w", s.d.name, err)
		}
		switch {
		case v > schemaVersion:
			return fmt.Errorf("history: %s: the database has schema version %d, newer than this ringproof's %d", s.d.name, v, schemaVersion)
		case v == schemaVersion:
			return nil
		}
		m, ok := migrations[v]
		if !ok {
			return fmt.Errorf("history: %s: no migration from schema version %d", s.d.name, v)
		}
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var cur int64
			if err := tx.QueryRowContext(ctx, s.q.getVersion+s.d.forUpdate).Scan(&cur); err != nil {
				return err
			}
			if cur != v {
				return nil // another process did it
			}
			for _, stmt := range m.statements(s.d.blob) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			if m.fill != nil {
				if err := m.fill(ctx, s, tx); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, s.rebind(`UPDATE history_meta SET value = ? WHERE name = 'schema_version'`), v+1)
			return err
		})
		if err != nil {
			return fmt.Errorf("history: %s: migrate the schema from version %d: %w", s.d.name, v, err)
		}
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// guardOf is the digest an erasure mark is kept under: one-way, so that
// the mark cannot be joined back to the number key it came from.
func guardOf(numberKey string) string {
	sum := sha256.Sum256([]byte("ringproof erasure\x00" + numberKey))
	return hex.EncodeToString(sum[:16])
}

// txTries bounds how often inTx runs a transaction that keeps meeting
// serialization failures.
const txTries = 16

// inTx runs fn in a writing transaction, again while the database reports
// a serialization failure (at most txTries times, after a random pause
// that grows with each try, so that transactions that collided do not
// collide again in step).
func (s *sqlStore) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for try := 0; try < txTries; try++ {
		if try > 0 {
			if werr := pause(ctx, try); werr != nil {
				return werr
			}
		}
		var tx *sql.Tx
		tx, err = s.db.BeginTx(ctx, s.d.txOptions)
		if err != nil {
			if s.d.retryable(err) {
				continue
			}
			return err
		}
		if err = fn(tx); err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
		if err == nil || !s.d.retryable(err) {
			return err
		}
	}
	return err
}

// pause waits before try number try (from 1): a random time up to
// 2^try ms, at most 100 ms, or until ctx ends.
func pause(ctx context.Context, try int) error {
	limit := min(time.Duration(1)<<min(try, 7)*time.Millisecond, 100*time.Millisecond)
	t := time.NewTimer(time.Millisecond + rand.N(limit))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *sqlStore) Write(ctx context.Context, b Batch) (Written, error) {
	b = b.deduped()
	var w Written
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		w = Written{}
		n, err := s.execRows(ctx, tx, &s.insDataKeys, len(b.DataKeys), func(args []any, i int) []any {
			k := &b.DataKeys[i]
			return append(args, k.NumberKey, k.Wrapped, ms(k.Since), ms(k.ExpiresAt), guardOf(k.NumberKey))
		})
		if err != nil {
			return fmt.Errorf("data keys: %w", err)
		}
		w.DataKeys = int(n)
		n, err = s.execRows(ctx, tx, &s.insEntries, len(b.Entries), func(args []any, i int) []any {
			e := &b.Entries[i]
			return append(args, e.ID, e.NumberKey, e.Kind, scopeOf(*e), ms(e.CreatedAt), ms(e.ExpiresAt), e.Version, e.Body, guardOf(e.NumberKey))
		})
		if err != nil {
			return fmt.Errorf("entries: %w", err)
		}
		w.Entries = int(n)
		if len(b.Deliveries) > 0 {
			n, err := s.enqueue(ctx, tx, b.Deliveries)
			if err != nil {
				return fmt.Errorf("webhook deliveries: %w", err)
			}
			w.Deliveries = n
		}
		if w.Entries < len(b.Entries) {
			n, err := s.refused(ctx, tx, b.Entries)
			if err != nil {
				return err
			}
			w.Refused = n
		}
		return nil
	})
	if err != nil {
		return Written{}, fmt.Errorf("history: write: %w", err)
	}
	return w, nil
}

// deduped returns b with one entry per id (the highest version) and one
// data key per number (the latest first use, with the latest expiry): one
// statement may not write a row twice.
func (b Batch) deduped() Batch {
	var out Batch
	ids := make(map[string]int, len(b.Entries))
	for _, e := range b.Entries {
		if i, ok := ids[e.ID]; ok {
			if out.Entries[i].Version < e.Version {
				out.Entries[i] = e
			}
			continue
		}
		ids[e.ID] = len(out.Entries)
		out.Entries = append(out.Entries, e)
	}
	nks := make(map[string]int, len(b.DataKeys))
	for _, k := range b.DataKeys {
		i, ok := nks[k.NumberKey]
		if !ok {
			nks[k.NumberKey] = len(out.DataKeys)
			out.DataKeys = append(out.DataKeys, k)
			continue
		}
		cur := &out.DataKeys[i]
		expires := cur.ExpiresAt
		if k.Since.After(cur.Since) {
			*cur = k
		}
		if expires.After(cur.ExpiresAt) {
			cur.ExpiresAt = expires
		}
	}
	out.Deliveries = dedupeDeliveries(b.Deliveries)
	return out
}

func (s *sqlStore) exec(ctx context.Context, tx *sql.Tx, q string, args []any) (int64, error) {
	return rowsAffected(tx.ExecContext(ctx, q, args...))
}

// rowsAffected returns r's count of rows changed, or err.
func rowsAffected(r sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// values returns n rows of placeholders for a VALUES list, each cast to
// the given types, so that both dialects know the type of every column.
func (s *sqlStore) values(n int, types ...string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, t := range types {
			if j > 0 {
				b.WriteString(", ")
			}
			if t == "blob" {
				t = s.d.blob
			}
			b.WriteString("CAST(? AS " + t + ")")
		}
		b.WriteByte(')')
	}
	return b.String()
}

// insertEntries is the statement that writes n entries: each unless its
// number was erased after it was made, and over an older version of itself
// only.
func (s *sqlStore) insertEntries(n int) string {
	q := `WITH v (id, number_key, kind, scope, created_at, expires_at, version, body, guard) AS (VALUES ` +
		s.values(n, "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "blob", "TEXT") + `)
		INSERT INTO history_entries (id, number_key, kind, scope, created_at, expires_at, version, body)
		SELECT v.id, v.number_key, v.kind, v.scope, v.created_at, v.expires_at, v.version, v.body FROM v
		WHERE NOT EXISTS (SELECT 1 FROM history_erasures e WHERE e.guard = v.guard AND e.at >= v.created_at)
		ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at, version = excluded.version, body = excluded.body
		WHERE history_entries.version < excluded.version`
	return s.rebind(q)
}

// insertDataKeys is the statement that writes n data keys: each unless its
// number was erased after the key was first used, and extending the
// retention of a key already held.
func (s *sqlStore) insertDataKeys(n int) string {
	q := `WITH v (number_key, wrapped, since, expires_at, guard) AS (VALUES ` +
		s.values(n, "TEXT", "blob", "BIGINT", "BIGINT", "TEXT") + `)
		INSERT INTO history_data_keys (number_key, wrapped, since, expires_at)
		SELECT v.number_key, v.wrapped, v.since, v.expires_at FROM v
		WHERE NOT EXISTS (SELECT 1 FROM history_erasures e WHERE e.guard = v.guard AND e.at >= v.since)
		ON CONFLICT (number_key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE history_data_keys.expires_at < excluded.expires_at`
	return s.rebind(q)
}

func (s *sqlStore) rebind(q string) string {
	if s.d.dollar {
		return dollars(q)
	}
	return q
}

// refused counts the entries of a batch that an erasure refused.
func (s *sqlStore) refused(ctx context.Context, tx *sql.Tx, entries []Entry) (int, error) {
	n := 0
	marks := map[string]int64{} // guard → latest erasure
	for _, e := range entries {
		g := guardOf(e.NumberKey)
		at, ok := marks[g]
		if !ok {
			if err := queryRowIn(ctx, tx, s.erasedAt, s.q.erasedAt, g).Scan(&at); err != nil {
				return 0, err
			}
			marks[g] = at
		}
		if at >= ms(e.CreatedAt) {
			n++
		}
	}
	return n, nil
}

// entryColumns are the columns of an entry, as scanEntries reads them.
const entryColumns = `id, number_key, kind, scope, created_at, expires_at, version, body`

// scanEntries reads rows of entryColumns.
func scanEntries(rows *sql.Rows) ([]Entry, error) {
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var created, expires int64
		if err := rows.Scan(&e.ID, &e.NumberKey, &e.Kind, &e.Scope, &created, &expires, &e.Version, &e.Body); err != nil {
			return nil, err
		}
		e.CreatedAt, e.ExpiresAt = fromMS(created), fromMS(expires)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *sqlStore) Entries(ctx context.Context, numberKey string) ([]Entry, error) {
	rows, err := s.rd.QueryContext(ctx, s.q.entries, numberKey)
	if err != nil {
		return nil, fmt.Errorf("history: entries: %w", err)
	}
	out, err := scanEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("history: entries: %w", err)
	}
	return out, nil
}

func scanDataKey(sc interface{ Scan(...any) error }) (DataKey, error) {
	var k DataKey
	var since, expires int64
	if err := sc.Scan(&k.NumberKey, &k.Wrapped, &since, &expires); err != nil {
		return DataKey{}, err
	}
	k.Since, k.ExpiresAt = fromMS(since), fromMS(expires)
	return k, nil
}

func (s *sqlStore) DataKey(ctx context.Context, numberKey string) (DataKey, error) {
	var row *sql.Row
	if s.dataKey != nil {
		row = s.dataKey.QueryRowContext(ctx, numberKey)
	} else {
		row = s.rd.QueryRowContext(ctx, s.q.dataKey, numberKey)
	}
	k, err := scanDataKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return DataKey{}, ErrNotFound
	}
	if err != nil {
		return DataKey{}, fmt.Errorf("history: data key: %w", err)
	}
	return k, nil
}

func (s *sqlStore) RangeDataKeys(ctx context.Context, fn func(DataKey) error) error {
	rows, err := s.rd.QueryContext(ctx, s.q.allDataKeys)
	if err != nil {
		return fmt.Errorf("history: data keys: %w", err)
	}
	// Read them all first: fn may write, and SQLite's one connection is
	// busy while rows are open.
	var keys []DataKey
	for rows.Next() {
		k, err := scanDataKey(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("history: data keys: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("history: data keys: %w", err)
	}
	for _, k := range keys {
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlStore) SwapDataKey(ctx context.Context, numberKey string, old, new []byte) (bool, error) {
	r, err := s.db.ExecContext(ctx, s.q.swapDataKey, new, numberKey, old)
	if err != nil {
		return false, fmt.Errorf("history: swap data key: %w", err)
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}

func (s *sqlStore) Erase(ctx context.Context, e Erasure) (Erased, error) {
	var out Erased
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = Erased{}
		rows, err := tx.QueryContext(ctx, s.q.listErased, e.NumberKey)
		if err != nil {
			return err
		}
		if out.Entries, err = scanEntries(rows); err != nil {
			return err
		}
		if e.DryRun {
			return tx.QueryRowContext(ctx, s.q.countDataKey, e.NumberKey).Scan(&out.DataKeys)
		}
		if _, err := tx.ExecContext(ctx, s.q.eraseMark, guardOf(e.NumberKey), ms(e.At)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.eraseEntries, e.NumberKey); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, s.q.eraseDataKey, e.NumberKey)
		if err != nil {
			return err
		}
		out.DataKeys, _ = r.RowsAffected()
		return nil
	})
	if err != nil {
		return Erased{}, fmt.Errorf("history: erase: %w", err)
	}
	return out, nil
}

func (s *sqlStore) Expire(ctx context.Context, now time.Time) (Expired, error) {
	var out Expired
	for _, step := range []struct {
		q string
		n *int64
	}{{s.q.expireEntries, &out.Entries}, {s.q.expireDataKeys, &out.DataKeys},
		{s.q.expireWebhooks, &out.Webhooks}, {s.q.expireIdempotency, &out.Idempotency}} {
		for {
			r, err := s.db.ExecContext(ctx, step.q, ms(now))
			if err != nil {
				return out, fmt.Errorf("history: expire: %w", err)
			}
			n, _ := r.RowsAffected()
			*step.n += n
			if n < expireSlice {
				break
			}
		}
	}
	r, err := s.db.ExecContext(ctx, s.q.expireErasures, ms(now.Add(-erasureMemory)))
	if err != nil {
		return out, fmt.Errorf("history: expire: %w", err)
	}
	out.Erasures, _ = r.RowsAffected()
	if out.Audit, out.AuditThrough, err = s.expireAudit(ctx, now); err != nil {
		return out, fmt.Errorf("history: expire audit: %w", err)
	}
	return out, nil
}

func (s *sqlStore) AppendAudit(ctx context.Context, r AuditRecord) error {
	_, err := s.AppendAuditSealed(ctx, r, nil)
	return err
}

func (s *sqlStore) AppendAuditSealed(ctx context.Context, r AuditRecord, seal func(hash []byte) []byte) (AuditRecord, error) {
	var out AuditRecord
	var err error
	// A concurrent append may take the place this one read as free: on
	// PostgreSQL that is a serialization failure (inTx runs it again), or
	// the unique index on seq refusing the second (run again here).
	for try := 0; try < txTries; try++ {
		if try > 0 {
			if err := pause(ctx, try); err != nil {
				return AuditRecord{}, fmt.Errorf("history: audit: %w", err)
			}
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			out = r
			var seq int64
			var prev []byte
			err := tx.QueryRowContext(ctx, s.q.auditTail).Scan(&seq, &prev)
			if errors.Is(err, sql.ErrNoRows) {
				var a AuditAnchor
				if a, err = s.anchor(ctx, tx); err == nil {
					seq, prev = a.Seq, a.Hash
				}
			}
			if err != nil {
				return err
			}
			out.Seq, out.Prev = seq+1, prev
			out.Hash = AuditHash(out)
			out.Seal = nil
			if seal != nil {
				out.Seal = seal(out.Hash)
			}
			_, err = tx.ExecContext(ctx, s.q.appendAudit, out.ID, ms(out.At), out.Subject, out.Body,
				out.Seq, out.Prev, out.Hash, out.Seal, msOrZero(out.ExpiresAt))
			return err
		})
		if err == nil || !s.d.seqTaken(err) {
			break
		}
	}
	if err != nil {
		return AuditRecord{}, fmt.Errorf("history: audit: %w", err)
	}
	return out, nil
}

// anchor reads where the retained chain starts.
func (s *sqlStore) anchor(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (AuditAnchor, error) {
	a := AuditAnchor{Hash: genesis}
	var at int64
	err := q.QueryRowContext(ctx, s.q.auditAnchor).Scan(&a.Seq, &a.Hash, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return AuditAnchor{Hash: genesis}, nil
	case err != nil:
		return AuditAnchor{}, err
	}
	a.At = fromMS(at)
	return a, nil
}

func (s *sqlStore) AuditAnchor(ctx context.Context) (AuditAnchor, error) {
	a, err := s.anchor(ctx, s.db)
	if err != nil {
		return AuditAnchor{}, fmt.Errorf("history: audit anchor: %w", err)
	}
	return a, nil
}

// scanAudit reads rows of auditColumns.
func scanAudit(rows *sql.Rows) ([]AuditRecord, error) {
	defer rows.Close()
	var out []AuditRecord
	for rows.Next() {
		var r AuditRecord
		var at int64
		var seq, expires sql.NullInt64
		if err := rows.Scan(&r.ID, &at, &r.Subject, &r.Body, &seq, &r.Prev, &r.Hash, &r.Seal, &expires); err != nil {
			return nil, err
		}
		r.At, r.Seq = fromMS(at), seq.Int64
		if expires.Int64 != 0 {
			r.ExpiresAt = fromMS(expires.Int64)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sqlStore) Audit(ctx context.Context, subject string) ([]AuditRecord, error) {
	var rows *sql.Rows
	var err error
	if subject == "" {
		rows, err = s.rd.QueryContext(ctx, s.q.auditAll)
	} else {
		rows, err = s.rd.QueryContext(ctx, s.q.auditOf, subject)
	}
	if err != nil {
		return nil, fmt.Errorf("history: audit: %w", err)
	}
	out, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("history: audit: %w", err)
	}
	return out, nil
}

func (s *sqlStore) AuditChain(ctx context.Context, after int64, limit int) ([]AuditRecord, error) {
	rows, err := s.rd.QueryContext(ctx, s.q.auditChain, after, limit)
	if err != nil {
		return nil, fmt.Errorf("history: audit chain: %w", err)
	}
	out, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("history: audit chain: %w", err)
	}
	return out, nil
}

// expireAudit removes the audit records at the start of the chain whose
// retention ended before now, up to the first one still retained, and
// moves the anchor to the last removed, in one transaction.
func (s *sqlStore) expireAudit(ctx context.Context, now time.Time) (n, through int64, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		n, through = 0, 0
		var keep sql.NullInt64
		if err := tx.QueryRowContext(ctx, s.q.auditKeepFrom, ms(now)).Scan(&keep); err != nil {
			return err
		}
		limit := int64(1<<62 - 1)
		if keep.Valid {
			limit = keep.Int64
		}
		var hash []byte
		err := tx.QueryRowContext(ctx, s.q.auditLast, limit).Scan(&through, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // nothing to remove
		}
		if err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, s.q.expireAudit, through)
		if err != nil {
			return err
		}
		n, _ = r.RowsAffected()
		_, err = tx.ExecContext(ctx, s.q.putAnchor, through, hash, ms(now))
		return err
	})
	return n, through, err
}

func (s *sqlStore) Stats(ctx context.Context) ([]KindStats, error) {
	rows, err := s.rd.QueryContext(ctx, s.q.stats)
	if err != nil {
		return nil, fmt.Errorf("history: stats: %w", err)
	}
	defer rows.Close()
	var out []KindStats
	for rows.Next() {
		var k KindStats
		var oldest, newest sql.NullInt64
		if err := rows.Scan(&k.Kind, &k.Count, &oldest, &newest); err != nil {
			return nil, fmt.Errorf("history: stats: %w", err)
		}
		if oldest.Valid {
			k.Oldest, k.Newest = fromMS(oldest.Int64), fromMS(newest.Int64)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *sqlStore) StatsMatching(ctx context.Context, kind string, marker []byte) (KindStats, error) {
	q := `SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM history_entries WHERE kind = ? AND ` + s.d.contains
	return s.oneStats(ctx, kind, s.rebind(q), kind, marker)
}

func (s *sqlStore) DataKeyStats(ctx context.Context) (KindStats, error) {
	return s.oneStats(ctx, "data_key", `SELECT COUNT(*), MIN(since), MAX(since) FROM history_data_keys`)
}

func (s *sqlStore) AuditStats(ctx context.Context) (KindStats, error) {
	return s.oneStats(ctx, "audit", `SELECT COUNT(*), MIN(at), MAX(at) FROM history_audit`)
}

// oneStats runs q, which selects a count, a least and a greatest time.
func (s *sqlStore) oneStats(ctx context.Context, kind, q string, args ...any) (KindStats, error) {
	k := KindStats{Kind: kind}
	var oldest, newest sql.NullInt64
	if err := s.rd.QueryRowContext(ctx, q, args...).Scan(&k.Count, &oldest, &newest); err != nil {
		return KindStats{}, fmt.Errorf("history: stats of %s: %w", kind, err)
	}
	if oldest.Valid && k.Count > 0 {
		k.Oldest, k.Newest = fromMS(oldest.Int64), fromMS(newest.Int64)
	}
	return k, nil
}

func (s *sqlStore) Backend() string { return s.d.name }

func (s *sqlStore) Close() error {
	errs := []error{s.closeWrites()}
	if s.dataKey != nil {
		errs = append(errs, s.dataKey.Close())
	}
	if s.rd != s.db {
		errs = append(errs, s.rd.Close())
	}
	return errors.Join(append(errs, s.db.Close())...)
}

func (s *sqlStore) List(ctx context.Context, q ListQuery) ([]Entry, error) {
	scope := q.Scope
	if scope == "" {
		scope = DefaultScope
	}
	stmt := `SELECT ` + entryColumns + ` FROM history_entries WHERE kind = ? AND scope = ?`
	args := []any{q.Kind, scope}
	if q.NumberKey != "" {
		stmt += ` AND number_key = ?`
		args = append(args, q.NumberKey)
	}
	if !q.After.IsZero() {
		stmt += ` AND created_at > ?`
		args = append(args, ms(q.After))
	}
	if !q.From.IsZero() {
		at := ms(q.From.CreatedAt)
		stmt += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, at, at, q.From.ID)
	}
	stmt += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, max(q.Limit, 1))
	rows, err := s.rd.QueryContext(ctx, s.rebind(stmt), args...)
	if err != nil {
		return nil, fmt.Errorf("history: list: %w", err)
	}
	out, err := scanEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("history: list: %w", err)
	}
	return out, nil
}
