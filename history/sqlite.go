package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// EmbeddedFile is the embedded history database's file name in
// store.data_dir.
const EmbeddedFile = "history.db"

// OpenEmbedded opens (creating if need be) the embedded history database
// at path: SQLite in pure Go, in write-ahead-log mode, so that several
// processes may use it at once (the server and the privacy commands).
// Writes take the database's lock when they begin and wait up to 10 s for
// another process to release it.
func OpenEmbedded(ctx context.Context, path string) (Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(OFF)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	// One connection: SQLite writes one transaction at a time anyway, and
	// a second connection would only wait for the first's lock.
	db.SetMaxOpenConns(1)
	s, err := open(ctx, db, dialect{
		name:      "embedded",
		blob:      "BLOB",
		retryable: sqliteBusy,
		contains:  "instr(body, ?) > 0",
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		s.Close()
		return nil, fmt.Errorf("history: %w", err)
	}
	return s, nil
}

// sqliteBusy reports whether err is SQLite's "database is locked" after
// its busy timeout, which is worth another try.
func sqliteBusy(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		c := e.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}
