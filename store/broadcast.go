package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// broadcastBuffer is how many events a subscriber may fall behind before
// it is dropped (its channel closed): a dispatcher never waits for one
// slow reader.
const broadcastBuffer = 32

// broadcastLinger keeps a Broadcast's watch open this long after its last
// subscriber left, so that a page reconnecting does not cost a new watch.
const broadcastLinger = 30 * time.Second

// Broadcast shares one etcd watch on a prefix among any number of local
// subscribers, each following one key under it. However many subscribe
// and leave, and however fast, etcd sees one watch per Broadcast: the
// number of readers (web pages following a verification) cannot reach
// etcd. The watch opens with the first subscriber and closes a while
// after the last leaves. A Broadcast is safe for concurrent use; get one
// with Store.Broadcast.
type Broadcast struct {
	s      *Store
	prefix string

	start sync.Mutex // serializes opening the watch

	mu    sync.Mutex
	run   *broadcastRun                   // the open watch, or nil
	subs  map[string]map[*subscriber]bool // key -> its subscribers
	count int
	idle  *time.Timer // closes run once no one has subscribed for a while

	opened atomic.Int64 // watches opened, for tests
}

// broadcastRun is one open etcd watch of a Broadcast.
type broadcastRun struct {
	cancel context.CancelFunc
}

type subscriber struct {
	ch   chan Event
	stop func() bool // unregisters the context.AfterFunc
}

// Broadcast returns the Broadcast of prefix (relative to the store
// prefix): the same one for the same prefix, for the life of the Store.
func (s *Store) Broadcast(prefix string) *Broadcast {
	if b, ok := s.broadcasts.Load(prefix); ok {
		return b.(*Broadcast)
	}
	b, _ := s.broadcasts.LoadOrStore(prefix, &Broadcast{s: s, prefix: prefix, subs: map[string]map[*subscriber]bool{}})
	return b.(*Broadcast)
}

// Subscribe streams the changes to key, which must lie under the
// Broadcast's prefix. Every change committed after Subscribe returns is
// delivered, in revision order; changes committed shortly before may be
// delivered too, so compare Event.Rev with the revision of a read made
// after Subscribe.
//
// The channel closes when ctx ends, when the shared watch ends (the store
// closes, a compaction overtook it, the member lost its leader: re-read
// and subscribe again if need be), or when the subscriber falls more than
// a few dozen events behind. Subscribe fails, with an error wrapping
// ErrUnavailable, when the watch cannot be opened within the request
// timeout.
func (b *Broadcast) Subscribe(ctx context.Context, key string) (<-chan Event, error) {
	if len(key) < len(b.prefix) || key[:len(b.prefix)] != b.prefix {
		return nil, fmt.Errorf("store: subscribe %q: not under the broadcast prefix %q", key, b.prefix)
	}
	if err := b.open(ctx); err != nil {
		return nil, err
	}
	sub := &subscriber{ch: make(chan Event, broadcastBuffer)}
	b.mu.Lock()
	if b.run == nil {
		// The watch ended between open and now.
		b.mu.Unlock()
		close(sub.ch)
		return sub.ch, nil
	}
	if b.subs[key] == nil {
		b.subs[key] = map[*subscriber]bool{}
	}
	b.subs[key][sub] = true
	b.count++
	if b.idle != nil {
		b.idle.Stop()
		b.idle = nil
	}
	// The function runs, once ctx ends, only after this unlock.
	sub.stop = context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.drop(key, sub)
	})
	b.mu.Unlock()
	return sub.ch, nil
}

// Subscribers returns how many subscribers the Broadcast has now.
func (b *Broadcast) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count
}

// open starts the shared watch unless it runs, and waits until etcd has
// registered it.
func (b *Broadcast) open(ctx context.Context) error {
	b.mu.Lock()
	running := b.run != nil
	b.mu.Unlock()
	if running {
		return nil
	}
	b.start.Lock()
	defer b.start.Unlock()
	b.mu.Lock()
	running = b.run != nil
	b.mu.Unlock()
	if running {
		return nil
	}

	// The watch belongs to no caller: it outlives ctx, until the store
	// closes or the last subscriber has gone for a while.
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(b.s.bg))
	wch := b.s.cli.Watch(wctx, b.s.abs(b.prefix), clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	timer := time.NewTimer(b.s.reqTimeout)
	defer timer.Stop()
	fail := func(err error) error {
		cancel()
		return unavailablef(err, "store: broadcast %q: watch not opened", b.prefix)
	}
	select {
	case resp, ok := <-wch:
		if !ok {
			return fail(context.Canceled)
		}
		if resp.Err() != nil || !resp.Created {
			return fail(fmt.Errorf("watch refused: %v", resp.Err()))
		}
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-timer.C:
		return fail(context.DeadlineExceeded)
	}
	b.opened.Add(1)
	run := &broadcastRun{cancel: cancel}
	b.mu.Lock()
	b.run = run
	b.mu.Unlock()
	go b.dispatch(run, wch)
	return nil
}

// dispatch hands each change seen by run's watch to the key's subscribers
// without ever waiting for one, until the watch ends; then it closes every
// subscriber's channel.
func (b *Broadcast) dispatch(run *broadcastRun, wch clientv3.WatchChan) {
	defer run.cancel()
	for resp := range wch {
		if err := resp.Err(); err != nil {
			if !b.s.closed.Load() {
				b.s.log.Warn("broadcast watch ended", "prefix", b.prefix, "err", err)
			}
			break
		}
		b.mu.Lock()
		for _, ev := range resp.Events {
			e := Event{Key: b.s.rel(ev.Kv.Key), Rev: ev.Kv.ModRevision}
			if ev.Type == clientv3.EventTypeDelete {
				e.Deleted = true
			} else {
				e.Value = ev.Kv.Value
			}
			for sub := range b.subs[e.Key] {
				select {
				case sub.ch <- e:
				default:
					b.s.log.Warn("broadcast subscriber too slow: dropped", "prefix", b.prefix, "key", e.Key)
					b.drop(e.Key, sub)
				}
			}
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.run == run {
		b.run = nil
		for key, subs := range b.subs {
			for sub := range subs {
				b.drop(key, sub)
			}
		}
		if b.idle != nil {
			b.idle.Stop()
			b.idle = nil
		}
	}
}

// drop removes sub and closes its channel, once; with the last subscriber
// gone, the watch closes after broadcastLinger. b.mu must be held.
func (b *Broadcast) drop(key string, sub *subscriber) {
	subs := b.subs[key]
	if !subs[sub] {
		return
	}
	delete(subs, sub)
	if len(subs) == 0 {
		delete(b.subs, key)
	}
	if sub.stop != nil {
		sub.stop()
	}
	close(sub.ch)
	b.count--
	if b.count == 0 && b.run != nil && b.idle == nil {
		run := b.run
		b.idle = time.AfterFunc(broadcastLinger, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.run == run && b.count == 0 {
				b.run = nil
				b.idle = nil
				run.cancel()
			}
		})
	}
}
