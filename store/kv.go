package store

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// KV is one key and its value, as List returns them.
type KV struct {
	// Key is relative to the store prefix.
	Key   string
	Value []byte
	// Rev is the key's ModRevision: pass it to UpdateFrom.
	Rev int64
	// Version is how many times the key was written since it was created
	// (a counter's count, see IfFewer).
	Version int64
}

// Get returns the value of key and its ModRevision (pass both to UpdateFrom
// to skip a read). The error wraps ErrNotFound when the key is absent.
func (s *Store) Get(ctx context.Context, key string) (val []byte, rev int64, err error) {
	return s.get(ctx, key, false)
}

// GetSerializable is Get answered by the nearest etcd member from what it
// has applied, without a round of consensus: cheaper, and possibly a
// little behind the cluster (never behind this node's own completed
// writes on a single node). Use it where a later compare-and-swap catches
// a stale value.
func (s *Store) GetSerializable(ctx context.Context, key string) (val []byte, rev int64, err error) {
	return s.get(ctx, key, true)
}

// get reads key, serializably if local, within the request timeout.
func (s *Store) get(ctx context.Context, key string, local bool) ([]byte, int64, error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	var opts []clientv3.OpOption
	if local {
		if err := ctx.Err(); err != nil { // a local read may not look at ctx
			return nil, 0, wrapErr("get", key, err)
		}
		opts = append(opts, clientv3.WithSerializable())
	}
	resp, err := s.cli.Get(ctx, s.abs(key), opts...)
	if err != nil {
		return nil, 0, wrapErr("get", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, wrapErr("get", key, ErrNotFound)
	}
	kv := resp.Kvs[0]
	return kv.Value, kv.ModRevision, nil
}

// GetWithPage reads, in one serializable read-only transaction (one round
// trip, no round of consensus, both at the same revision), key and the
// first limit keys starting with prefix: GetSerializable and ListPage from
// prefix's first key together. kv is nil when key is absent (not an
// error); more reports whether keys beyond the page start with prefix.
// Like GetSerializable it may be a little behind the cluster: use it where
// a later compare-and-swap catches a stale answer.
func (s *Store) GetWithPage(ctx context.Context, key, prefix string, limit int64) (kv *KV, page []KV, more bool, err error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	if err := ctx.Err(); err != nil { // a local read may not look at ctx
		return nil, nil, false, wrapErr("get with page", key, err)
	}
	p := s.abs(prefix)
	resp, err := s.cli.Txn(ctx).Then(
		clientv3.OpGet(s.abs(key), clientv3.WithSerializable()),
		clientv3.OpGet(p, clientv3.WithRange(clientv3.GetPrefixRangeEnd(p)), clientv3.WithLimit(limit), clientv3.WithSerializable()),
	).Commit()
	if err != nil {
		return nil, nil, false, wrapErr("get with page", key, err)
	}
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		kv = &KV{Key: key, Value: kvs[0].Value, Rev: kvs[0].ModRevision, Version: kvs[0].Version}
	}
	r := resp.Responses[1].GetResponseRange()
	page = make([]KV, len(r.Kvs))
	for i, x := range r.Kvs {
		page[i] = KV{Key: s.rel(x.Key), Value: x.Value, Rev: x.ModRevision, Version: x.Version}
	}
	return kv, page, r.More, nil
}

// Create stores val under key only if key is absent; the error wraps
// ErrExists otherwise. ttl is as for Put.
func (s *Store) Create(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	k := s.abs(key)
	err := s.withLease(ctx, ttl, func(opts []clientv3.OpOption) error {
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
			Then(clientv3.OpPut(k, string(val), opts...)).
			Commit()
		if err == nil && !resp.Succeeded {
			err = ErrExists
		}
		return err
	})
	return wrapErr("create", key, err)
}

// Put stores val under key whether or not it exists. With ttl > 0 the key
// expires on its own: it lives at least ttl, and at most ttl plus the lease
// granularity (5 s, or ttl/1024 for TTLs over 85 minutes) and etcd's
// whole-second rounding (see leaseCache); keys
// with close expiries share a lease, so this costs no extra round trip. With
// ttl == 0 the key never expires, and loses any lease it had.
func (s *Store) Put(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	k := s.abs(key)
	err := s.withLease(ctx, ttl, func(opts []clientv3.OpOption) error {
		_, err := s.cli.Put(ctx, k, string(val), opts...)
		return err
	})
	return wrapErr("put", key, err)
}

// Delete removes key. Deleting an absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	_, err := s.cli.Delete(ctx, s.abs(key))
	return wrapErr("delete", key, err)
}

// DeletePrefix removes every key starting with prefix (relative to the store
// prefix; "" removes all of the store's keys) and returns how many it
// removed.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int64, error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	resp, err := s.cli.Delete(ctx, s.abs(prefix), clientv3.WithPrefix())
	if err != nil {
		return 0, wrapErr("delete prefix", prefix, err)
	}
	return resp.Deleted, nil
}

// List returns every key starting with prefix, in key order, read at one
// revision. It loads them all at once: keep prefixes narrow.
func (s *Store) List(ctx context.Context, prefix string) ([]KV, error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.abs(prefix), clientv3.WithPrefix())
	if err != nil {
		return nil, wrapErr("list", prefix, err)
	}
	out := make([]KV, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = KV{Key: s.rel(kv.Key), Value: kv.Value, Rev: kv.ModRevision, Version: kv.Version}
	}
	return out, nil
}

// withLease runs write with the options attaching a lease that outlives ttl
// (none when ttl <= 0). Should etcd report the cached lease gone, it is
// dropped and write retried once with a fresh one.
func (s *Store) withLease(ctx context.Context, ttl time.Duration, write func([]clientv3.OpOption) error) error {
	if ttl <= 0 {
		return write(nil)
	}
	for try := 0; ; try++ {
		id, err := s.leases.get(ctx, ttl)
		if err != nil {
			return err
		}
		err = write([]clientv3.OpOption{clientv3.WithLease(id)})
		if try == 0 && errors.Is(err, rpctypes.ErrLeaseNotFound) {
			s.leases.invalidate(id)
			continue
		}
		return err
	}
}
