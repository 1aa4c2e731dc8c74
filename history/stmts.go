package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The statements of Write's path, kept prepared on SQLite. A batch's
// statements write many rows at once, and their text depends on how many;
// made anew for each batch, SQLite would parse and plan them anew every
// time (about a quarter of the writer's CPU at 500 verifications/s). So a
// batch is cut into chunks of a few fixed sizes (chunkSizes), each size's
// statement prepared once. PostgreSQL keeps the text per row count: pgx
// caches the statements it prepares on each connection, and fewer, larger
// statements save round trips there.

// writeChunk bounds the rows one statement carries where the text is
// made per row count (PostgreSQL).
const writeChunk = 100

// chunkSizes are the row counts of the statements prepared on SQLite,
// largest first and ending in 1, so that any count is a sum of them.
var chunkSizes = []int{64, 16, 4, 1}

// rowsStmt is a statement that writes many rows at once.
type rowsStmt struct {
	// text returns the statement for n rows.
	text func(n int) string
	// prepared holds, once prepared, the statement for each of
	// chunkSizes, in the same order; nil where text is run per batch.
	prepared []*sql.Stmt
}

// execRows runs st in tx over n rows, row appending row i's values to
// args, and returns how many rows it changed.
func (s *sqlStore) execRows(ctx context.Context, tx *sql.Tx, st *rowsStmt, n int, row func(args []any, i int) []any) (int64, error) {
	var total int64
	var args []any
	for i := 0; i < n; {
		size, k := min(n-i, writeChunk), 0
		if st.prepared != nil {
			for chunkSizes[k] > n-i {
				k++
			}
			size = chunkSizes[k]
		}
		args = args[:0]
		for j := i; j < i+size; j++ {
			args = row(args, j)
		}
		i += size
		var c int64
		var err error
		if st.prepared != nil {
			c, err = rowsAffected(tx.StmtContext(ctx, st.prepared[k]).ExecContext(ctx, args...))
		} else {
			c, err = rowsAffected(tx.ExecContext(ctx, st.text(size), args...))
		}
		if err != nil {
			return total, err
		}
		total += c
	}
	return total, nil
}

// prepare prepares each of chunkSizes' statement on db.
func (st *rowsStmt) prepare(ctx context.Context, db *sql.DB) error {
	for _, n := range chunkSizes {
		p, err := db.PrepareContext(ctx, st.text(n))
		if err != nil {
			return err
		}
		st.prepared = append(st.prepared, p)
	}
	return nil
}

// close closes st's prepared statements. It changes no field: a Write
// still running on another goroutine as the store closes then fails with
// "statement is closed" rather than racing with Close. Closing twice is
// harmless.
func (st *rowsStmt) close() error {
	var errs []error
	for _, p := range st.prepared {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// prepareWrites prepares the statements of Write's path on the writing
// pool (see the top of this file). On error, what was prepared is closed.
func (s *sqlStore) prepareWrites(ctx context.Context) error {
	err := func() error {
		for _, st := range []*rowsStmt{&s.insEntries, &s.insDataKeys, &s.insDeliveries} {
			if err := st.prepare(ctx, s.db); err != nil {
				return err
			}
		}
		for _, p := range []struct {
			st *(*sql.Stmt)
			q  string
		}{{&s.erasedAt, s.q.erasedAt}, {&s.cancelDelivery, s.q.cancelDelivery}, {&s.replaceDelivery, s.q.replaceDelivery}} {
			st, err := s.db.PrepareContext(ctx, p.q)
			if err != nil {
				return err
			}
			*p.st = st
		}
		return nil
	}()
	if err != nil {
		s.closeWrites()
		return fmt.Errorf("history: %s: prepare: %w", s.d.name, err)
	}
	return nil
}

// closeWrites closes what prepareWrites prepared, changing no field (as
// rowsStmt.close).
func (s *sqlStore) closeWrites() error {
	errs := []error{s.insEntries.close(), s.insDataKeys.close(), s.insDeliveries.close()}
	for _, st := range []*sql.Stmt{s.erasedAt, s.cancelDelivery, s.replaceDelivery} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// execIn runs st, if prepared, in tx, and else q's text.
func execIn(ctx context.Context, tx *sql.Tx, st *sql.Stmt, q string, args ...any) (sql.Result, error) {
	if st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// queryRowIn runs st, if prepared, in tx, and else q's text.
func queryRowIn(ctx context.Context, tx *sql.Tx, st *sql.Stmt, q string, args ...any) *sql.Row {
	if st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}
