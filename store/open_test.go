package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	c := storetest.Config(t)
	ctx := t.Context()

	s, err := store.Open(ctx, c, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "v/keep", []byte("kept"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "v/leased", []byte("leased"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = storetest.Open(t, c)
	for key, want := range map[string]string{"v/keep": "kept", "v/leased": "leased"} {
		if err := wantValue(ctx, s, key, want); err != nil {
			t.Errorf("after restart: %v", err)
		}
	}
	// The lease cache starts empty but the old lease survived: new keys
	// still work.
	if err := s.Put(ctx, "v/new", []byte("n"), time.Minute); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a loopback port that nothing listens on (now).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestOpenUnreachableFailsWithinDialTimeout(t *testing.T) {
	t.Parallel()
	ep := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c := storetest.Config(t)
	c.Endpoints = []string{ep}
	c.DialTimeoutS = 1

	start := time.Now()
	s, err := store.Open(t.Context(), c, storetest.Logger(t))
	took := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("Open on a closed port succeeded")
	}
	t.Logf("Open: %v", err)
	if want := fmt.Sprintf("store: no etcd endpoint reachable at [%s]: ", ep); !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q, want prefix %q", err, want)
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("errors.Is(%v, ErrUnavailable) = false", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %q, want the dial error", err)
	}
	if took > 3*time.Second {
		t.Errorf("Open took %v with a 1 s dial timeout", took)
	}
}

func TestOpenCtxBoundsDial(t *testing.T) {
	t.Parallel()
	c := storetest.Config(t)
	c.Endpoints = []string{fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	c.DialTimeoutS = 60
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()

	start := time.Now()
	s, err := store.Open(ctx, c, nil)
	if err == nil {
		s.Close()
		t.Fatal("Open on a closed port succeeded")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Open took %v with a 0.5 s context", took)
	}
}

// TestOpenExternalEndpoint reaches an embedded etcd as an external
// cluster over its TLS client port (store.client_url), with the client
// certificate it generated.
func TestOpenExternalEndpoint(t *testing.T) {
	t.Parallel()
	c := storetest.Config(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c.ClientURL = "https://" + addr
	embedded := storetest.Open(t, c)

	ext := storetest.Config(t)
	ext.Endpoints = []string{"https://" + addr}
	keys := filepath.Join(c.DataDir, "keys")
	ext.TLSCAFile = filepath.Join(keys, "etcd-ca.crt")
	ext.TLSCertFile = filepath.Join(keys, "etcd-client.crt")
	ext.TLSKeyFile = filepath.Join(keys, "etcd-client.key")
	remote := storetest.Open(t, ext)

	ctx := t.Context()
	if err := remote.Create(ctx, "v/x", []byte("over grpc"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := wantValue(ctx, embedded, "v/x", "over grpc"); err != nil {
		t.Fatal(err)
	}
	if err := remote.Ready(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsBadEmbeddedConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(c *conf.Store)
		wantErr string
	}{
		{"no data dir", func(c *conf.Store) { c.DataDir = "" }, "no data dir"},
		{"public client url", func(c *conf.Store) { c.ClientURL = "https://0.0.0.0:2379" }, `client_url "https://0.0.0.0:2379"`},
		{"non-loopback peer url", func(c *conf.Store) { c.PeerURL = "http://10.1.2.3:2380" }, `peer_url "http://10.1.2.3:2380"`},
		{"http client url", func(c *conf.Store) { c.ClientURL = "http://127.0.0.1:2379" }, `client_url "http://127.0.0.1:2379": want https://`},
		{"no port", func(c *conf.Store) { c.ClientURL = "https://127.0.0.1" }, `client_url "https://127.0.0.1"`},
		{"socket path too long", func(c *conf.Store) { c.DataDir = filepath.Join(c.DataDir, strings.Repeat("d", 100)) }, "longer than the 107 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := storetest.Config(t)
			tt.edit(&c)
			s, err := store.Open(t.Context(), c, nil)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestOpenSameDataDirTwiceFails(t *testing.T) {
	t.Parallel()
	c := storetest.Config(t)
	storetest.Open(t, c)
	s, err := store.Open(t.Context(), c, nil)
	if err == nil {
		s.Close()
		t.Fatal("second Open on a data dir in use succeeded")
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Errorf("err = %q, want it to say the dir is in use", err)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
