package store

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Cmp is a condition of a transaction: IfAbsent, IfValue, IfFewer or
// IfModRevision.
type Cmp struct {
	key    string
	absent bool
	val    []byte
	fewer  int64 // IfFewer's bound; 0 for the other kinds
	modRev int64 // IfModRevision's revision; 0 for the other kinds
}

// IfAbsent holds when key does not exist.
func IfAbsent(key string) Cmp { return Cmp{key: key, absent: true} }

// IfValue holds when key exists and its value is val.
func IfValue(key string, val []byte) Cmp { return Cmp{key: key, val: val} }

// IfFewer holds when key has been written fewer than n times since it was
// created (its Version; an absent key has 0). With an OpPut of the same key
// in the same transaction it makes a counter that needs no read: a
// fixed-window rate limit of n is IfFewer(window key, n) plus a put of the
// window key, and the count so far is the key's Version (KV.Version). n
// must be at least 1.
func IfFewer(key string, n int64) Cmp { return Cmp{key: key, fewer: max(n, 1)} }

// IfModRevision holds when key exists and was last written at revision rev
// (KV.Rev, TxnResult.Rev): nobody wrote it since.
func IfModRevision(key string, rev int64) Cmp { return Cmp{key: key, modRev: max(rev, 1)} }

// opKind says what an Op does.
type opKind int

const (
	opPut opKind = iota
	opPutKeepLease
	opDelete
	opDeletePrefix
)

// Op is one write of Commit or UpdateWith.
type Op struct {
	kind opKind
	key  string
	val  []byte
	ttl  time.Duration
}

// OpPut writes val under key; ttl is as for Put.
func OpPut(key string, val []byte, ttl time.Duration) Op {
	return Op{kind: opPut, key: key, val: val, ttl: ttl}
}

// OpPutKeepLease writes val under key, which keeps the lease it has. The
// key must exist (guard the Commit with IfValue), else the transaction
// fails.
func OpPutKeepLease(key string, val []byte) Op {
	return Op{kind: opPutKeepLease, key: key, val: val}
}

// OpDelete removes key.
func OpDelete(key string) Op { return Op{kind: opDelete, key: key} }

// OpDeletePrefix removes every key starting with prefix.
func OpDeletePrefix(prefix string) Op { return Op{kind: opDeletePrefix, key: prefix} }

// Commit applies ops in one transaction if every condition in conds holds,
// and reports whether it did. Keys with a TTL get shared leases as Put's
// do. A transaction may hold up to 128 operations (etcd's default limit).
func (s *Store) Commit(ctx context.Context, conds []Cmp, ops []Op) (bool, error) {
	res, err := s.Apply(ctx, Txn{If: conds, Then: ops})
	return res.OK, err
}

// Txn is a transaction for Apply: if every condition in If holds, the
// writes in Then are made; otherwise none is, and the keys in Read are
// read instead, so the caller can tell which condition failed without
// another round trip. A key may be written only once in a transaction.
type Txn struct {
	If   []Cmp
	Then []Op
	Read []string
}

// TxnResult is what Apply did.
type TxnResult struct {
	// OK reports whether the conditions held and the writes were made.
	OK bool
	// Rev is the store's revision after the transaction: with OK, the
	// ModRevision of every key it wrote (pass it to UpdateWithFrom).
	Rev int64
	// Read holds, when !OK, the keys of Txn.Read that exist, by key.
	Read map[string]KV
}

// Apply runs t in one transaction: one round trip, one raft entry. Keys
// with a TTL get shared leases as Put's do.
func (s *Store) Apply(ctx context.Context, t Txn) (TxnResult, error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	cmps := s.etcdCmps(t.If)
	reads := make([]clientv3.Op, len(t.Read))
	for i, k := range t.Read {
		reads[i] = clientv3.OpGet(s.abs(k))
	}
	var res TxnResult
	err := s.withLeases(ctx, t.Then, func(etcdOps []clientv3.Op) error {
		resp, err := s.txn(ctx, cmps, etcdOps, reads)
		if err != nil {
			return err
		}
		res = TxnResult{OK: resp.Succeeded, Rev: resp.Header.Revision}
		if resp.Succeeded {
			return nil
		}
		res.Read = make(map[string]KV, len(t.Read))
		for _, r := range resp.Responses {
			for _, kv := range r.GetResponseRange().GetKvs() {
				k := s.rel(kv.Key)
				res.Read[k] = KV{Key: k, Value: kv.Value, Rev: kv.ModRevision, Version: kv.Version}
			}
		}
		return nil
	})
	return res, wrapErr("commit", firstKey(t.Then), err)
}

// etcdCmps converts conditions to etcd's.
func (s *Store) etcdCmps(conds []Cmp) []clientv3.Cmp {
	cmps := make([]clientv3.Cmp, len(conds))
	for i, c := range conds {
		k := s.abs(c.key)
		switch {
		case c.absent:
			cmps[i] = clientv3.Compare(clientv3.CreateRevision(k), "=", 0)
		case c.fewer > 0:
			cmps[i] = clientv3.Compare(clientv3.Version(k), "<", c.fewer)
		case c.modRev > 0:
			cmps[i] = clientv3.Compare(clientv3.ModRevision(k), "=", c.modRev)
		default:
			cmps[i] = clientv3.Compare(clientv3.Value(k), "=", string(c.val))
		}
	}
	return cmps
}

// UpdateWith is Update whose fn also returns writes committed in the same
// transaction as the new value, and so only if the key did not change
// meanwhile: a record and its index entries, for instance.
func (s *Store) UpdateWith(ctx context.Context, key string, fn func(cur []byte) (next []byte, also []Op, err error)) ([]byte, error) {
	next, _, err := s.update(ctx, key, nil, 0, fn)
	return next, err
}

// UpdateWithFrom is UpdateWith starting from a value the caller already
// holds (cur at ModRevision rev, as from Apply or an earlier UpdateWithFrom),
// which saves the read; with rev <= 0 it reads first. It also returns the
// revision of what it wrote, so that the next update can start from it.
func (s *Store) UpdateWithFrom(ctx context.Context, key string, cur []byte, rev int64, fn func(cur []byte) (next []byte, also []Op, err error)) ([]byte, int64, error) {
	return s.update(ctx, key, cur, rev, fn)
}

// DeleteKeys removes keys, in transactions of at most 64, and returns how
// many existed.
func (s *Store) DeleteKeys(ctx context.Context, keys []string) (int64, error) {
	var n int64
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 64)]
		keys = keys[len(batch):]
		ops := make([]clientv3.Op, len(batch))
		for i, k := range batch {
			ops[i] = clientv3.OpDelete(s.abs(k))
		}
		rctx, cancel := s.reqCtx(ctx)
		resp, err := s.cli.Txn(rctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			return n, wrapErr("delete keys", batch[0], err)
		}
		for _, r := range resp.Responses {
			n += r.GetResponseDeleteRange().GetDeleted()
		}
	}
	return n, nil
}

// Keys returns every key starting with prefix, in key order, without their
// values.
func (s *Store) Keys(ctx context.Context, prefix string) ([]string, error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.abs(prefix), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, wrapErr("keys", prefix, err)
	}
	out := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = s.rel(kv.Key)
	}
	return out, nil
}

// Compact discards every past version of every key (the store's history up
// to the current revision) and has etcd release the space
// (physical compaction), so that a deleted value can no longer be read at
// an old revision. It returns the revision compacted at. Watches that lag
// behind it are cancelled (see Watch). It affects the whole cluster, not
// only the store's prefix.
func (s *Store) Compact(ctx context.Context) (int64, error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, wrapErr("compact", "", err)
	}
	rev := resp.Header.Revision
	_, err = s.cli.Compact(ctx, rev, clientv3.WithCompactPhysical())
	if errors.Is(err, rpctypes.ErrCompacted) {
		return rev, nil // someone compacted at this revision or later already
	}
	return rev, wrapErr("compact", "", err)
}

// withLeases converts ops to etcd operations, with leases for the puts
// that have a TTL, and runs write with them. Should etcd report a lease
// gone, the leases are dropped from the cache and write retried once.
func (s *Store) withLeases(ctx context.Context, ops []Op, write func([]clientv3.Op) error) error {
	for try := 0; ; try++ {
		etcdOps, used, err := s.etcdOps(ctx, ops)
		if err != nil {
			return err
		}
		err = write(etcdOps)
		if try == 0 && errors.Is(err, rpctypes.ErrLeaseNotFound) {
			for _, id := range used {
				s.leases.invalidate(id)
			}
			continue
		}
		return err
	}
}

// etcdOps converts ops, granting (or reusing) a lease per TTL.
func (s *Store) etcdOps(ctx context.Context, ops []Op) ([]clientv3.Op, []clientv3.LeaseID, error) {
	out := make([]clientv3.Op, len(ops))
	var used []clientv3.LeaseID
	for i, o := range ops {
		k := s.abs(o.key)
		switch o.kind {
		case opPut:
			var opts []clientv3.OpOption
			if o.ttl > 0 {
				id, err := s.leases.get(ctx, o.ttl)
				if err != nil {
					return nil, nil, err
				}
				used = append(used, id)
				opts = append(opts, clientv3.WithLease(id))
			}
			out[i] = clientv3.OpPut(k, string(o.val), opts...)
		case opPutKeepLease:
			out[i] = clientv3.OpPut(k, string(o.val), clientv3.WithIgnoreLease())
		case opDelete:
			out[i] = clientv3.OpDelete(k)
		case opDeletePrefix:
			out[i] = clientv3.OpDelete(k, clientv3.WithPrefix())
		}
	}
	return out, used, nil
}

func firstKey(ops []Op) string {
	if len(ops) == 0 {
		return ""
	}
	return ops[0].key
}
