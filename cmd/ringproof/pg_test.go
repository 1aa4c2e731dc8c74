package main

import (
	"database/sql"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ringproof/ringproof/history/pgtest"
)

// The PostgreSQL server the cluster tests keep their history in: a cluster
// of nodes must share one history store. Started by the first test that
// needs it, stopped by TestMain when the package's tests end.
var (
	pgOnce sync.Once
	pg     *pgtest.Server
	pgErr  error
)

// stopPostgres stops the package's PostgreSQL server, if one was started.
func stopPostgres() {
	if pg != nil {
		pg.Close()
	}
}

// historyDatabase returns the URL of a new, empty PostgreSQL database. It
// skips the test without PostgreSQL, or fails it when CI is "true".
func historyDatabase(t *testing.T) string {
	t.Helper()
	pgOnce.Do(func() { pg, pgErr = pgtest.Start() })
	if pgErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %v", pgErr)
		}
		t.Skipf("pgtest: %v", pgErr)
	}
	return pg.Database(t)
}

// postgresDump returns every row of the history tables of the database at
// url, as text: JSON bodies as their text, other byte strings in hex.
func postgresDump(t *testing.T, url string) string {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for table, cols := range map[string]string{
		"history_entries":   "id, number_key, kind, convert_from(body, 'UTF8')",
		"history_data_keys": "number_key, encode(wrapped, 'hex')",
		"history_erasures":  "guard",
		"history_audit":     "id, subject, convert_from(body, 'UTF8')",
	} {
		rows, err := db.Query("SELECT CONCAT_WS(' ', " + cols + ") FROM " + table)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			b.WriteString(table + ": " + row + "\n")
		}
		rows.Close()
	}
	return b.String()
}
