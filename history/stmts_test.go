package history

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// TestCloseWhileWriting: a store closed while a Write runs on another
// goroutine (a node's history writer as the node stops) ends that Write
// with an error, without a data race (run with -race).
func TestCloseWhileWriting(t *testing.T) {
	st, err := OpenEmbedded(context.Background(), filepath.Join(t.TempDir(), EmbeddedFile))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	started, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			var b Batch
			for j := range 20 {
				nk := fmt.Sprintf("%d-%d", i, j)
				b.Entries = append(b.Entries, Entry{ID: "v" + nk, NumberKey: nk, Kind: KindVerification,
					CreatedAt: now, ExpiresAt: now.Add(time.Hour), Version: 1, Body: []byte(`{}`)})
			}
			_, err := st.Write(context.Background(), b)
			if i == 0 {
				close(started)
			}
			if err != nil {
				return
			}
		}
	}()
	<-started
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
}
