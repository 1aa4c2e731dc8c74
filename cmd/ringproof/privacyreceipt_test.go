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

// TestErasureReceipts erases over the API of a running server and from
// the command line with it stopped: each erasure returns a signed receipt,
// kept in the audit trail, that verify-receipt accepts with the
// deployment's configuration or its public key alone, and refuses once a
// byte of it changed.
func TestErasureReceipts(t *testing.T) {
	t.Parallel()
	c := privacyConfig(t, "127.0.0.1:5070")
	cfgPath := writeConfig(t, c)
	srv := startServer(t, c)
	srv.createInbound(testNumber)
	srv.createInbound(otherNumber)
	status, body := srv.admin("POST", "/v1/privacy/erase", adminKey, `{"number":"+447911123456"}`)
	e := decode[privacy.Erasure](t, body)
	if status != 200 || e.Receipt == nil || e.Receipt.Body.Operator != "carol" || e.Receipt.Body.Via != "api" ||
		e.Receipt.Body.Removed[privacy.StoreState]["verifications"] != 1 || e.Receipt.Body.CompactedRevision == 0 {
		t.Fatalf("erase over the API: %d %s", status, body)
	}
	checkNoTrace(t, "the receipt", string(body[strings.Index(string(body), `"receipt"`):]), append(numberForms, srv.vault.Index().Of(testNumber))...)
	dir := t.TempDir()
	printed := filepath.Join(dir, "printed.json")
	if err := os.WriteFile(printed, body, 0o600); err != nil {
		t.Fatal(err)
	}
	// The erasure's printed output verifies, and is about the number.
	v := decode[struct {
		Valid       bool
		AboutNumber bool `json:"about_number"`
		Receipt     privacy.ReceiptBody
	}](t, []byte(privacyCLI(t, 0, "verify-receipt", printed, "--config", cfgPath, "--number", testNumber)))
	if !v.Valid || !v.AboutNumber || v.Receipt.ID != e.Receipt.Body.ID {
		t.Fatalf("verify-receipt: %+v", v)
	}
	if msg := privacyCLI(t, 1, "verify-receipt", printed, "--config", cfgPath, "--number", otherNumber); !strings.Contains(msg, "about another number") {
		t.Errorf("another number: %s", msg)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "receipt.json")
	out := decode[privacy.Erasure](t, []byte(privacyCLI(t, 0, "erase", "--config", cfgPath, "--number", otherNumber, "--operator", "bob", "--receipt", file)))
	doc, err := os.ReadFile(file)
	if err != nil || out.Receipt == nil || !strings.Contains(string(doc), out.Receipt.Signature) {
		t.Fatalf("--receipt wrote %s (%v); printed %+v", doc, err, out.Receipt)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("receipt file mode %v", fi.Mode())
	}
	privacyCLI(t, 0, "verify-receipt", "--config", cfgPath, file)
	// With the public key alone: no configuration, no secret.
	privacyCLI(t, 0, "verify-receipt", file, "--public-key", out.Receipt.Body.PublicKey)

	// One byte changed: the count of verifications erased.
	i := strings.Index(string(doc), `"verifications": 1`)
	if i < 0 {
		t.Fatalf("receipt: %s", doc)
	}
	bad := []byte(string(doc))
	bad[i+len(`"verifications": `)] = '2'
	tampered := filepath.Join(dir, "tampered.json")
	if err := os.WriteFile(tampered, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if msg := privacyCLI(t, 1, "verify-receipt", tampered, "--config", cfgPath); !strings.Contains(msg, "does not verify") || !strings.Contains(msg, "altered") {
		t.Errorf("tampered receipt: %s", msg)
	}
	// The audit trail keeps both receipts.
	trail := decode[struct{ Entries []privacy.AuditEntry }](t, []byte(privacyCLI(t, 0, "audit", "--config", cfgPath))).Entries
	n := 0
	for _, a := range trail {
		if a.Receipt != nil {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d receipts in the trail %+v", n, trail)
	}
}
