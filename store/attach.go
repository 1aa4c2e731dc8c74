package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/ringproof/ringproof/conf"
)

// ErrNoStore is wrapped by Attach when c names an embedded data dir that
// holds no store: there is nothing to attach to.
var ErrNoStore = errors.New("no store")

// Attach opens the store c describes for a short-lived tool (an export, an
// erasure) that must work whether or not a server is running:
//
//   - with c.Endpoints, it connects to that cluster, as Open does;
//   - with an embedded data dir that no process uses, it starts etcd on it,
//     as Open does (a server started meanwhile fails with ErrInUse until
//     the tool closes the store);
//   - with an embedded data dir that a running store holds, it connects as
//     a client of that store's etcd, on the unix socket in the directory
//     (which the holder names in the directory's lock file): only the user
//     that runs the server (or root) can.
//
// It never creates a data dir: one that does not exist, or holds no etcd
// data, fails with an error wrapping ErrNoStore.
func Attach(ctx context.Context, c conf.Store, log *slog.Logger) (*Store, error) {
	if len(c.Endpoints) > 0 {
		return Open(ctx, c, log)
	}
	if _, err := os.Stat(filepath.Join(c.DataDir, "member")); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: data dir %s holds no store (is store.data_dir right?): %w", c.DataDir, ErrNoStore)
	}
	s, err := Open(ctx, c, log)
	if !errors.Is(err, ErrInUse) {
		return s, err
	}
	// The holder serves clients on the socket in the directory, which
	// only this user can reach; its lock file names it.
	data, rerr := os.ReadFile(filepath.Join(c.DataDir, lockFile))
	url := strings.TrimSpace(string(data))
	dir, aerr := filepath.Abs(c.DataDir)
	if rerr != nil || aerr != nil || url != "unix://"+filepath.Join(dir, socketFile) {
		return nil, fmt.Errorf("store: data dir %s is in use, and its lock file names no socket to reach it (%q; is the server an older version?): %w", c.DataDir, url, err)
	}
	c.Endpoints = []string{url}
	s, err = Open(ctx, c, log)
	if err != nil {
		return nil, fmt.Errorf("store: data dir %s is in use by a running store, which did not answer at %s: %w", c.DataDir, url, err)
	}
	return s, nil
}
