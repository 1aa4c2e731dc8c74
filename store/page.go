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
