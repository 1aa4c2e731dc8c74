package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"gopkg.in/yaml.v3"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/sip/sipptest"
	"github.com/ringproof/ringproof/store"
)

// Privacy end to end: export, erasure and the audit trail through the
// command line and the admin API, against a running node, its embedded
// etcd, and SIPp as the carrier.

const (
	adminKey    = "test-admin-key"
	otherNumber = "+447911123457"
)

// numberForms are the ways testNumber could be written: none may be in the
// store, on disk or in a log.
var numberForms = []string{"+447911123456", "447911123456", "07911123456", "7911123456"}

// privacyConfig is testConfig with an admin key and dial numbers.
func privacyConfig(t *testing.T, carrier string) *conf.Config {
	c := testConfig(t, carrier)
	c.HTTP.AdminKeys = []conf.AdminKey{{Name: "carol", Key: adminKey}}
	c.Inbound.Numbers = []string{dialRange}
	return c
}

// writeConfig writes c where `--config` can read it.
func writeConfig(t *testing.T, c *conf.Config) string {
	t.Helper()
	data, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ringproof.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// privacyCLI runs "ringproof privacy args..." and returns its standard
// output, failing t unless it exits with want.
func privacyCLI(t *testing.T, want int, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"privacy"}, args...), &out, &errOut)
	if code != want {
		t.Fatalf("ringproof privacy %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out.String(), errOut.String())
	}
	if want != 2 { // usage errors quote verify's example number
		checkLogsHoldNoNumber(t, errOut.String())
	}
	if want != 0 {
		return errOut.String()
	}
	return out.String()
}

// admin sends a request to the privacy API with key.
func (s *testServer) admin(method, path, key, body string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

func decode[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%q: %v", data, err)
	}
	return v
}

// storeDump returns every key and value in etcd (all prefixes), at the
// current revision and at every older revision still readable (not yet
// compacted), one "rev key=value" line each.
func storeDump(t *testing.T, st *store.Store) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli := st.Client()
	cur, err := cli.Get(ctx, "", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	// A watch from revision 1 reports the compacted revision, if any.
	wctx, wcancel := context.WithCancel(ctx)
	first := int64(1)
	wresp := <-cli.Watch(wctx, "", clientv3.WithPrefix(), clientv3.WithRev(1))
	wcancel()
	if wresp.CompactRevision > 0 {
		first = wresp.CompactRevision
	}
	var b strings.Builder
	for rev := first; rev <= cur.Header.Revision; rev++ {
		resp, err := cli.Get(ctx, "", clientv3.WithPrefix(), clientv3.WithRev(rev))
		if err != nil {
			t.Fatalf("read revision %d (from %d): %v", rev, first, err)
		}
		for _, kv := range resp.Kvs {
			fmt.Fprintf(&b, "%d %s=%s\n", rev, kv.Key, kv.Value)
		}
	}
	t.Logf("store dump: revisions %d to %d, %d bytes", first, cur.Header.Revision, b.Len())
	return b.String()
}

// checkNoTrace fails t if dump holds any of forms.
func checkNoTrace(t *testing.T, where, dump string, forms ...string) {
	t.Helper()
	for _, f := range forms {
		if i := strings.Index(dump, f); i >= 0 {
			t.Errorf("%s holds %q: …%s…", where, f, dump[max(i-120, 0):min(i+120, len(dump))])
		}
	}
}

// checkDiskHoldsNoNumber fails t if any file under dir holds a form of
// testNumber.
func checkDiskHoldsNoNumber(t *testing.T, dir string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() { // directories, etcd's socket
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, f := range numberForms {
			if bytes.Contains(data, []byte(f)) {
				t.Errorf("%s holds %q", path, f)
			}
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk %s: %v (%d files)", dir, err, files)
	}
}

func TestPrivacyExportAndErase(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_ring_cancel.xml", 2)
	c := privacyConfig(t, sipp.Addr)
	cfgPath := writeConfig(t, c)
	srv := startServer(t, c)
	nk := srv.vault.Index().Of(testNumber)

	// Three methods for the test number, the first with a reference and a
	// consent, and a flash call to another number.
	sc, v := srv.call("POST", "/v1/verifications", `{"number":"07911123456","region":"GB","method":"flashcall",`+
		`"reference":"user-42","consent":{"purpose":"account sign-up","given_at":"2026-01-02T03:04:05Z"}}`)
	if sc != http.StatusCreated || v["number"] != testNumber {
		t.Fatalf("create: %d %v", sc, v)
	}
	flash := v["id"].(string)
	other := srv.create(otherNumber)
	missed, _ := srv.createInbound(testNumber)
	sc, v = srv.call("POST", "/v1/verifications", `{"number":"+447911123456","method":"keypad_in"}`)
	if sc != http.StatusCreated {
		t.Fatalf("create keypad_in: %d %v", sc, v)
	}
	keypad := v["id"].(string)
	srv.noteCode(v["code"].(string))
	srv.waitFor(flash, "rang", status("rang"))
	srv.waitFor(other, "rang", status("rang"))
	if _, err := sipp.Wait(context.Background()); err != nil {
		t.Fatalf("SIPp: %v", err)
	}
	records, _ := sipp.Log()
	var callerID string
	for _, r := range records {
		srv.noteCode(r.From[len(r.From)-4:])
		if r.To == testNumber {
			callerID = r.From
		}
	}
	code := callerID[len(callerID)-4:]
	wrong := fmt.Sprintf("%04d", (mustAtoi(t, code)+1)%10000)
	srv.call("POST", "/v1/verifications/"+flash+"/check", `{"code":"`+wrong+`"}`)
	if _, c := srv.call("POST", "/v1/verifications/"+flash+"/check", `{"code":"`+code+`"}`); c["status"] != "verified" {
		t.Fatalf("check: %v", c)
	}

	// At rest the number is only ciphertext and its index key.
	dump := storeDump(t, srv.store)
	checkNoTrace(t, "the store", dump, numberForms...)
	checkNoTrace(t, "the store", dump, "user-42", "account sign-up")
	if !strings.Contains(dump, nk) {
		t.Fatalf("the store does not index the number by %s", nk)
	}
	checkDiskHoldsNoNumber(t, c.Store.DataDir)

	// Export from the command line while the server holds the data dir:
	// the command reaches its etcd as a client.
	x := decode[privacy.Export](t, []byte(privacyCLI(t, 0, "export", "--config", cfgPath, "--number", "07911123456", "--region", "GB", "--operator", "alice")))
	if x.Number != testNumber || !x.DataKey || len(x.Verifications) != 3 {
		t.Fatalf("export: %+v", x)
	}
	byID := map[string]privacy.ExportedVerification{}
	for _, ev := range x.Verifications {
		byID[ev.ID] = ev
	}
	f := byID[flash]
	if f.Method != "flashcall" || f.Status != "verified" || f.Attempts != 1 || !slices.Equal(f.CallerIDs, []string{callerID}) ||
		f.Reference != "user-42" || f.Consent == nil || f.Consent.Purpose != "account sign-up" ||
		!f.Consent.GivenAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("exported flash call: %+v", f)
	}
	if evs := string(f.Events); !strings.Contains(evs, `"ringing"`) || !strings.Contains(evs, `"cancelled"`) {
		t.Errorf("exported events: %s", evs)
	}
	if byID[missed].Method != "inbound_missed" || byID[keypad].Method != "keypad_in" || byID[other].ID != "" {
		t.Errorf("exported verifications: %+v", x.Verifications)
	}
	// The lease names the caller ID by keyed hash: its last digits are the
	// code.
	if h := x.Held["caller_id_leases"]; len(h) != 1 || h[0].Name != srv.vault.Index().Of("caller id "+callerID) {
		t.Errorf("caller-ID leases: %+v", x.Held)
	}
	// The number's rate limit: one key, holding when its budget is full
	// again (Unix ns): three creates' worth ahead of now.
	if h := x.Held["rate_limit_counters"]; len(h) != 1 || h[0].Name != "n" ||
		time.Unix(0, int64(mustAtoi(t, h[0].Value))).Before(time.Now().Add(3*time.Hour/time.Duration(c.Verification.MaxPerNumberPerHour)-time.Minute)) {
		t.Errorf("rate-limit counters: %+v", x.Held)
	}
	if h := x.Held["inbound_index"]; len(h) != 2 {
		t.Errorf("inbound index: %+v", x.Held)
	}

	// The API: admin keys only.
	for _, tt := range []struct {
		key  string
		want int
	}{{adminKey, 200}, {apiKey, 403}, {"", 401}, {"nope", 401}} {
		status, body := srv.admin("GET", "/v1/privacy/export?number=%2B447911123456", tt.key, "")
		if status != tt.want {
			t.Errorf("export with key %q: %d %s, want %d", tt.key, status, body, tt.want)
		}
		if status != 200 && !strings.Contains(string(body), `"error":{"code":`) {
			t.Errorf("error body %s", body)
		}
		if status == 200 && len(decode[privacy.Export](t, body).Verifications) != 3 {
			t.Errorf("API export: %s", body)
		}
	}
	if status, body := srv.admin("POST", "/v1/privacy/export", adminKey, ""); status != 405 || !strings.Contains(string(body), "method_not_allowed") {
		t.Errorf("POST export: %d %s", status, body)
	}
	if status, body := srv.admin("GET", "/v1/privacy/export?number=12", adminKey, ""); status != 400 || !strings.Contains(string(body), `"field":"number"`) {
		t.Errorf("bad number: %d %s", status, body)
	}

	if status, body := srv.admin("POST", "/v1/privacy/erase", adminKey, `{"number":"+447911123456","number":"+447911123457","dry_run":true}`); status != 400 || !strings.Contains(string(body), `"duplicate_field"`) {
		t.Errorf("erase with two numbers: %d %s", status, body)
	}

	// A dry run counts and deletes nothing.
	sc, body := srv.admin("POST", "/v1/privacy/erase", adminKey, `{"number":"+447911123456","dry_run":true}`)
	dry := decode[privacy.Erasure](t, body)
	if sc != 200 || !dry.DryRun || dry.Counts["verifications"] != 3 || dry.Counts["history"] != 3 {
		t.Fatalf("dry run: %d %s", sc, body)
	}
	if _, v := srv.call("GET", "/v1/verifications/"+flash, ""); v["status"] != "verified" {
		t.Fatalf("after a dry run: %v", v)
	}

	// Erase from the command line.
	e := decode[privacy.Erasure](t, []byte(privacyCLI(t, 0, "erase", "--config", cfgPath, "--number", testNumber, "--operator", "bob")))
	want := map[string]int64{"data_keys": 1, "history": 3, "verifications": 3, "inbound_index": 2, "caller_id_leases": 1,
		"rate_limit_counters": int64(len(x.Held["rate_limit_counters"]))}
	for kind, n := range want {
		if e.Counts[kind] != n {
			t.Errorf("erased %s: %d, want %d (%v)", kind, e.Counts[kind], n, e.Counts)
		}
	}
	dump = storeDump(t, srv.store)
	checkNoTrace(t, "the store after erasure", dump, append(numberForms, nk)...)
	for _, id := range []string{flash, missed, keypad} {
		if sc, v := srv.call("GET", "/v1/verifications/"+id, ""); sc != 404 {
			t.Errorf("%s after erasure: %d %v", id, sc, v)
		}
	}
	x = decode[privacy.Export](t, []byte(privacyCLI(t, 0, "export", "--config", cfgPath, "--number", testNumber, "--operator", "dave")))
	if x.DataKey || len(x.Verifications) != 0 || len(x.Held) != 0 {
		t.Errorf("export after erasure: %+v", x)
	}

	// The other number is untouched.
	if _, v := srv.call("GET", "/v1/verifications/"+other, ""); v["number"] != otherNumber || v["status"] != "rang" {
		t.Errorf("other number after erasure: %v", v)
	}
	if status, body := srv.admin("GET", "/v1/privacy/export?number=%2B447911123457", adminKey, ""); status != 200 || len(decode[privacy.Export](t, body).Verifications) != 1 {
		t.Errorf("other number's export: %d %s", status, body)
	}

	// Erasing again finds nothing.
	e = decode[privacy.Erasure](t, []byte(privacyCLI(t, 0, "erase", "--config", cfgPath, "--number", testNumber, "--operator", "bob")))
	for kind, n := range e.Counts {
		if n != 0 {
			t.Errorf("second erasure deleted %d %s", n, kind)
		}
	}

	// The audit trail: every export and erasure, none naming the number.
	out := privacyCLI(t, 0, "audit", "--config", cfgPath)
	trail := decode[struct{ Entries []privacy.AuditEntry }](t, []byte(out)).Entries
	var actions []string
	for _, a := range trail {
		actions = append(actions, a.Action+"/"+a.Via+"/"+a.Operator)
	}
	wantActions := []string{"export/cli/alice", "export/api/carol", "erase/api/carol", "erase/cli/bob", "export/cli/dave"}
	for _, w := range wantActions {
		if !slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, w) }) {
			t.Errorf("audit trail %v lacks %s", actions, w)
		}
	}
	checkNoTrace(t, "the audit trail", out, append(numberForms, nk)...)
	if mine := privacyCLI(t, 0, "audit", "--config", cfgPath, "--number", testNumber); strings.Contains(mine, "447911123457") ||
		len(decode[struct{ Entries []privacy.AuditEntry }](t, []byte(mine)).Entries) != len(trail)-1 {
		t.Errorf("the number's audit trail: %s", mine)
	}
	checkDiskHoldsNoNumber(t, c.Store.DataDir)
}

func TestEraseHangsUpARingingCallOnAnotherNode(t *testing.T) {
	t.Parallel()
	// Node A runs the embedded etcd; node B, the one calling, uses it as an
	// external cluster, with the same privacy keys and history store.
	ca := privacyConfig(t, fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t)))
	ca.Privacy.HMACKeyHex, ca.Privacy.EncryptionKeyHex, ca.Privacy.SigningKeyHex = randomHex(t), randomHex(t), randomHex(t)
	ca.History = conf.History{Backend: "postgres", PostgresURL: historyDatabase(t)}
	a := startServer(t, ca)

	sipp := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: "uas_ring_cancel.xml", Calls: 1})
	cb := privacyConfig(t, sipp.Addr)
	cb.Privacy, cb.History = ca.Privacy, ca.History
	cb.Store.Endpoints = []string{a.store.ClientURL()}
	cb.FlashCall.RingMS = 60000 // without erasure, the CANCEL would come in a minute
	b := startServer(t, cb)

	id := b.create(testNumber)
	b.waitFor(id, "ringing", status("ringing"))
	nk := b.vault.Index().Of(testNumber)
	if !b.vault.Cached(nk) {
		t.Fatal("node B does not cache the data key it made")
	}
	// The history database holds the number's index key until the erasure
	// (so that the check after it could fail).
	waitUntil(t, 10*time.Second, "the history reaches PostgreSQL", func() bool {
		return strings.Contains(postgresDump(t, ca.History.PostgresURL), nk)
	})
	status, body := a.admin("POST", "/v1/privacy/erase", adminKey, `{"number":"+447911123456"}`)
	if e := decode[privacy.Erasure](t, body); status != 200 || e.Counts["verifications"] != 1 || e.Counts["data_keys"] != 1 {
		t.Fatalf("erase on node A: %d %s", status, body)
	}

	// SIPp's receive timeout (10 s) is far below ring_ms: it succeeds only
	// if B sent the CANCEL on seeing the erasure.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := sipp.Wait(ctx); err != nil {
		t.Fatalf("SIPp (expects a CANCEL soon after the erasure): %v", err)
	}
	records, _ := sipp.Log()
	if len(records) != 1 || !records[0].Cancelled || records[0].CancelAt.Sub(records[0].ProvAt) > 20*time.Second {
		t.Fatalf("the call was not cancelled by the erasure: %+v", records)
	}
	b.noteCode(records[0].From[len(records[0].From)-4:])
	waitUntil(t, 10*time.Second, "node B drops the erased number's data key", func() bool { return !b.vault.Cached(nk) })
	if status, v := b.call("GET", "/v1/verifications/"+id, ""); status != 404 {
		t.Fatalf("node B after erasure: %d %v", status, v)
	}
	// Once B's call has finished reporting, nothing is left anywhere.
	waitUntil(t, 10*time.Second, "node B's call ends", func() bool { return b.svc.LiveCalls() == 0 })
	checkNoTrace(t, "the store", storeDump(t, a.store), append(numberForms, nk)...)
	checkDiskHoldsNoNumber(t, ca.Store.DataDir)
	checkNoTrace(t, "the history database", postgresDump(t, ca.History.PostgresURL), append(numberForms, nk)...)

	// B verifies the number again: a new data key, and an export holds
	// only the new verification.
	id2, _ := b.createInbound(testNumber)
	status, body = a.admin("GET", "/v1/privacy/export?number=%2B447911123456", adminKey, "")
	if x := decode[privacy.Export](t, body); status != 200 || len(x.Verifications) != 1 || x.Verifications[0].ID != id2 {
		t.Fatalf("export after a new verification: %d %s", status, body)
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestPrivacyCommandsWithoutServer(t *testing.T) {
	t.Parallel()
	c := privacyConfig(t, "127.0.0.1:5070")
	cfgPath := writeConfig(t, c)
	srv := startServer(t, c)
	id, _ := srv.createInbound(testNumber)
	other, _ := srv.createInbound(otherNumber)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// No server holds the data dir: the commands start etcd on it.
	x := decode[privacy.Export](t, []byte(privacyCLI(t, 0, "export", "--config", cfgPath, "--number", testNumber, "--operator", "alice")))
	if len(x.Verifications) != 1 || x.Verifications[0].ID != id || x.Verifications[0].Status != "pending" {
		t.Fatalf("export: %+v", x)
	}
	out := filepath.Join(t.TempDir(), "export.json")
	privacyCLI(t, 0, "export", "--config", cfgPath, "--number", testNumber, "--out", out, "--operator", "alice")
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("--out: %v %v", fi, err)
	}
	e := decode[privacy.Erasure](t, []byte(privacyCLI(t, 0, "erase", "--config", cfgPath, "--number", testNumber, "--dry-run", "--operator", "alice")))
	if !e.DryRun || e.Counts["verifications"] != 1 {
		t.Fatalf("dry run: %+v", e)
	}
	e = decode[privacy.Erasure](t, []byte(privacyCLI(t, 0, "erase", "--config", cfgPath, "--number", testNumber, "--operator", "alice")))
	if e.Counts["verifications"] != 1 || e.Counts["inbound_index"] != 1 || e.Counts["data_keys"] != 1 {
		t.Fatalf("erase: %+v", e)
	}

	st := storetestOpen(t, c)
	checkNoTrace(t, "the store", storeDump(t, st), append(numberForms, srv.vault.Index().Of(testNumber))...)
	kvs, err := st.List(context.Background(), "v/")
	if err != nil || len(kvs) != 1 || !strings.HasSuffix(kvs[0].Key, other) {
		t.Fatalf("records left: %v %v", kvs, err)
	}
	checkDiskHoldsNoNumber(t, c.Store.DataDir)
}

// storetestOpen opens the store of c's data dir until the test ends.
func storetestOpen(t *testing.T, c *conf.Config) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, c.Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestPrivacyCommandsFailClearly(t *testing.T) {
	t.Parallel()
	c := privacyConfig(t, "127.0.0.1:5070")
	c.Store.DataDir = filepath.Join(t.TempDir(), "nothing-here")
	noDir := writeConfig(t, c)
	c.Store.Endpoints = []string{fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))}
	c.Store.DialTimeoutS = 1
	c.Privacy.HMACKeyHex, c.Privacy.EncryptionKeyHex, c.Privacy.SigningKeyHex = randomHex(t), randomHex(t), randomHex(t)
	c.History = conf.History{Backend: "postgres", PostgresURL: fmt.Sprintf("postgres://ringproof@127.0.0.1:%d/ringproof", freeTCPPort(t))}
	unreachable := writeConfig(t, c)

	tests := []struct {
		name string
		code int
		args []string
		want string
	}{
		{"no command", 2, nil, "usage: ringproof privacy"},
		{"unknown command", 2, []string{"forget"}, `unknown command "forget"`},
		{"no number", 2, []string{"erase", "--config", noDir}, "--number (or --numbers FILE) is required"},
		{"bad number", 2, []string{"export", "--number", "12345", "--config", noDir}, "number must be in E.164 form"},
		{"no data dir", 1, []string{"export", "--number", testNumber, "--config", noDir, "--operator", "alice"}, "no store reachable: store: data dir " + c.Store.DataDir + " holds no store"},
		{"no cluster", 1, []string{"erase", "--number", testNumber, "--config", unreachable, "--operator", "alice"}, "no store reachable: store: no etcd endpoint reachable at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := privacyCLI(t, tt.code, tt.args...)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message %q lacks %q", msg, tt.want)
			}
		})
	}
	if _, err := os.Stat(c.Store.DataDir); !os.IsNotExist(err) {
		t.Errorf("a data dir was created: %v", err)
	}
}

func TestPrivacyAPIIsOffWithoutAdminKeysAndChecksConsent(t *testing.T) {
	t.Parallel()
	c := privacyConfig(t, "127.0.0.1:5070")
	c.HTTP.AdminKeys = nil
	srv := startServer(t, c)
	if status, body := srv.admin("GET", "/v1/privacy/export?number=%2B447911123456", apiKey, ""); status != 404 || !strings.Contains(string(body), "admin_keys") {
		t.Errorf("privacy API without admin keys: %d %s", status, body)
	}
	for _, tt := range []struct{ consent, field string }{
		{`{"purpose":"","given_at":"2026-01-02T03:04:05Z"}`, "consent.purpose"},
		{`{"purpose":"sign-up"}`, "consent.given_at"},
		{`{"purpose":"sign-up","given_at":"2999-01-01T00:00:00Z"}`, "consent.given_at"},
		{`{"purpose":"sign-up","given_at":"2026-01-02T03:04:05Z","ip":"x"}`, "ip"},
	} {
		status, v := srv.call("POST", "/v1/verifications", `{"number":"+447911123456","method":"inbound_missed","consent":`+tt.consent+`}`)
		if e, _ := v["error"].(map[string]any); status != 400 || e["field"] != tt.field {
			t.Errorf("consent %s: %d %v, want 400 naming %s", tt.consent, status, v, tt.field)
		}
	}
}

// waitUntil polls cond until it holds, failing t after d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(d, cond) {
		t.Fatalf("timed out waiting until %s", what)
	}
}

// TestPrivacyExportReadsAPlusInTheQuery checks the number of an export
// written as a URL query: %2B, or a literal '+' at its start (which the
// query reads as a space), and that a space elsewhere is refused with the
// way to write it.
func TestPrivacyExportReadsAPlusInTheQuery(t *testing.T) {
	t.Parallel()
	srv := startServer(t, privacyConfig(t, "127.0.0.1:5070"))
	for _, q := range []string{"number=%2B447911123456", "number=+447911123456", "region=GB&number=+447911123456"} {
		if status, body := srv.admin("GET", "/v1/privacy/export?"+q, adminKey, ""); status != 200 {
			t.Errorf("export?%s: %d %s, want 200", q, status, body)
		}
	}
	for _, q := range []string{"number=%20447911123456", "number=44+7911123456"} {
		status, body := srv.admin("GET", "/v1/privacy/export?"+q, adminKey, "")
		if status != 400 || !strings.Contains(string(body), "%2B") {
			t.Errorf("export?%s: %d %s, want 400 saying to write %%2B", q, status, body)
		}
	}
	if status, body := srv.admin("GET", "/v1/privacy/audit?number=+447911123456", adminKey, ""); status != 200 {
		t.Errorf("audit?number=+…: %d %s, want 200", status, body)
	}
}

// TestPrivacyCommandsNeedAnOperator runs export and erase with no
// --operator, $USER or $LOGNAME: they refuse to act, since the audit trail
// must name someone. (Not parallel: it changes the environment.)
func TestPrivacyCommandsNeedAnOperator(t *testing.T) {
	t.Setenv("USER", "")
	t.Setenv("LOGNAME", "")
	for _, sub := range []string{"export", "erase"} {
		msg := privacyCLI(t, 2, sub, "--number", testNumber)
		if !strings.Contains(msg, "no operator to record in the audit trail: give --operator NAME (or set $USER or $LOGNAME)") {
			t.Errorf("%s: %q", sub, msg)
		}
	}
	if msg := privacyCLI(t, 2, "erase", "--number", testNumber, "--operator", "a\x1bb"); !strings.Contains(msg, "--operator: privacy: operator name holds a control character") {
		t.Errorf("control character: %q", msg)
	}
	// $LOGNAME when $USER is unset, --operator over both.
	for _, tt := range []struct{ user, logname, flag, want string }{
		{"", "erin", "", "erin"}, {"frank", "erin", "", "frank"}, {"frank", "erin", "gina", "gina"},
	} {
		t.Setenv("USER", tt.user)
		t.Setenv("LOGNAME", tt.logname)
		fs := newPrivacyFlags("export").withOperator()
		if err := fs.Parse([]string{"--operator=" + tt.flag}); err != nil {
			t.Fatal(err)
		}
		if by, code := fs.actor(io.Discard); code >= 0 || by.Operator != tt.want || by.Via != "cli" {
			t.Errorf("USER=%q LOGNAME=%q --operator=%q: %+v (exit %d), want %s", tt.user, tt.logname, tt.flag, by, code, tt.want)
		}
	}
}
