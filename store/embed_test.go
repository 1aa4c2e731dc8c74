package store_test

import (
	"fmt"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/etcdserver"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// TestEmbeddedRetention checks what the embedded member keeps: a minute of
// old revisions, and, for a member without peers, only LoneCatchUpEntries
// raft entries in memory; a member with a peer port keeps etcd's default
// for its followers.
func TestEmbeddedRetention(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		peer      bool
		wantCatch uint64
	}{
		{"lone", false, store.LoneCatchUpEntries},
		{"with peer port", true, etcdserver.DefaultSnapshotCatchUpEntries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := storetest.Config(t)
			if tt.peer {
				c.PeerURL = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
			}
			s, err := store.Open(t.Context(), c, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			catchUp, compaction := store.EmbeddedRetention(s)
			if catchUp != tt.wantCatch {
				t.Errorf("raft entries kept for catch-up = %d, want %d", catchUp, tt.wantCatch)
			}
			if compaction != store.CompactionRetention {
				t.Errorf("compaction retention = %q, want %q", compaction, store.CompactionRetention)
			}
			// Longer fills etcd's quota at 1,000/s; shorter costs more in
			// compactions than it saves (see compactionRetention).
			if d, err := time.ParseDuration(store.CompactionRetention); err != nil || d < 30*time.Second || d > 2*time.Minute {
				t.Errorf("compaction retention %q (%v): want 30 s to 2 minutes", store.CompactionRetention, err)
			}
		})
	}
}
