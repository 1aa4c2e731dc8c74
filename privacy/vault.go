package privacy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/store"
)

// ErrNoKey means a number has no data key: nothing was ever stored for it,
// it was erased, or its retention period ended.
var ErrNoKey = errors.New("privacy: no data key for this number (erased, expired, or never stored)")

// ErrErasing means the number was being erased for as long as a write could
// wait: nothing new may be stored for it until the erasure is over (a few
// seconds).
var ErrErasing = errors.New("privacy: the number is being erased; try again in a few seconds")

// Store is what the vault needs of the state store (store.Store).
type Store interface {
	Get(ctx context.Context, key string) ([]byte, int64, error)
	GetSerializable(ctx context.Context, key string) ([]byte, int64, error)
	GetWithPage(ctx context.Context, key, prefix string, limit int64) (*store.KV, []store.KV, bool, error)
	Apply(ctx context.Context, t store.Txn) (store.TxnResult, error)
	Put(ctx context.Context, key string, val []byte, ttl time.Duration) error
	List(ctx context.Context, prefix string) ([]store.KV, error)
	ListPage(ctx context.Context, prefix, from string, limit int64) ([]store.KV, bool, error)
	Keys(ctx context.Context, prefix string) ([]string, error)
	Commit(ctx context.Context, conds []store.Cmp, ops []store.Op) (bool, error)
	DeleteKeys(ctx context.Context, keys []string) (int64, error)
	DeletePrefix(ctx context.Context, prefix string) (int64, error)
	Watch(ctx context.Context, prefix string) <-chan store.Event
	Compact(ctx context.Context) (int64, error)
	DeleteUnchanged(ctx context.Context, revs map[string]int64) (int64, error)
}

// VaultConfig configures a Vault.
type VaultConfig struct {
	// Index maps numbers to number keys. Required.
	Index *Index
	// Keyring wraps data keys. Required.
	Keyring *Keyring
	// History is where history, data keys and the audit trail are kept
	// for the retention period. Required.
	History history.Store
	// Retention is how long personal data is kept (privacy.retention_days);
	// exports report it. Default 30 days.
	Retention time.Duration
	// AuditRetention is how long audit entries are kept
	// (privacy.audit_retention_days). Default 2190 days.
	AuditRetention time.Duration
	// Signer signs erasure receipts and seals audit entries
	// (privacy.signing_key). Nil: a key made for this vault alone, whose
	// signatures no other process can check (tests).
	Signer *Signer
	// Places are the other packages' keys named by number keys.
	Places []Place
	// Log receives warnings; nil discards them.
	Log *slog.Logger
}

// Vault keeps the personal data of phone numbers at rest: one random data
// key per number, wrapped by the Keyring, with which records and history
// entries seal their personal data. It exports and erases everything held
// about a number and keeps the audit trail of doing so. It is safe for
// concurrent use.
//
// A data key lives in two places. Its home is the history store, for the
// retention period. While the number has live records (verifications,
// masking routes), a copy also lives in the state store under
// datakey/<number key>, leased as long as they are: every write of a new
// record commits only if that copy is still the key it sealed with, so that
// a record is never sealed with a key an erasure destroyed meanwhile.
//
// Nodes cache data keys for a minute; an erasure anywhere in the cluster
// empties every node's cache (WatchErasures).
type Vault struct {
	st        Store
	hist      history.Store
	idx       *Index
	ring      *Keyring
	retention time.Duration
	// auditRetention is how long audit entries are kept.
	auditRetention time.Duration
	signer         *Signer
	places         []Place
	log            *slog.Logger
	now            func() time.Time
	writer         *writer
	// lifting counts erasure guards waiting to be lifted (Wait).
	lifting sync.WaitGroup

	mu    sync.Mutex
	cache map[string]cachedKey // by number key
}

type cachedKey struct {
	k  *Key
	at time.Time
}

const (
	// cacheTTL bounds how long a node trusts a data key it read.
	cacheTTL = time.Minute
	// cacheMax bounds the cache; when full it is emptied.
	cacheMax = 1 << 16
	// tombstoneTTL is how long an erasure tombstone stays for nodes to see.
	tombstoneTTL = 30 * time.Second
	// guardTTL bounds how long a number being erased refuses new records
	// should its eraser die; an erasure that completes removes its guard
	// guardLinger after it is done, far longer than the moment between a
	// write's read of the old data key and its commit.
	guardTTL    = 30 * time.Second
	guardLinger = 2 * time.Second
	// writeTries bounds Write's retries when the data key changes under it.
	writeTries = 3
)

// NewVault returns a vault over st and c.History. Run starts its history
// writer; Close stops it.
func NewVault(st Store, c VaultConfig) (*Vault, error) {
	if c.Index == nil || c.Keyring == nil || c.History == nil {
		return nil, errors.New("privacy: vault needs an index, a keyring and a history store")
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.AuditRetention <= 0 {
		c.AuditRetention = DefaultAuditRetention
	}
	if c.Signer == nil {
		c.Signer = newRandomSigner()
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	v := &Vault{
		st: st, hist: c.History, idx: c.Index, ring: c.Keyring, retention: c.Retention,
		auditRetention: c.AuditRetention, signer: c.Signer,
		places: c.Places, log: c.Log, now: time.Now,
		cache: make(map[string]cachedKey),
	}
	v.writer = newWriter(st, c.History, c.Log, func() time.Time { return v.now() })
	return v, nil
}

// NewEphemeralVault returns a vault over st with an index and keyring made
// at random for this process and an embedded history store in dir: what
// it stores cannot be read after a restart. For tests and tools that need
// no persistence. Its writer runs until ctx ends.
func NewEphemeralVault(ctx context.Context, st Store, dir string) (*Vault, error) {
	k1, k2 := make([]byte, KeySize), make([]byte, EncryptionKeySize)
	mustRandom(k1)
	mustRandom(k2)
	idx, _ := NewIndex(k1)
	ring, _ := NewKeyring(k2)
	h, err := history.OpenEmbedded(ctx, dir+"/"+history.EmbeddedFile)
	if err != nil {
		return nil, err
	}
	v, err := NewVault(st, VaultConfig{Index: idx, Keyring: ring, History: h})
	if err != nil {
		return nil, err
	}
	go v.Run(ctx)
	return v, nil
}

// DefaultAuditRetention is how long audit entries are kept unless
// VaultConfig says otherwise: six years.
const DefaultAuditRetention = 2190 * 24 * time.Hour

// Verifier checks what the vault's signer signed.
func (v *Vault) Verifier() Verifier { return v.signer.Verifier() }

// Wait waits until what Erase left running in the background (lifting the
// guard of each erased number, a few seconds after it) is done: call it
// before the process exits.
func (v *Vault) Wait() { v.lifting.Wait() }

// Index is the vault's number index.
func (v *Vault) Index() *Index { return v.idx }

// Retention is how long personal data is kept.
func (v *Vault) Retention() time.Duration { return v.retention }

// History is the vault's history store.
func (v *Vault) History() history.Store { return v.hist }

// Key returns the data key of number key nk: from the cache, the state
// store's live copy, a write still queued for the history store, or the
// history store. When nk has none: with create, a fresh key not stored yet
// (Write stores it with the data it seals); without, an error wrapping
// ErrNoKey.
func (v *Vault) Key(ctx context.Context, nk string, create bool) (*Key, error) {
	if k := v.cached(nk); k != nil {
		return k, nil
	}
	w, _, err := v.st.Get(ctx, dataKeyKey(nk))
	return v.stored(ctx, nk, w, err, queuedRead{}, create)
}

// queuedRead is nk's first outbox entry, when the read of nk's live data
// key copy brought it along (read), so that it is not read again.
type queuedRead struct {
	kvs  []store.KV
	read bool
}

// stored makes nk's Key from its wrapped form w as read from the state
// store (err is the read's error); when the state store has none it looks
// in the outbox (q, if read already) and the history store, and with
// create makes a fresh key when nk has none anywhere.
func (v *Vault) stored(ctx context.Context, nk string, w []byte, err error, q queuedRead, create bool) (*Key, error) {
	if errors.Is(err, store.ErrNotFound) {
		w, err = v.durableKey(ctx, nk, q)
		if errors.Is(err, ErrNoKey) && create {
			dk := make([]byte, dataKeySize)
			mustRandom(dk)
			k, err := newKey(nk, dk)
			if err != nil {
				return nil, err
			}
			k.wrapped = v.ring.wrap(nk, dk)
			return k, nil
		}
		if err != nil {
			return nil, err
		}
		k, err := v.unwrapped(nk, w)
		if err != nil {
			return nil, err
		}
		// The state store holds no copy: Write makes one, under its
		// absence as condition.
		k.stored = nil
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("privacy: data key: %w", err)
	}
	k, err := v.unwrapped(nk, w)
	if err != nil {
		return nil, err
	}
	v.remember(k)
	return k, nil
}

// durableKey reads nk's wrapped data key from the outbox (a write not yet
// in the history store; q, unless it was read already) or the history
// store, or fails with ErrNoKey.
func (v *Vault) durableKey(ctx context.Context, nk string, q queuedRead) ([]byte, error) {
	kvs := q.kvs
	if !q.read {
		var err error
		if kvs, _, err = v.st.ListPage(ctx, queuedPrefix(nk), "", 1); err != nil {
			return nil, fmt.Errorf("privacy: data key: %w", err)
		}
	}
	if len(kvs) > 0 {
		if p, err := decodePending(kvs[0].Value); err == nil && len(p.DataKey) > 0 {
			return p.DataKey, nil
		}
	}
	dk, err := v.hist.DataKey(ctx, nk)
	if errors.Is(err, history.ErrNotFound) {
		return nil, ErrNoKey
	}
	if err != nil {
		return nil, fmt.Errorf("privacy: data key: %w", err)
	}
	return dk.Wrapped, nil
}

// unwrapped makes nk's Key from its wrapped form w, to be rewrapped under
// the current encryption key if an old one wrapped it.
func (v *Vault) unwrapped(nk string, w []byte) (*Key, error) {
	dk, current, err := v.ring.unwrap(nk, w)
	if err != nil {
		return nil, err
	}
	k, err := newKey(nk, dk)
	if err != nil {
		return nil, err
	}
	k.stored, k.wrapped = w, w
	if !current {
		k.wrapped = v.ring.wrap(nk, dk)
	}
	return k, nil
}

// Write applies, in one transaction, the transaction build returns for nk's
// data key together with the state store's live copy of that key: stored
// if new, rewrapped under the current encryption key if an old one wrapped
// it, and leased for live from now (as long as the live records build
// writes). It commits only if build's conditions hold, the number is not
// being erased, and the key is still the one build used; if the key
// changed meanwhile (erased, made or rewrapped by another node) build runs
// again with the new one, up to 3 times. If build's own conditions fail,
// Write returns the result, not OK, with the keys build asked to read, and
// no error. While the number is being erased Write waits, and fails with
// ErrErasing if ctx ends first.
//
// An uncached key is read serializably (no round of consensus), its live
// copy and the number's outbox together in one read: a stale read only
// costs one more attempt, as a changed key does.
func (v *Vault) Write(ctx context.Context, nk string, live time.Duration, build func(k *Key) (store.Txn, error)) (store.TxnResult, error) {
	dkKey, guard := dataKeyKey(nk), guardKey(nk)
	k := v.cached(nk)
	if k == nil {
		kv, queued, _, err := v.st.GetWithPage(ctx, dkKey, queuedPrefix(nk), 1)
		var w []byte
		if err == nil {
			if kv != nil {
				w = kv.Value
			} else {
				err = store.ErrNotFound
			}
		}
		if k, err = v.stored(ctx, nk, w, err, queuedRead{kvs: queued, read: true}, true); err != nil {
			return store.TxnResult{}, err
		}
	}
	for range writeTries {
		t, err := build(k)
		if err != nil {
			return store.TxnResult{}, err
		}
		cond := store.IfAbsent(dkKey)
		if k.stored != nil {
			cond = store.IfValue(dkKey, k.stored)
		}
		t.If = append(t.If, cond, store.IfAbsent(guard))
		t.Then = append(t.Then, store.OpPut(dkKey, k.wrapped, live))
		t.Read = append(t.Read, dkKey, guard)
		res, err := v.st.Apply(ctx, t)
		if err != nil {
			return res, fmt.Errorf("privacy: write: %w", err)
		}
		if res.OK {
			kept := *k
			kept.stored = k.wrapped
			v.remember(&kept)
			return res, nil
		}
		if _, erasing := res.Read[guard]; erasing {
			v.Forget(nk)
			if err := v.waitErased(ctx, guard); err != nil {
				return store.TxnResult{}, err
			}
			w, _, err := v.st.Get(ctx, dkKey)
			if k, err = v.stored(ctx, nk, w, err, queuedRead{}, true); err != nil {
				return store.TxnResult{}, err
			}
			continue
		}
		cur, held := res.Read[dkKey]
		if held == (k.stored != nil) && (!held || bytes.Equal(cur.Value, k.stored)) {
			return res, nil // the data key is as build saw it: build's own condition failed
		}
		v.Forget(nk)
		var readErr error
		if !held {
			readErr = store.ErrNotFound
		}
		if k, err = v.stored(ctx, nk, cur.Value, readErr, queuedRead{}, true); err != nil {
			return store.TxnResult{}, err
		}
	}
	return store.TxnResult{}, fmt.Errorf("privacy: write: %w: data key changed %d times", store.ErrConflict, writeTries)
}

// waitErased waits until guard is gone (the erasure it marks is over), or
// fails with ErrErasing when ctx ends or guardTTL passes first.
func (v *Vault) waitErased(ctx context.Context, guard string) error {
	limit := time.NewTimer(guardTTL)
	defer limit.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ErrErasing
		case <-limit.C:
			return ErrErasing
		case <-tick.C:
		}
		if _, _, err := v.st.Get(ctx, guard); errors.Is(err, store.ErrNotFound) {
			return nil
		}
	}
}

// Forget drops nk's data key from this node's cache.
func (v *Vault) Forget(nk string) {
	v.mu.Lock()
	delete(v.cache, nk)
	v.mu.Unlock()
}

// Cached reports whether this node's cache holds nk's data key (for tests
// and diagnostics).
func (v *Vault) Cached(nk string) bool { return v.cached(nk) != nil }

func (v *Vault) forgetAll() {
	v.mu.Lock()
	clear(v.cache)
	v.mu.Unlock()
}

func (v *Vault) cached(nk string) *Key {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.cache[nk]
	if !ok {
		return nil
	}
	if v.now().Sub(c.at) > cacheTTL {
		delete(v.cache, nk)
		return nil
	}
	return c.k
}

func (v *Vault) remember(k *Key) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cache) >= cacheMax {
		clear(v.cache)
	}
	v.cache[k.nk] = cachedKey{k: k, at: v.now()}
}

// WatchErasures follows erasures made anywhere in the cluster until ctx
// ends: on each, it empties this node's data key cache and calls erased
// (which should end this node's calls to numbers whose records are gone).
// Should the watch break (a compaction overtook it, the store was
// unreachable), it does the same, since an erasure may have been missed,
// and watches again.
func (v *Vault) WatchErasures(ctx context.Context, erased func()) {
	for ctx.Err() == nil {
		for ev := range v.st.Watch(ctx, erasedPrefix) {
			if !ev.Deleted {
				v.forgetAll()
				erased()
			}
		}
		if ctx.Err() != nil {
			return
		}
		v.forgetAll()
		erased()
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Rewrap rewraps, under the current encryption key, every data key that an
// old key wrapped, in the history store and the live copies in the state
// store (keeping their leases): after a rotation, run it once, and the old
// key may then be dropped from old_encryption_keys. It returns how many
// keys it rewrapped and how many there are in the history store.
func (v *Vault) Rewrap(ctx context.Context) (rewrapped, total int, err error) {
	live, err := v.st.List(ctx, dataKeyPrefix)
	if err != nil {
		return 0, 0, fmt.Errorf("privacy: rewrap: %w", err)
	}
	for _, kv := range live {
		nk := kv.Key[len(dataKeyPrefix):]
		dk, current, err := v.ring.unwrap(nk, kv.Value)
		if err != nil {
			return 0, 0, fmt.Errorf("privacy: rewrap %s: %w", kv.Key, err)
		}
		if current {
			continue
		}
		if _, err := v.st.Commit(ctx, []store.Cmp{store.IfValue(kv.Key, kv.Value)},
			[]store.Op{store.OpPutKeepLease(kv.Key, v.ring.wrap(nk, dk))}); err != nil {
			return 0, 0, fmt.Errorf("privacy: rewrap: %w", err)
		}
		v.Forget(nk)
	}
	err = v.hist.RangeDataKeys(ctx, func(k history.DataKey) error {
		total++
		dk, current, err := v.ring.unwrap(k.NumberKey, k.Wrapped)
		if err != nil {
			return fmt.Errorf("privacy: rewrap %s: %w", k.NumberKey, err)
		}
		if current {
			return nil
		}
		ok, err := v.hist.SwapDataKey(ctx, k.NumberKey, k.Wrapped, v.ring.wrap(k.NumberKey, dk))
		if err != nil {
			return fmt.Errorf("privacy: rewrap: %w", err)
		}
		if ok {
			rewrapped++
		}
		v.Forget(k.NumberKey)
		return nil
	})
	return rewrapped, total, err
}
