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
	// temp_store(MEMORY): a statement's journal (the pages it changed,
	// kept so that it alone can be undone within its transaction; a
	// batch's inserts outgrow the 64 KiB SQLite keeps in memory) stays in
	// memory rather than going through a temporary file, a fifth of the
	// CPU of a write. Sorts too big for memory (CREATE INDEX) still spill
	// to files.
	db, err := openSQLite(path, "immediate", "journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(OFF)", "temp_store(MEMORY)")
	if err != nil {
		return nil, err
	}
	// One connection writes: SQLite writes one transaction at a time
	// anyway, and a second connection would only wait for the first's lock.
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
	// Readers have connections of their own, which in WAL mode read the
	// last committed state without waiting for the writer (its batches
	// take milliseconds). query_only: they cannot write by mistake.
	rd, err := openSQLite(path, "", "busy_timeout(10000)", "query_only(1)")
	if err == nil {
		rd.SetMaxOpenConns(sqliteReaders)
		rd.SetMaxIdleConns(sqliteReaders)
		err = s.readFrom(ctx, rd)
	}
	if err == nil {
		err = s.prepareWrites(ctx)
	}
	if err != nil {
		if rd != nil {
			rd.Close()
		}
		s.Close()
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		s.Close()
		return nil, fmt.Errorf("history: %w", err)
	}
	return s, nil
}

// sqliteReaders bounds the embedded database's reading connections: a
// few, since each keeps its own page cache, and reads are short.
const sqliteReaders = 4

// openSQLite opens the SQLite database at path with the pragmas given and,
// unless txlock is "", the _txlock that transactions begin with.
func openSQLite(path, txlock string, pragmas ...string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	return db, nil
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
