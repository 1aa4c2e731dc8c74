// Package storetest gives tests of other packages a real store: an embedded
// etcd in a temporary directory (serving clients on its unix socket only),
// closed when the test ends. Starting one takes about half a second.
package storetest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/store"
)

// Config returns the configuration of an embedded store in a fresh
// directory under t.TempDir(), with no TCP port (so parallel test
// processes never collide), under the prefix "/test/". Open it with
// store.Open; opening the same Config again after Close reopens the same
// data.
func Config(t testing.TB) conf.Store {
	t.Helper()
	return conf.Store{
		DataDir:         filepath.Join(t.TempDir(), "etcd"), // etcd makes it 0700
		Prefix:          "/test/",
		DialTimeoutS:    10,
		RequestTimeoutS: 5,
	}
}

// Logger returns a logger writing warnings and errors to t's output, which
// go test shows only if the test fails (or with -v).
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// ZapLogger returns a zap logger, for the etcd servers and clients a test
// starts itself, that writes warnings and errors to t's output as Logger
// does, and drops what they log after t has ended (an etcd goroutine that
// outlives the test must not fail it).
func ZapLogger(t testing.TB) *zap.Logger {
	w := &testWriter{w: t.Output()}
	t.Cleanup(w.close)
	enc := zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zap.WarnLevel))
}

// testWriter writes to a test's output until it is closed.
type testWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(p), nil
	}
	return w.w.Write(p)
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// New opens a store on Config(t), failing t if it cannot, and closes it
// when t ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	return Open(t, Config(t))
}

// Open opens a store on c, failing t if it cannot, and closes it when t
// ends.
func Open(t testing.TB, c conf.Store) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, c, Logger(t))
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: %v", err)
		}
	})
	return s
}
