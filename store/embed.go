package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"

	"github.com/ringproof/ringproof/conf"
)

const (
	// embedName is the embedded member's name. It is part of the data
	// directory's identity: changing it breaks existing directories.
	embedName = "ringproof"
	// compactionRetention keeps this much MVCC history: etcd compacts every
	// minute to the revision of a minute before, so it holds one to two
	// minutes of old revisions. Nothing in ringproof reads old revisions
	// (watches start at the current one and start again after a
	// compaction), and each verification writes about 6 KB of revisions
	// (its record and history entry, rewritten at each event and check):
	// at 1,000/s that is 0.4–0.7 GB held, where five minutes (5–10
	// minutes held) would overrun etcd's 2 GiB default quota. Without
	// compaction the quota fills and etcd refuses writes.
	compactionRetention = "1m"
	// lockFile, in the data dir, is held while a Store uses the directory.
	lockFile = "ringproof.lock"
)

// startEmbedded starts a single-node etcd in c.DataDir and connects an
// in-process client to it, waiting for readiness until ctx ends.
func (s *Store) startEmbedded(ctx context.Context, c conf.Store, zl *zap.Logger) error {
	if c.DataDir == "" {
		return errors.New("store: embedded etcd: no data dir")
	}
	curl, err := loopbackURL("client_url", c.ClientURL, defaultClientURL)
	if err != nil {
		return err
	}
	purl, err := loopbackURL("peer_url", c.PeerURL, defaultPeerURL)
	if err != nil {
		return err
	}

	// etcd's bbolt waits forever for a data dir another etcd holds; fail
	// fast instead, and keep the lock until Close.
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("store: embedded etcd: %w", err)
	}
	lock, err := fileutil.TryLockFile(filepath.Join(c.DataDir, lockFile), os.O_WRONLY|os.O_CREATE, 0o600)
	if errors.Is(err, fileutil.ErrLocked) {
		return fmt.Errorf("store: data dir %s is %w", c.DataDir, ErrInUse)
	}
	if err != nil {
		return fmt.Errorf("store: lock data dir: %w", err)
	}
	s.dirLock = lock

	cfg := embed.NewConfig()
	cfg.Name = embedName
	cfg.Dir = c.DataDir
	cfg.ListenClientUrls = []url.URL{*curl}
	cfg.AdvertiseClientUrls = []url.URL{*curl}
	cfg.ListenPeerUrls = []url.URL{*purl}
	cfg.AdvertisePeerUrls = []url.URL{*purl}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.EnableGRPCGateway = false
	cfg.AutoCompactionMode = embed.CompactorModePeriodic
	cfg.AutoCompactionRetention = compactionRetention
	cfg.WarningUnaryRequestDuration = embed.DefaultWarningUnaryRequestDuration // else 0: every gRPC request warns
	if c.QuotaBytes > 0 {
		cfg.QuotaBackendBytes = c.QuotaBytes
	}
	cfg.Logger = "zap"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zl)

	start := time.Now()
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("store: start embedded etcd in %s: %w", c.DataDir, err)
	}
	s.etcd = e // Close stops it from here on
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		return fmt.Errorf("store: embedded etcd in %s: %w", c.DataDir, err)
	case <-ctx.Done():
		cause := context.Cause(ctx)
		if !isUnavailable(cause) {
			return fmt.Errorf("store: embedded etcd in %s not ready: %w", c.DataDir, cause)
		}
		return unavailablef(cause, "store: embedded etcd in %s not ready", c.DataDir)
	}
	s.cli = v3client.New(e.Server)
	s.clientURL = "http://" + e.Clients[0].Addr().String()
	// The lock file names the client URL, so that tools can reach this
	// etcd while it holds the directory (see Attach).
	if err := lock.Truncate(0); err == nil {
		_, _ = lock.WriteAt([]byte(s.clientURL+"\n"), 0)
	}

	// Report serving errors of the running server until Close.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case err := <-e.Err():
			s.log.Error("embedded etcd failed", "err", err)
		case <-s.done:
		}
	}()
	s.log.Info("embedded etcd ready", "dir", c.DataDir,
		"client", e.Clients[0].Addr().String(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// loopbackURL parses raw (or def when raw is empty) and insists its host is
// a loopback address: the embedded etcd has neither TLS nor authentication.
func loopbackURL(name, raw, def string) (*url.URL, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("store: %s %q: %w", name, raw, err)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if u.Scheme != "http" || u.Port() == "" || (!strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback())) {
		return nil, fmt.Errorf("store: %s %q: want http://<loopback address>:<port>", name, raw)
	}
	return u, nil
}
