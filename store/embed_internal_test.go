package store

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
)

// TestEmbeddedRetention checks what the embedded member keeps: a minute of
// old revisions, and, for a member without peers, only loneCatchUpEntries
// raft entries in memory; a member with a peer port keeps etcd's default
// for its followers.
func TestEmbeddedRetention(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		peer      bool
		wantCatch uint64
	}{
		{"lone", false, loneCatchUpEntries},
		{"with peer port", true, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := conf.Store{DataDir: t.TempDir(), Prefix: "/t/"}
			if tt.peer {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				c.PeerURL = fmt.Sprintf("http://%s", l.Addr())
				l.Close()
			}
			s, err := Open(t.Context(), c, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			cfg := s.etcd.Server.Cfg
			if cfg.SnapshotCatchUpEntries != tt.wantCatch {
				t.Errorf("raft entries kept for catch-up = %d, want %d", cfg.SnapshotCatchUpEntries, tt.wantCatch)
			}
			if got := s.etcd.Config().AutoCompactionRetention; got != compactionRetention {
				t.Errorf("compaction retention = %q, want %q", got, compactionRetention)
			}
			// Longer fills etcd's quota at 1,000/s; shorter costs more in
			// compactions than it saves (see compactionRetention).
			if d, err := time.ParseDuration(compactionRetention); err != nil || d < 30*time.Second || d > 2*time.Minute {
				t.Errorf("compaction retention %q (%v): want 30 s to 2 minutes", compactionRetention, err)
			}
		})
	}
}
