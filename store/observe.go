package store

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Observer is told how long each request to etcd took: op is "get",
// "put", "delete", "txn", "compact" or "lease_grant", and err the
// request's error (nil on success). It is called from the requesting
// goroutine and must not block.
type Observer interface {
	ObserveRequest(op string, took time.Duration, err error)
}

// Option configures Open.
type Option func(*Store)

// WithObserver has o observe every key-value request and lease grant the
// store makes, including those of retried updates, each attempt on its own.
func WithObserver(o Observer) Option {
	return func(s *Store) { s.observer = o }
}

// observedKV times the requests of a clientv3.KV.
type observedKV struct {
	clientv3.KV
	o Observer
}

func (kv observedKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	start := time.Now()
	resp, err := kv.KV.Get(ctx, key, opts...)
	kv.o.ObserveRequest("get", time.Since(start), err)
	return resp, err
}

func (kv observedKV) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (*clientv3.PutResponse, error) {
	start := time.Now()
	resp, err := kv.KV.Put(ctx, key, val, opts...)
	kv.o.ObserveRequest("put", time.Since(start), err)
	return resp, err
}

func (kv observedKV) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	start := time.Now()
	resp, err := kv.KV.Delete(ctx, key, opts...)
	kv.o.ObserveRequest("delete", time.Since(start), err)
	return resp, err
}

func (kv observedKV) Compact(ctx context.Context, rev int64, opts ...clientv3.CompactOption) (*clientv3.CompactResponse, error) {
	start := time.Now()
	resp, err := kv.KV.Compact(ctx, rev, opts...)
	kv.o.ObserveRequest("compact", time.Since(start), err)
	return resp, err
}

func (kv observedKV) Txn(ctx context.Context) clientv3.Txn {
	return observedTxn{Txn: kv.KV.Txn(ctx), o: kv.o}
}

// observedTxn times a transaction's Commit, its one round trip.
type observedTxn struct {
	clientv3.Txn
	o Observer
}

func (t observedTxn) If(cs ...clientv3.Cmp) clientv3.Txn {
	return observedTxn{Txn: t.Txn.If(cs...), o: t.o}
}

func (t observedTxn) Then(ops ...clientv3.Op) clientv3.Txn {
	return observedTxn{Txn: t.Txn.Then(ops...), o: t.o}
}

func (t observedTxn) Else(ops ...clientv3.Op) clientv3.Txn {
	return observedTxn{Txn: t.Txn.Else(ops...), o: t.o}
}

func (t observedTxn) Commit() (*clientv3.TxnResponse, error) {
	start := time.Now()
	resp, err := t.Txn.Commit()
	t.o.ObserveRequest("txn", time.Since(start), err)
	return resp, err
}

// observedLease times the lease grants of a clientv3.Lease: a write that
// needs a lease not yet granted waits for one.
type observedLease struct {
	clientv3.Lease
	o Observer
}

func (l observedLease) Grant(ctx context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error) {
	start := time.Now()
	resp, err := l.Lease.Grant(ctx, ttl)
	l.o.ObserveRequest("lease_grant", time.Since(start), err)
	return resp, err
}
