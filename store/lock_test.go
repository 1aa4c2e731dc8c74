package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A lock still held for a moment after its holder let go (a child process
// between fork and exec holds a copy of every descriptor) is waited for;
// a lock whose holder's socket exists is another store's, refused at once.
func TestLockDataDirWaitsForAHolderThatLetGo(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, socketFile)
	ctx := context.Background()

	held, err := lockDataDir(ctx, dir, sock)
	if err != nil {
		t.Fatal(err)
	}
	// The holder is running: its socket exists.
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := lockDataDir(ctx, dir, sock); !errors.Is(err, ErrInUse) {
		t.Fatalf("with the holder's socket present: %v, want ErrInUse", err)
	}
	if waited := time.Since(start); waited > lockWait/2 {
		t.Errorf("refused after %v: a running holder should be refused at once", waited)
	}

	// The holder stopped (socket gone) but its lock lingers until released.
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	// It is released once lockDataDir has found it busy.
	busy := 0
	testHookLockBusy = func() {
		if busy++; busy == 1 {
			held.Close()
		}
	}
	defer func() { testHookLockBusy = nil }()
	lock, err := lockDataDir(ctx, dir, sock)
	if err != nil {
		t.Fatalf("after the holder let go: %v", err)
	}
	if busy == 0 {
		t.Fatal("the lock was taken at once: the test did not hold it")
	}
	lock.Close()
}
