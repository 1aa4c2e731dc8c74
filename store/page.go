package store

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ListPage returns at most limit keys starting with prefix, from the first
// key not below from (or from the first key when from is ""), in key order,
// and whether more follow: for walking a prefix too large to load at once.
// Pass the last key returned plus "\x00" as from to get the next page.
func (s *Store) ListPage(ctx context.Context, prefix, from string, limit int64) ([]KV, bool, error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	start := s.abs(prefix)
	if from != "" {
		start = s.abs(from)
	}
	resp, err := s.cli.Get(ctx, start, clientv3.WithRange(clientv3.GetPrefixRangeEnd(s.abs(prefix))), clientv3.WithLimit(limit))
	if err != nil {
		return nil, false, wrapErr("list page", prefix, err)
	}
	out := make([]KV, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = KV{Key: s.rel(kv.Key), Value: kv.Value, Rev: kv.ModRevision, Version: kv.Version}
	}
	return out, resp.More, nil
}

// Count returns how many keys start with prefix ("" counts every key of
// the store), without reading them.
func (s *Store) Count(ctx context.Context, prefix string) (int64, error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.abs(prefix), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, wrapErr("count", prefix, err)
	}
	return resp.Count, nil
}

// DBSize returns the size in bytes of the database file of the etcd
// member this store talks to (embedded: its own), as etcd reports it:
// what counts against the space quota (store.quota_bytes).
func (s *Store) DBSize(ctx context.Context) (int64, error) {
	if s.etcd != nil {
		return s.etcd.Server.Backend().Size(), nil
	}
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	eps := s.cli.Endpoints()
	if len(eps) == 0 {
		return 0, nil
	}
	st, err := s.cli.Status(ctx, eps[0])
	if err != nil {
		return 0, wrapErr("status", "", err)
	}
	return st.DbSize, nil
}

// DeleteUnchanged deletes each key of revs that was last written at the
// revision revs gives it (nobody wrote it since), and leaves the others:
// one transaction per 64 keys, each key under its own condition (etcd's
// nested transactions), so that one key written again does not keep the
// others. It returns how many it deleted.
func (s *Store) DeleteUnchanged(ctx context.Context, revs map[string]int64) (int64, error) {
	var n int64
	ops := make([]clientv3.Op, 0, 64)
	first := ""
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		rctx, cancel := s.reqCtx(ctx)
		resp, err := s.cli.Txn(rctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			return wrapErr("delete unchanged", first, err)
		}
		for _, r := range resp.Responses {
			if t := r.GetResponseTxn(); t != nil && t.Succeeded {
				n++
			}
		}
		ops, first = ops[:0], ""
		return nil
	}
	for key, rev := range revs {
		k := s.abs(key)
		if first == "" {
			first = key
		}
		ops = append(ops, clientv3.OpTxn(
			[]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(k), "=", rev)},
			[]clientv3.Op{clientv3.OpDelete(k)}, nil))
		if len(ops) == 64 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}
