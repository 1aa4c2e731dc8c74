package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxTries bounds optimistic read-modify-write loops (Update, UpdateWith). With
// N writers racing on one key the last may lose N-1 times, so this is above
// the contention a per-entity key should ever see.
const maxTries = 32

// maxBackoff caps the pause between two attempts of such a loop.
const maxBackoff = 50 * time.Millisecond

// backoff pauses before attempt try (1 for the first retry) for a random
// time below 0.5 ms × 2^try, capped at maxBackoff, so that writers who lost
// together do not collide again together. It returns early with ctx's error.
func backoff(ctx context.Context, try int) error {
	limit := min((500*time.Microsecond)<<min(try, 10), maxBackoff)
	t := time.NewTimer(rand.N(limit))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Update atomically replaces the value of key with fn's result and returns
// it. It reads the key, calls fn with the current value, and writes only if
// the key did not change meanwhile; otherwise, after a short random pause,
// it calls fn again with the new value, up to 32 times in all, then fails
// wrapping ErrConflict. fn may be called
// several times and must not keep cur. The key keeps its lease, if any.
//
// The error wraps ErrNotFound when the key is absent (or expires during the
// update). If fn returns an error, Update writes nothing and returns that
// error unchanged, so fn can abort with a sentinel of its own. The whole
// update is bounded by one request timeout.
func (s *Store) Update(ctx context.Context, key string, fn func(cur []byte) ([]byte, error)) ([]byte, error) {
	return s.UpdateFrom(ctx, key, nil, 0, fn)
}

// UpdateFrom is Update starting from a value the caller already holds: cur
// with ModRevision rev, as from Get or List. If the key has changed since,
// it costs one wasted attempt; with rev <= 0 it reads first, like Update.
func (s *Store) UpdateFrom(ctx context.Context, key string, cur []byte, rev int64, fn func(cur []byte) ([]byte, error)) ([]byte, error) {
	next, _, err := s.update(ctx, key, cur, rev, func(cur []byte) ([]byte, []Op, error) {
		next, err := fn(cur)
		return next, nil, err
	})
	return next, err
}

// update is the compare-and-swap loop behind UpdateFrom and UpdateWith. It
// returns the new value and its ModRevision.
//
// Its first read is serializable (answered by the local member without a
// round of consensus): the compare-and-swap catches a stale value, which
// then costs one more attempt, and the common case saves a read barrier.
// Only "absent" is confirmed with a linearizable read.
func (s *Store) update(ctx context.Context, key string, cur []byte, rev int64, fn func(cur []byte) ([]byte, []Op, error)) ([]byte, int64, error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	// A read served by the local member may not look at ctx: an expired
	// or cancelled one must not turn into "not found".
	if err := ctx.Err(); err != nil {
		return nil, 0, wrapErr("update", key, err)
	}
	k := s.abs(key)
	if rev <= 0 {
		resp, err := s.cli.Get(ctx, k, clientv3.WithSerializable())
		if err == nil && len(resp.Kvs) == 0 {
			// Absent here may be only not applied here yet (a key just
			// made through another member): ask the cluster.
			resp, err = s.cli.Get(ctx, k)
		}
		if err != nil {
			return nil, 0, wrapErr("update", key, err)
		}
		if len(resp.Kvs) == 0 {
			return nil, 0, wrapErr("update", key, ErrNotFound)
		}
		cur, rev = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
	}
	for try := range maxTries {
		if try > 0 {
			if err := backoff(ctx, try); err != nil {
				return nil, 0, wrapErr("update", key, err)
			}
		}
		next, also, err := fn(cur)
		if err != nil {
			return nil, 0, err
		}
		var resp *clientv3.TxnResponse
		err = s.withLeases(ctx, also, func(alsoOps []clientv3.Op) (err error) {
			then := append([]clientv3.Op{clientv3.OpPut(k, string(next), clientv3.WithIgnoreLease())}, alsoOps...)
			resp, err = s.txn(ctx,
				[]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(k), "=", rev)},
				then, []clientv3.Op{clientv3.OpGet(k)})
			return err
		})
		if err != nil {
			return nil, 0, wrapErr("update", key, err)
		}
		if resp.Succeeded {
			return next, resp.Header.Revision, nil
		}
		kv := elseKV(resp)
		if kv == nil {
			return nil, 0, wrapErr("update", key, ErrNotFound)
		}
		cur, rev = kv.Value, kv.ModRevision
	}
	return nil, 0, wrapErr("update", key, fmt.Errorf("%w (%d tries)", ErrConflict, maxTries))
}

// elseKV returns the key read by a failed transaction's single Else OpGet,
// or nil if the key is absent.
func elseKV(resp *clientv3.TxnResponse) *mvccpb.KeyValue {
	if len(resp.Responses) == 0 {
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return nil
	}
	return kvs[0]
}
