package history

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestCloseClosesPreparedWrites checks that Close closes the statements
// the embedded store prepared for Write.
func TestCloseClosesPreparedWrites(t *testing.T) {
	st, err := OpenEmbedded(context.Background(), filepath.Join(t.TempDir(), EmbeddedFile))
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*sqlStore)
	var prepared []*sql.Stmt
	for _, r := range []rowsStmt{s.insEntries, s.insDataKeys, s.insDeliveries} {
		if len(r.prepared) != len(chunkSizes) {
			t.Fatalf("%d statements prepared, want one for each of %v", len(r.prepared), chunkSizes)
		}
		prepared = append(prepared, r.prepared...)
	}
	prepared = append(prepared, s.erasedAt, s.cancelDelivery, s.replaceDelivery)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for i, p := range prepared {
		if p == nil {
			t.Fatalf("statement %d was not prepared", i)
		}
		if _, err := p.Exec(); err == nil || !strings.Contains(err.Error(), "statement is closed") {
			t.Errorf("statement %d after Close: %v, want it closed", i, err)
		}
	}
}
