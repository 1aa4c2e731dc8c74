package history

import (
	"context"
	"database/sql"
	"time"
)

// The schema, the same on SQLite and PostgreSQL but for the type of byte
// strings. Times are Unix milliseconds (BIGINT), so that both compare them
// alike. Every statement sticks to what PostgreSQL-compatible distributed
// databases accept too: plain tables, B-tree indexes, INSERT … ON
// CONFLICT, and no triggers, sequences or advisory locks.
//
//	history_entries    one row per verification or masking route
//	history_data_keys  one row per number with data: its wrapped data key
//	history_erasures   marks of recent erasures (a day), by digest
//	history_audit      the compliance audit trail, a hash chain (chain.go)
//	history_audit_anchor  where the retained chain starts
//	history_webhooks   webhook deliveries, queued and done (webhooks.go)
//	history_idempotency  answers kept for Idempotency-Key (idempotency.go)
//
// schemaVersion is stored in history_meta; a database written by a newer
// ringproof is refused rather than misread. schema creates version 1;
// migrations bring a database from each version to the next, each in one
// transaction.
const schemaVersion = 5

// baseVersion is the version schema creates.
const baseVersion = 1

// schema returns the statements that create the schema of version 1 if it
// is absent; blob is the dialect's type for byte strings.
func schema(blob string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS history_meta (
			name  TEXT PRIMARY KEY,
			value BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS history_entries (
			id         TEXT PRIMARY KEY,
			number_key TEXT NOT NULL,
			kind       TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL,
			version    BIGINT NOT NULL,
			body       ` + blob + ` NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS history_entries_by_number ON history_entries (number_key, created_at)`,
		`CREATE INDEX IF NOT EXISTS history_entries_by_expiry ON history_entries (expires_at)`,
		`CREATE TABLE IF NOT EXISTS history_data_keys (
			number_key TEXT PRIMARY KEY,
			wrapped    ` + blob + ` NOT NULL,
			since      BIGINT NOT NULL,
			expires_at BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS history_data_keys_by_expiry ON history_data_keys (expires_at)`,
		`CREATE TABLE IF NOT EXISTS history_erasures (
			guard TEXT NOT NULL,
			at    BIGINT NOT NULL,
			PRIMARY KEY (guard, at))`,
		`CREATE INDEX IF NOT EXISTS history_erasures_by_time ON history_erasures (at)`,
		`CREATE TABLE IF NOT EXISTS history_audit (
			id      TEXT PRIMARY KEY,
			at      BIGINT NOT NULL,
			subject TEXT NOT NULL,
			body    ` + blob + ` NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS history_audit_by_subject ON history_audit (subject, id)`,
	}
}

// migrations[v] brings a database from version v to v+1: statements run
// in one transaction, then fill (if set) in the same transaction.
var migrations = map[int64]struct {
	statements func(blob string) []string
	fill       func(ctx context.Context, s *sqlStore, tx *sql.Tx) error
}{
	// 2: the audit trail becomes a hash chain, with retention. Records
	// written before are chained in the order of their ids, unsealed,
	// and kept the default audit retention from their time.
	1: {
		statements: func(blob string) []string {
			return []string{
				`ALTER TABLE history_audit ADD COLUMN seq BIGINT`,
				`ALTER TABLE history_audit ADD COLUMN prev ` + blob,
				`ALTER TABLE history_audit ADD COLUMN hash ` + blob,
				`ALTER TABLE history_audit ADD COLUMN seal ` + blob,
				`ALTER TABLE history_audit ADD COLUMN expires_at BIGINT`,
				`CREATE UNIQUE INDEX history_audit_by_seq ON history_audit (seq)`,
				`CREATE INDEX history_audit_by_expiry ON history_audit (expires_at)`,
				`CREATE TABLE history_audit_anchor (
					name TEXT PRIMARY KEY,
					seq  BIGINT NOT NULL,
					hash ` + blob + ` NOT NULL,
					at   BIGINT NOT NULL)`,
				// What a holdings report counts, by kind and time.
				`CREATE INDEX history_entries_by_kind ON history_entries (kind, created_at)`,
			}
		},
		fill: chainUnchained,
	},
	// 3: the webhook queue and the answers kept for idempotency keys.
	2: {
		statements: func(blob string) []string {
			return []string{
				`CREATE TABLE history_webhooks (
					id            TEXT PRIMARY KEY,
					event         TEXT NOT NULL,
					url           TEXT NOT NULL,
					secret_id     TEXT NOT NULL,
					body          ` + blob + ` NOT NULL,
					state         TEXT NOT NULL,
					created_at    BIGINT NOT NULL,
					next_at       BIGINT NOT NULL,
					give_up_at    BIGINT NOT NULL,
					expires_at    BIGINT NOT NULL,
					attempts      BIGINT NOT NULL,
					last_error    TEXT NOT NULL,
					claimed_by    TEXT NOT NULL,
					claimed_until BIGINT NOT NULL)`,
				`CREATE INDEX history_webhooks_due ON history_webhooks (state, next_at)`,
				`CREATE INDEX history_webhooks_by_expiry ON history_webhooks (expires_at)`,
				`CREATE TABLE history_idempotency (
					idem_key     TEXT PRIMARY KEY,
					body_hash    ` + blob + ` NOT NULL,
					status       BIGINT NOT NULL,
					response     ` + blob + `,
					created_at   BIGINT NOT NULL,
					locked_until BIGINT NOT NULL,
					expires_at   BIGINT NOT NULL)`,
				`CREATE INDEX history_idempotency_by_expiry ON history_idempotency (expires_at)`,
			}
		},
	},
	// 4: entries belong to a scope (a verification's service), and are
	// listed by it, newest first (List). Entries written before belong to
	// the default one.
	3: {
		statements: func(blob string) []string {
			return []string{
				`ALTER TABLE history_entries ADD COLUMN scope TEXT NOT NULL DEFAULT '` + DefaultScope + `'`,
				`CREATE INDEX history_entries_by_scope ON history_entries (kind, scope, created_at, id)`,
			}
		},
	},
	// 5: one number's entries are listed by an index of their own, newest
	// first: a listing by number walked the scope's whole index (22 ms a
	// page among 50,000 entries, BenchmarkList), now 0.05 ms.
	4: {
		statements: func(blob string) []string {
			return []string{
				`CREATE INDEX history_entries_by_number_scope ON history_entries (number_key, kind, scope, created_at, id)`,
			}
		},
	},
}

// legacyAuditRetention is how long audit records written before the chain
// are kept: privacy.audit_retention_days' default.
const legacyAuditRetention = 2190 * 24 * time.Hour

// chainUnchained chains the audit records that have no place yet, in the
// order of their ids.
func chainUnchained(ctx context.Context, s *sqlStore, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, at, subject, body FROM history_audit WHERE seq IS NULL ORDER BY id`)
	if err != nil {
		return err
	}
	var recs []AuditRecord
	for rows.Next() {
		var r AuditRecord
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.Subject, &r.Body); err != nil {
			rows.Close()
			return err
		}
		r.At = fromMS(at)
		r.ExpiresAt = r.At.Add(legacyAuditRetention)
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	prev, seq := genesis, int64(0)
	upd := s.rebind(`UPDATE history_audit SET seq = ?, prev = ?, hash = ?, expires_at = ? WHERE id = ?`)
	for _, r := range recs {
		seq++
		r.Seq, r.Prev = seq, prev
		r.Hash = AuditHash(r)
		if _, err := tx.ExecContext(ctx, upd, r.Seq, r.Prev, r.Hash, ms(r.ExpiresAt), r.ID); err != nil {
			return err
		}
		prev = r.Hash
	}
	return nil
}
