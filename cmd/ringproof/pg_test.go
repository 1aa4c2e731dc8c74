package main

import (
	"os"
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
