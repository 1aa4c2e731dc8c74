package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/sip"
	"github.com/ringproof/ringproof/store/storetest"
)

// TestMain routes what sipgo logs outside any endpoint (its transaction
// and transport layers keep one logger for the whole process) to a buffer
// printed only if a test fails, and removes the ringproof binary that
// tests share. Run as another user by storetest.OtherUserCannotConnect,
// it only tries a socket.
func TestMain(m *testing.M) {
	if code, ok := storetest.ConnectAsOtherUser(); ok {
		os.Exit(code)
	}
	lib := &logBuffer{}
	sip.SetLibraryLogger(slog.New(slog.NewTextHandler(lib, &slog.HandlerOptions{Level: slog.LevelWarn})))
	code := m.Run()
	stopPostgres()
	if code != 0 && lib.String() != "" {
		fmt.Fprintf(os.Stderr, "sipgo logged, outside any test's server:\n%s", lib)
	}
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is the ringproof command, built once for the tests that run it as
// a process.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
	out      []byte
	took     time.Duration
}

// buildRingproof returns the path of the ringproof command built from this
// package, with the race detector if the tests have it, so that the build
// reuses the packages the test build compiled and only links: a few
// seconds the first time, at once after that.
func buildRingproof(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		gotool, err := exec.LookPath("go")
		if err != nil {
			built.err = fmt.Errorf("the go command, to build ringproof: %w", err)
			return
		}
		if built.dir, built.err = os.MkdirTemp("", "ringproof-bin-"); built.err != nil {
			return
		}
		// Runnable by the container tests' unprivileged user.
		if built.err = os.Chmod(built.dir, 0o755); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "ringproof")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		start := time.Now()
		args := []string{"build", "-o", built.bin}
		if raceBuild {
			args = append(args, "-race")
		}
		built.out, built.err = exec.CommandContext(ctx, gotool, append(args, ".")...).CombinedOutput()
		built.took = time.Since(start)
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, bytes.TrimSpace(built.out))
	}
	t.Logf("ringproof built in %v", built.took.Round(time.Millisecond))
	return built.bin
}
