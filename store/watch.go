package store

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Event is one change seen by Watch.
type Event struct {
	// Key is relative to the store prefix.
	Key string
	// Value is the new value; nil when Deleted.
	Value []byte
	// Deleted is true when the key was deleted or its lease expired.
	Deleted bool
	// Rev is the revision of the change.
	Rev int64
}

// Watch streams the changes to keys starting with prefix (relative to the
// store prefix), in revision order. It returns once etcd has registered the
// watch, so every change committed after Watch returns is delivered.
//
// The channel closes when ctx ends, when the store closes, when the watch
// cannot be established within the request timeout, or when etcd cancels
// the watch (a compaction overtook it, the member lost its leader);
// the caller should read it until then, and re-read state and watch again
// if it needs to go on. A reader that stops reading stalls only its own
// watch.
func (s *Store) Watch(ctx context.Context, prefix string) <-chan Event {
	out := make(chan Event, 16)
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := s.cli.Watch(wctx, s.abs(prefix), clientv3.WithPrefix(), clientv3.WithCreatedNotify())

	// Wait for the created notification so no later change is missed.
	timer := time.NewTimer(s.reqTimeout)
	defer timer.Stop()
	select {
	case resp, ok := <-wch:
		if !ok || resp.Err() != nil || !resp.Created {
			if ok && resp.Err() != nil {
				s.log.Warn("watch failed", "prefix", prefix, "err", resp.Err())
			}
			cancel()
			close(out)
			return out
		}
	case <-ctx.Done():
		cancel()
		close(out)
		return out
	case <-timer.C:
		s.log.Warn("watch not established in time", "prefix", prefix)
		cancel()
		close(out)
		return out
	}

	go func() {
		defer close(out)
		defer cancel()
		for resp := range wch {
			if err := resp.Err(); err != nil {
				s.log.Warn("watch ended", "prefix", prefix, "err", err)
				return
			}
			for _, ev := range resp.Events {
				e := Event{Key: s.rel(ev.Kv.Key), Rev: ev.Kv.ModRevision}
				if ev.Type == clientv3.EventTypeDelete {
					e.Deleted = true
				} else {
					e.Value = ev.Kv.Value
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				case <-s.done:
					return
				}
			}
		}
	}()
	return out
}
