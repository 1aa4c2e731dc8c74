package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// OpenPostgres connects to the PostgreSQL database at url
// (history.postgres_url, "postgres://user:password@host:5432/db?sslmode=…")
// and creates the schema if it is absent. Every node of a cluster uses the
// same database, so that a person's data is in one place.
//
// Transactions that write run SERIALIZABLE, and are run again when the
// database reports a serialization failure: a history write that raced an
// erasure of the same number then sees the erasure and is refused.
func OpenPostgres(ctx context.Context, url string) (Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("history: postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("history: postgres: %w", err)
	}
	s, err := open(pctx, db, dialect{
		name:       "postgres",
		blob:       "BYTEA",
		dollar:     true,
		txOptions:  &sql.TxOptions{Isolation: sql.LevelSerializable},
		retryable:  pgRetryable,
		forUpdate:  " FOR UPDATE",
		skipLocked: " FOR UPDATE SKIP LOCKED",
		contains:   "position(CAST(? AS BYTEA) in body) > 0",
		seqTaken:   pgSeqTaken,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// pgRetryable reports whether err is a serialization failure (40001) or a
// deadlock (40P01), after which a transaction may be run again.
func pgRetryable(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01")
}

// pgSeqTaken reports whether err is the unique index on an audit record's
// place refusing it: a concurrent append took the place first.
func pgSeqTaken(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505" && e.ConstraintName == "history_audit_by_seq"
}
