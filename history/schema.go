package history

// The schema, the same on SQLite and PostgreSQL but for the type of byte
// strings. Times are Unix milliseconds (BIGINT), so that both compare them
// alike. Every statement sticks to what PostgreSQL-compatible distributed
// databases accept too: plain tables, B-tree indexes, INSERT … ON
// CONFLICT, and no triggers, sequences or advisory locks.
//
//	history_entries    one row per verification or masking route
//	history_data_keys  one row per number with data: its wrapped data key
//	history_erasures   marks of recent erasures (a day), by digest
//	history_audit      the compliance audit trail
//
// schemaVersion is stored in history_meta; a database written by a newer
// ringproof is refused rather than misread.
const schemaVersion = 1

// schema returns the statements that create the schema if it is absent;
// blob is the dialect's type for byte strings.
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
