package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/store"
)

// historyMetric reads one gauge or counter of srv's /metrics, -1 when
// absent.
func historyMetric(t *testing.T, srv *testServer, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` ([0-9.e+]+)$`).FindStringSubmatch(metricsText(t, srv))
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestKilledNodeLosesNoHistory kills a node (SIGKILL) while it creates and
// checks verifications under load, and starts it again: every
// verification answered 201 reaches the history store exactly once, with
// the last change answered (a wrong code's attempt) in it.
func TestKilledNodeLosesNoHistory(t *testing.T) {
	t.Parallel()
	bin := buildRingproof(t)
	c := testConfig(t, "127.0.0.1:5070")
	c.Inbound.Numbers = []string{"+441632960000-+441632960999"}
	c.Verification.MaxPerNumberPerHour = 1000
	c.Log.Level = "warn"
	node := startNodeProcess(t, bin, c)

	var (
		mu      sync.Mutex
		created = map[string]bool{} // id → a wrong code was answered
		wg      sync.WaitGroup
		killed  = make(chan struct{})
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-killed:
					return
				default:
				}
				r, err := node.try("POST", "/v1/verifications", fmt.Sprintf(`{"number":"+4479111%02d%03d","method":"inbound_voice"}`, w, i))
				if err != nil || r.status != 201 {
					continue // the node died under it
				}
				id := r.body["id"].(string)
				mu.Lock()
				created[id] = false
				mu.Unlock()
				if r, err := node.try("POST", "/v1/verifications/"+id+"/check", `{"code":"0000"}`); err == nil && r.status == 200 {
					mu.Lock()
					created[id] = true
					mu.Unlock()
				}
			}
		}()
	}
	// Kill it in the thick of it, once 150 verifications were answered.
	if !poll(60*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(created) >= 150 }) {
		t.Fatal("the node did not create 150 verifications within a minute")
	}
	node.kill()
	close(killed)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	st, err := store.Open(ctx, c.Store, nil)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	left, err := st.Count(context.Background(), "outbox/")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the killed node left %d history entries in the outbox", left)

	// Started again, the node takes over what it had left in the outbox.
	node.start()
	if !poll(60*time.Second, func() bool { return historyMetric(t, node.testServer, "ringproof_history_pending") == 0 }) {
		t.Fatalf("the outbox was not emptied: ringproof_history_pending %v", historyMetric(t, node.testServer, "ringproof_history_pending"))
	}
	node.terminate()

	h, err := history.OpenEmbedded(context.Background(), filepath.Join(c.Store.DataDir, history.EmbeddedFile))
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(c.Store.DataDir, history.EmbeddedFile)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, body FROM history_entries WHERE kind = 'verification'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[string]int{}
	for rows.Next() {
		var id string
		var body []byte
		if err := rows.Scan(&id, &body); err != nil {
			t.Fatal(err)
		}
		var e struct {
			Attempts int `json:"attempts"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatal(err)
		}
		stored[id] = e.Attempts
	}
	checked := 0
	for id, wrong := range created {
		attempts, ok := stored[id]
		switch {
		case !ok:
			t.Errorf("verification %s was answered 201 and is not in the history store", id)
		case wrong && attempts != 1:
			t.Errorf("verification %s: its wrong code was answered, and its history holds %d attempts", id, attempts)
		case wrong:
			checked++
		}
	}
	t.Logf("%d verifications answered 201 (%d checked), %d in the history store", len(created), checked, len(stored))
}

// TestStoreAndHistoryMetrics: /metrics tells an operator how big the state
// store is and how history reaches the history store.
func TestStoreAndHistoryMetrics(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:5070")
	srv := startServer(t, c)
	for i := range 3 {
		if st, v := srv.call("POST", "/v1/verifications", fmt.Sprintf(`{"number":"+44791112345%d","method":"inbound_missed"}`, i)); st != 201 {
			t.Fatalf("create: %d %v", st, v)
		}
	}
	if err := srv.vault.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, ok := range map[string]func(float64) bool{
		"ringproof_store_keys":                                        func(v float64) bool { return v >= 3 },
		"ringproof_store_db_bytes":                                    func(v float64) bool { return v > 0 },
		"ringproof_history_pending":                                   func(v float64) bool { return v == 0 },
		"ringproof_history_queued":                                    func(v float64) bool { return v == 0 },
		`ringproof_history_writes_total{result="written"}`:            func(v float64) bool { return v >= 3 },
		`ringproof_history_writes_total{result="failed"}`:             func(v float64) bool { return v == 0 },
		`ringproof_history_write_duration_seconds_count{result="ok"}`: func(v float64) bool { return v >= 1 },
	} {
		if v := historyMetric(t, srv, name); !ok(v) {
			t.Errorf("%s = %v", name, v)
		}
	}
}
