package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.etcd.io/etcd/client/pkg/v3/transport"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.etcd.io/etcd/server/v3/storage"
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
	// (its record and outbox entry, rewritten at each event and check):
	// at 1,000/s that is 0.4–0.7 GB held, where five minutes (5–10
	// minutes held) would overrun etcd's 2 GiB default quota. Shorter is
	// not cheaper: each compaction reads and hashes every live key's
	// latest revision, so compacting every 10 s held a quarter of the
	// database but cost 14 % of the CPU at 500/s with 145,000 live keys.
	compactionRetention = "1m"
	// loneCatchUpEntries is how many applied raft entries a lone member
	// keeps in memory (etcd's default, 5,000, is for followers that fall
	// behind; a member without peers has none). A joined transaction's
	// entry holds several records, so 5,000 of them were a quarter of the
	// heap at 500/s.
	loneCatchUpEntries = 100
	// lockFile, in the data dir, is held while a Store uses the directory.
	lockFile = "ringproof.lock"
	// socketFile, in the data dir, is the unix socket the embedded etcd
	// serves clients on.
	socketFile = "etcd.sock"
	// maxSocketPath is the longest path a unix socket may have on Linux
	// (sun_path is 108 bytes with the terminating NUL).
	maxSocketPath = 107
	// keysDir, in the data dir, holds generated keys (0700).
	keysDir = "keys"
	// defaultPeerHost is the peer URL a member names when it listens on
	// none.
	defaultPeerHost = "127.0.0.1:2380"
)

// startEmbedded starts a single-node etcd in c.DataDir and connects an
// in-process client to it, waiting for readiness until ctx ends.
//
// The embedded etcd takes no unauthenticated client: it serves clients on
// a unix socket in the data dir, mode 0600 in a 0700 directory, so only
// the user running ringproof (and root) can reach it; and, only when
// c.ClientURL is set, on that loopback https:// URL to clients presenting
// the certificate generated in the data dir's keys/ (etcdtls.go). Its
// peer port is off unless c.PeerURL is set.
func (s *Store) startEmbedded(ctx context.Context, c conf.Store, zl *zap.Logger) error {
	if c.DataDir == "" {
		return errors.New("store: embedded etcd: no data dir")
	}
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("store: embedded etcd: data dir %s: %w", c.DataDir, err)
	}
	sock := filepath.Join(dir, socketFile)
	if len(sock) > maxSocketPath {
		return fmt.Errorf("store: embedded etcd: the socket path %s is longer than the %d bytes a unix socket may have: choose a shorter store.data_dir", sock, maxSocketPath)
	}
	var curl, purl *url.URL
	if c.ClientURL != "" {
		if curl, err = loopbackURL("client_url", c.ClientURL, "https"); err != nil {
			return err
		}
	}
	if c.PeerURL != "" {
		if purl, err = loopbackURL("peer_url", c.PeerURL, "http"); err != nil {
			return err
		}
	}

	// etcd's bbolt waits forever for a data dir another etcd holds; fail
	// fast instead, and keep the lock until Close.
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("store: embedded etcd: %w", err)
	}
	lock, err := lockDataDir(ctx, c.DataDir, sock)
	if err != nil {
		return err
	}
	s.dirLock = lock

	// A socket left by a process that died holding the directory.
	if err := os.Remove(sock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: embedded etcd: remove stale socket: %w", err)
	}

	cfg := embed.NewConfig()
	cfg.Name = embedName
	cfg.Dir = c.DataDir
	cfg.ListenClientUrls = []url.URL{{Scheme: "unix", Path: sock}}
	// etcd insists on host:port here; nothing reads it for a single member.
	cfg.AdvertiseClientUrls = []url.URL{{Scheme: "unix", Host: "localhost:0"}}
	if curl != nil {
		certs, err := ensureEtcdCerts(filepath.Join(dir, keysDir), curl.Hostname())
		if err != nil {
			return err
		}
		cfg.ListenClientUrls = append(cfg.ListenClientUrls, *curl)
		cfg.AdvertiseClientUrls = []url.URL{*curl}
		cfg.ClientTLSInfo = transport.TLSInfo{
			CertFile:       certs.ServerCert,
			KeyFile:        certs.ServerKey,
			TrustedCAFile:  certs.CA,
			ClientCertAuth: true,
		}
	}
	// A member needs a peer URL to name in its cluster; it listens there
	// only when asked to.
	cfg.ListenPeerUrls = nil
	cfg.AdvertisePeerUrls = []url.URL{{Scheme: "http", Host: defaultPeerHost}}
	if purl != nil {
		cfg.ListenPeerUrls = []url.URL{*purl}
		cfg.AdvertisePeerUrls = []url.URL{*purl}
	} else {
		cfg.SnapshotCatchUpEntries = loneCatchUpEntries
	}
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
	// The socket is the owner's alone (the directory is too).
	if err := os.Chmod(sock, 0o600); err != nil {
		return fmt.Errorf("store: embedded etcd: %w", err)
	}
	s.cli = v3client.New(e.Server)
	s.clientURL = "unix://" + sock
	// The lock file names the socket, so that tools can reach this etcd
	// while it holds the directory (see Attach).
	if err := lock.Truncate(0); err == nil {
		_, _ = lock.WriteAt([]byte(s.clientURL+"\n"), 0)
	}

	// Recover from a full store by itself once space is back (alarm.go).
	quota := c.QuotaBytes
	if quota <= 0 {
		quota = storage.DefaultQuotaBytes
	}
	s.wg.Add(1)
	go s.recoverSpace(quota, s.spaceCheckEvery)

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
	clients := make([]string, len(e.Clients))
	for i, l := range e.Clients {
		clients[i] = l.Addr().String()
	}
	s.log.Info("embedded etcd ready", "dir", c.DataDir,
		"clients", strings.Join(clients, " "), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// loopbackURL parses raw and insists on scheme and a loopback host with a
// port.
func loopbackURL(name, raw, scheme string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("store: %s %q: %w", name, raw, err)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if u.Scheme != scheme || u.Port() == "" || (!strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback())) {
		return nil, fmt.Errorf("store: %s %q: want %s://<loopback address>:<port>", name, raw, scheme)
	}
	return u, nil
}

// testHookLockBusy, if set, is called each time lockDataDir finds the lock
// held by a holder whose socket is gone, before it pauses.
var testHookLockBusy func()

// lockWait bounds how long lockDataDir waits for a holder that has let go
// of the data dir (its socket is gone) but whose lock is not yet released.
const lockWait = 2 * time.Second

// lockDataDir takes the data dir's lock file. A lock is released when the
// last descriptor of its open file closes, and a child process being
// started by any goroutine holds a copy of every descriptor between fork
// and exec: so a store closed a moment ago may still appear to hold the
// directory (a server restarted in the same process, or a tool run just
// after the server stopped). While the lock is held but the holder's
// socket is gone, it tries again for up to lockWait; while the socket
// exists, another store is running and it fails at once with ErrInUse.
func lockDataDir(ctx context.Context, dataDir, sock string) (*fileutil.LockedFile, error) {
	deadline := time.Now().Add(lockWait)
	for pause := 5 * time.Millisecond; ; pause = min(2*pause, 200*time.Millisecond) {
		lock, err := fileutil.TryLockFile(filepath.Join(dataDir, lockFile), os.O_WRONLY|os.O_CREATE, 0o600)
		if err == nil {
			return lock, nil
		}
		if !errors.Is(err, fileutil.ErrLocked) {
			return nil, fmt.Errorf("store: lock data dir: %w", err)
		}
		if _, serr := os.Stat(sock); serr == nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("store: data dir %s is %w", dataDir, ErrInUse)
		}
		if testHookLockBusy != nil {
			testHookLockBusy()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("store: data dir %s is %w", dataDir, ErrInUse)
		case <-time.After(pause):
		}
	}
}
