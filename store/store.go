// Package store is ringproof's state store: a thin, opinionated layer over
// etcd. Every key lives under the configured prefix; callers pass keys
// relative to it. Keys must hold opaque ids only, never phone numbers or other
// personal data, because they appear in errors and logs.
//
// Open starts an embedded single-node etcd when no endpoints are configured,
// or connects to an external cluster. Each operation is bounded by the
// configured request timeout unless its context ends sooner. Failures are
// wrapped with the operation and key; test them with errors.Is against
// ErrNotFound, ErrExists, ErrConflict and ErrUnavailable.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap/zapcore"

	"github.com/ringproof/ringproof/conf"
)

// Defaults used when the corresponding conf.Store field is zero.
const (
	defaultDialTimeout    = 5 * time.Second
	defaultRequestTimeout = 3 * time.Second
)

// Store is a handle on etcd. It is safe for concurrent use. Close releases it.
type Store struct {
	cli        *clientv3.Client
	etcd       *embed.Etcd          // nil when connected to an external cluster
	dirLock    *fileutil.LockedFile // the embedded data dir's lock, or nil
	clientURL  string               // the embedded etcd's client URL, or ""
	prefix     string
	reqTimeout time.Duration
	log        *slog.Logger
	leases     *leaseCache
	observer   Observer // or nil
	// comb joins the transactions of Apply and Update (combine.go).
	comb combiner
	// spaceCheckEvery paces the embedded store's recovery from a full
	// quota (alarm.go).
	spaceCheckEvery time.Duration
	broadcasts      sync.Map // prefix -> *Broadcast

	closed    *atomic.Bool    // silences logging once Close starts
	bg        context.Context // ends when Close starts
	stop      context.CancelFunc
	done      <-chan struct{} // bg.Done()
	wg        sync.WaitGroup  // the embedded server's error reporter
	closeOnce sync.Once
	closeErr  error
}

// Open returns a Store for c. With no c.Endpoints it starts an embedded etcd
// in c.DataDir listening on the loopback c.ClientURL and c.PeerURL (port 0
// picks a free port) and talks to it in-process; data persists across
// restarts on the same directory. With c.Endpoints it connects to that
// cluster, authenticating with c.Username and c.Password when set.
//
// Only one Store at a time may use a data dir; another fails at once.
//
// Open returns once the store answers a read, or fails when ctx ends or
// c.DialTimeoutS passes, whichever comes first; an unreachable cluster fails
// with an error wrapping ErrUnavailable. log receives etcd's warnings and
// errors; nil discards them.
func Open(ctx context.Context, c conf.Store, log *slog.Logger, opts ...Option) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	closed := new(atomic.Bool)
	log = slog.New(gatedHandler{log.Handler(), closed}).With("component", "store")

	dial := seconds(c.DialTimeoutS, defaultDialTimeout)
	dctx, cancel := context.WithTimeout(ctx, dial)
	defer cancel()

	bg, stop := context.WithCancel(context.Background())
	s := &Store{
		prefix:          c.Prefix,
		reqTimeout:      seconds(c.RequestTimeoutS, defaultRequestTimeout),
		spaceCheckEvery: spaceCheckEvery,
		log:             log,
		closed:          closed,
		bg:              bg,
		stop:            stop,
		done:            bg.Done(),
	}
	for _, o := range opts {
		o(s)
	}
	var err error
	if len(c.Endpoints) == 0 {
		zl := newZapLogger(log, zapcore.WarnLevel, benignEtcdWarnings)
		err = s.startEmbedded(dctx, c, zl)
	} else {
		err = s.connect(dctx, c, newZapLogger(log, zapcore.WarnLevel, nil))
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	if s.observer != nil {
		s.cli.KV = observedKV{KV: s.cli.KV, o: s.observer}
		s.cli.Lease = observedLease{Lease: s.cli.Lease, o: s.observer}
	}
	s.leases = newLeaseCache(bg, s.cli.Lease, s.reqTimeout)
	return s, nil
}

// Close stops the client and, if embedded, the etcd server, waiting for
// both. Watches end and their channels close. Close is idempotent; the Store
// must not be used after it.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stop()
		if s.leases != nil {
			s.leases.close()
		}
		s.wg.Wait()
		if s.cli != nil {
			if err := s.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
				s.closeErr = fmt.Errorf("store: close client: %w", err)
			}
		}
		if s.etcd != nil {
			s.etcd.Close()
		}
		if s.dirLock != nil {
			if err := s.dirLock.Close(); err != nil && s.closeErr == nil {
				s.closeErr = fmt.Errorf("store: unlock data dir: %w", err)
			}
		}
	})
	return s.closeErr
}

// Client returns the underlying etcd client for operations this package does
// not offer. Keys used through it are absolute: add the store prefix
// (Prefix) yourself. The client is closed by Close.
func (s *Store) Client() *clientv3.Client { return s.cli }

// ClientURL returns the URL the embedded etcd serves clients on (its real
// port, when the configured one was 0), or "" with an external cluster.
func (s *Store) ClientURL() string { return s.clientURL }

// Prefix returns the prefix prepended to every key.
func (s *Store) Prefix() string { return s.prefix }

// Ready reports whether the store serves a linearizable read now: a cheap
// liveness check for /readyz. The error wraps ErrUnavailable when etcd did
// not answer in time or has no leader.
func (s *Store) Ready(ctx context.Context) error {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	if _, err := s.cli.Get(ctx, s.prefix, clientv3.WithCountOnly()); err != nil {
		return wrapErr("ready", "", err)
	}
	// A store that answers but refuses writes (etcd's NOSPACE alarm) is
	// not ready either. Listing alarms needs etcd's root role when auth is
	// on: without it, the read above is all readiness can tell.
	alarms, err := s.cli.AlarmList(ctx)
	if err != nil {
		return nil
	}
	for _, a := range alarms.Alarms {
		if a.Alarm == etcdserverpb.AlarmType_NOSPACE {
			return wrapErr("ready", "", rpctypes.ErrNoSpace)
		}
	}
	return nil
}

// reqCtx bounds one operation by the request timeout, unless ctx ends
// sooner.
func (s *Store) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.reqTimeout)
}

// abs returns the etcd key for the relative key k.
func (s *Store) abs(k string) string { return s.prefix + k }

// rel returns the key relative to the store prefix.
func (s *Store) rel(k []byte) string { return string(k[len(s.prefix):]) }

func seconds(n int, def time.Duration) time.Duration {
	if n <= 0 {
		return def
	}
	return time.Duration(n) * time.Second
}
