package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/privacy"
)

// TestAuditTrailIsAChain checks the trail with `privacy audit --verify`,
// then edits one entry in the history store behind ringproof's back: the
// check finds it. Once on the embedded store with the server running, once
// on PostgreSQL with the server stopped.
func TestAuditTrailIsAChain(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"embedded", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			c := privacyConfig(t, "127.0.0.1:5070")
			driver, dsn := "sqlite", "file:"+filepath.Join(c.Store.DataDir, history.EmbeddedFile)+"?_pragma=busy_timeout(10000)"
			if backend == "postgres" {
				c.History = conf.History{Backend: "postgres", PostgresURL: historyDatabase(t)}
				driver, dsn = "pgx", c.History.PostgresURL
			}
			cfgPath := writeConfig(t, c)
			srv := startServer(t, c)
			srv.createInbound(testNumber)
			if status, body := srv.admin("GET", "/v1/privacy/export?number=%2B447911123456", adminKey, ""); status != 200 {
				t.Fatalf("export: %d %s", status, body)
			}
			privacyCLI(t, 0, "erase", "--config", cfgPath, "--number", testNumber, "--operator", "bob")
			privacyCLI(t, 0, "export", "--config", cfgPath, "--number", otherNumber, "--operator", "bob")
			if backend == "postgres" {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := srv.Close(ctx); err != nil {
					t.Fatal(err)
				}
			}
			check := decode[privacy.AuditCheck](t, []byte(privacyCLI(t, 0, "audit", "--config", cfgPath, "--verify")))
			if !check.OK || check.Entries != 3 || check.First != 1 || check.Last != 3 || check.Broken != nil || check.KeyID == "" {
				t.Fatalf("verify: %+v", check)
			}
			trail := decode[struct{ Entries []privacy.AuditEntry }](t, []byte(privacyCLI(t, 0, "audit", "--config", cfgPath))).Entries
			if len(trail) != 3 || trail[0].Operator != "carol" || trail[0].Seq != 1 || trail[2].Hash != check.Head {
				t.Fatalf("trail: %+v", trail)
			}

			// The first entry said carol exported; now it says carl did.
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			q := "SELECT body FROM history_audit WHERE seq = 1"
			var body []byte
			if err := db.QueryRow(q).Scan(&body); err != nil {
				t.Fatal(err)
			}
			edited := bytes.Replace(body, []byte(`"carol"`), []byte(`"carl"`), 1)
			u := "UPDATE history_audit SET body = ? WHERE seq = 1"
			if driver == "pgx" {
				u = strings.Replace(u, "?", "$1", 1)
			}
			if _, err := db.Exec(u, edited); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			if code := run(context.Background(), []string{"privacy", "audit", "--config", cfgPath, "--verify"}, &out, &errOut); code != 1 {
				t.Fatalf("verify of an edited trail: exit %d\n%s%s", code, out.String(), errOut.String())
			}
			check = decode[privacy.AuditCheck](t, out.Bytes())
			if check.OK || check.Broken == nil || check.Broken.Seq != 1 || !strings.Contains(errOut.String(), "the audit trail is broken at entry #1") ||
				!strings.Contains(check.Broken.Problem, "the entry was edited") {
				t.Fatalf("verify of an edited trail: %+v\n%s", check, errOut.String())
			}
		})
	}
}
