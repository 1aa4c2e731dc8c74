package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/privacy"
)

// TestBulkRequests exports a file of numbers from a running server, then
// erases them with the server stopped, in two runs that share a state
// file: the second skips what the first did. Lines that are not numbers
// fail, named by line and masked; nothing written holds a number.
func TestBulkRequests(t *testing.T) {
	t.Parallel()
	c := privacyConfig(t, "127.0.0.1:5070")
	cfgPath := writeConfig(t, c)
	srv := startServer(t, c)
	srv.createInbound(testNumber)
	srv.createInbound(otherNumber)
	dir := t.TempDir()
	numbers := filepath.Join(dir, "requests.txt")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// testNumber, otherNumber (national), testNumber again, a line that
	// is no number, and a number nothing is held about.
	write(numbers, "# week 48\n+447911123456\n07911 123457\n\n+44 7911 123456\n12345\n+447911123458\n")

	out := filepath.Join(dir, "exports")
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"privacy", "export", "--config", cfgPath, "--numbers", numbers, "--region", "GB", "--out", out, "--operator", "alice"}, &stdout, &stderr)
	sum := decode[privacy.BulkSummary](t, []byte(stdout.String()))
	if code != 1 || sum.Total != 4 || sum.Done != 3 || len(sum.Failed) != 1 || sum.Failed[0].Line != 6 || sum.Failed[0].Number != "*****" ||
		!strings.Contains(stderr.String(), "1 of 4 numbers failed:\n  line 6, *****: ") || !strings.Contains(stderr.String(), "export: 4/4 100%") {
		t.Fatalf("bulk export: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	x := decode[privacy.Export](t, mustRead(t, filepath.Join(out, srv.vault.Index().Subject(otherNumber)+".json")))
	if x.Number != otherNumber || len(x.Verifications) != 1 {
		t.Fatalf("export of %s: %+v", otherNumber, x)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 3 {
		t.Errorf("%d exports written", len(entries))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The erasure is asked for in two parts, with one state file: the
	// first two numbers, then the whole file.
	state := filepath.Join(dir, "erase.state")
	first := filepath.Join(dir, "first.txt")
	write(first, "+447911123456\n07911123457\n")
	receipts := filepath.Join(dir, "receipts")
	sum = decode[privacy.BulkSummary](t, []byte(privacyCLI(t, 0, "erase", "--config", cfgPath, "--numbers", first, "--region", "GB",
		"--state", state, "--receipt", receipts, "--operator", "bob")))
	if sum.Done != 2 || sum.State != state {
		t.Fatalf("first erasure run: %+v", sum)
	}
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"privacy", "erase", "--config", cfgPath, "--numbers", numbers, "--region", "GB",
		"--state", state, "--receipt", receipts, "--operator", "bob"}, &stdout, &stderr)
	sum = decode[privacy.BulkSummary](t, []byte(stdout.String()))
	if code != 1 || sum.Skipped != 2 || sum.Done != 1 || len(sum.Failed) != 1 {
		t.Fatalf("second erasure run: exit %d %+v\n%s", code, sum, stderr.String())
	}
	receipt := filepath.Join(receipts, srv.vault.Index().Subject(testNumber)+".receipt.json")
	privacyCLI(t, 0, "verify-receipt", receipt, "--config", cfgPath, "--number", testNumber)
	if entries, _ := os.ReadDir(receipts); len(entries) != 3 {
		t.Errorf("%d receipts written", len(entries))
	}
	for _, path := range []string{state, receipt, filepath.Join(dir, "requests.txt.export.state")} {
		checkNoTrace(t, path, string(mustRead(t, path)), append(numberForms, "447911123458")...)
	}
	checkNoTrace(t, "the summaries", stdout.String()+stderr.String(), append(numberForms, "447911123458")...)
	after := decode[privacy.Export](t, []byte(privacyCLI(t, 0, "export", "--config", cfgPath, "--number", otherNumber, "--operator", "bob")))
	if after.DataKey || len(after.Verifications) != 0 {
		t.Errorf("export after the bulk erasure: %+v", after)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
