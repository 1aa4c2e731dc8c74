package privacy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ringproof/ringproof/store/storetest"
)

func TestErasureReceipt(t *testing.T) {
	st := storetest.New(t)
	v := newVault(t, st, key(1))
	addVerification(t, v, st, testNumber, "v1")
	if err := v.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	addVerification(t, v, st, testNumber, "v2") // still in the outbox
	e, err := v.Erase(t.Context(), testNumber, false, Actor{Operator: "alice", Via: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.Receipt
	if r == nil {
		t.Fatal("no receipt")
	}
	b := r.Body
	if b.Subject != v.idx.Subject(testNumber) || b.Operator != "alice" || b.CompactedRevision != e.CompactedRevision || !b.ErasedAt.Equal(e.At) ||
		b.Removed[StoreHistory][KindHistory] != 1 || b.Removed[StoreHistory][KindDataKeys] != 1 ||
		b.Removed[StoreState][KindOutbox] != 1 || b.Removed[StoreState]["verifications"] != 2 || b.KeyID != v.Verifier().KeyID() {
		t.Fatalf("receipt: %+v", b)
	}
	compact, _ := json.Marshal(r)
	indented, _ := json.MarshalIndent(e, "", "  ") // the erasure's whole output
	for _, doc := range [][]byte{compact, indented} {
		if got, err := VerifyReceipt(doc, v.Verifier(), v.idx, testNumber); err != nil || got.ID != b.ID {
			t.Fatalf("verify: %+v, %v\n%s", got, err, doc)
		}
	}
	for _, forbidden := range []string{"7911123456", v.idx.Of(testNumber)} {
		if strings.Contains(string(compact), forbidden) {
			t.Errorf("the receipt holds %q: %s", forbidden, compact)
		}
	}
	if _, err := VerifyReceipt(compact, v.Verifier(), v.idx, "+447911123457"); !errors.Is(err, ErrOtherNumber) {
		t.Errorf("another number: %v", err)
	}
	if _, err := VerifyReceipt(compact, newRandomSigner().Verifier(), nil, ""); !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "names the key") {
		t.Errorf("another key: %v", err)
	}
	// One byte changed anywhere, and the receipt no longer verifies.
	doc := append(compact, '\n')
	for i := range doc {
		bad := append([]byte(nil), doc...)
		bad[i] ^= 1
		if _, err := VerifyReceipt(bad, v.Verifier(), nil, ""); err == nil {
			t.Fatalf("byte %d changed (%q to %q) and the receipt still verifies:\n%s", i, doc[i], bad[i], bad)
		}
	}
	// The audit trail keeps it.
	trail, err := v.Audit(t.Context(), testNumber)
	if err != nil || len(trail) != 1 || trail[0].Receipt == nil || trail[0].Receipt.Signature != r.Signature {
		t.Fatalf("trail: %+v, %v", trail, err)
	}
	// A dry run has none.
	if e, err := v.Erase(t.Context(), testNumber, true, Actor{Operator: "alice"}); err != nil || e.Receipt != nil {
		t.Fatalf("dry run: %+v, %v", e, err)
	}
}
