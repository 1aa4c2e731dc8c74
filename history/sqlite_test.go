package history

import (
	"context"
	"path/filepath"
	"testing"
)

// TestEmbeddedWriterKeepsTempInMemory checks that the writing connection
// keeps statement journals in memory (temp_store = MEMORY, 2).
func TestEmbeddedWriterKeepsTempInMemory(t *testing.T) {
	st, err := OpenEmbedded(context.Background(), filepath.Join(t.TempDir(), EmbeddedFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var v int
	if err := st.(*sqlStore).db.QueryRow(`PRAGMA temp_store`).Scan(&v); err != nil || v != 2 {
		t.Fatalf("temp_store = %d, %v; want 2 (MEMORY)", v, err)
	}
}
