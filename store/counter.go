package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Incr atomically adds one to the counter at key and returns the new value.
// An absent key is created with value 1 and, when ttl > 0, a lease that
// outlives ttl as for Put; later increments keep that lease, so the counter
// expires ttl (plus at most the lease granularity) after its first
// increment. For a fixed-window rate limit, put the window in the key
// ("rl/<id>/<window start>") and pass the window length as ttl.
//
// Counters are stored as decimal text. Incr is a compare-and-swap loop:
// keep counters per entity. One counter shared by the whole service tops out
// near a thousand increments per second and fails wrapping ErrConflict
// under heavy contention.
func (s *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	var n int64
	err := s.withLease(ctx, ttl, func(create []clientv3.OpOption) (err error) {
		n, err = s.incr(ctx, s.abs(key), create)
		return err
	})
	return n, wrapErr("incr", key, err)
}

// incr is Incr's CAS loop on the absolute key k; create holds the options
// for creating k.
func (s *Store) incr(ctx context.Context, k string, create []clientv3.OpOption) (int64, error) {
	var cur, rev int64 // rev 0: believed absent
	for try := range maxTries {
		if try > 0 && rev != 0 {
			if err := backoff(ctx, try); err != nil {
				return 0, err
			}
		}
		var (
			cmp clientv3.Cmp
			put clientv3.Op
		)
		if rev == 0 {
			cmp = clientv3.Compare(clientv3.CreateRevision(k), "=", 0)
			put = clientv3.OpPut(k, "1", create...)
		} else {
			cmp = clientv3.Compare(clientv3.ModRevision(k), "=", rev)
			put = clientv3.OpPut(k, strconv.FormatInt(cur+1, 10), clientv3.WithIgnoreLease())
		}
		resp, err := s.cli.Txn(ctx).If(cmp).Then(put).Else(clientv3.OpGet(k)).Commit()
		if err != nil {
			return 0, err
		}
		if resp.Succeeded {
			return cur + 1, nil
		}
		kv := elseKV(resp)
		if kv == nil {
			cur, rev = 0, 0 // expired meanwhile: create it afresh
			continue
		}
		if cur, err = strconv.ParseInt(string(kv.Value), 10, 64); err != nil {
			return 0, fmt.Errorf("value is not a counter: %w", err)
		}
		rev = kv.ModRevision
	}
	return 0, fmt.Errorf("%w (%d tries)", ErrConflict, maxTries)
}
