package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ringproof/ringproof/store"
)

// Watch streams the verification id as it changes: its current state
// first, then every change of status or events, from whichever node makes
// it (the store's watch is cluster-wide). The channel closes after the
// state that names the next verification of a chain of fallbacks (next_id),
// after a final status unless the chain is about to move on from it
// (expiry included, sent when expires_at passes), when the record is
// removed, or when ctx ends. token, if not empty, must equal the
// verification's watch token (a web page's credential); an empty token
// means the caller is already authenticated.
func (s *Service) Watch(ctx context.Context, id, token string) (<-chan *Verification, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	ctx, cancel := context.WithCancel(ctx)
	// One watch of the node's serves every stream (store.Broadcast): the
	// number of web pages following verifications never reaches etcd.
	changes, err := s.store.Broadcast(recordKey("")).Subscribe(ctx, recordKey(id))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("verify: watch %s: %w", id, err)
	}
	r, rev, err := s.loadAt(ctx, id)
	if err != nil {
		cancel()
		return nil, err
	}
	if token != "" && !r.watchTokenMatches(token) {
		cancel()
		return nil, ErrNotFound
	}
	out := make(chan *Verification, 4)
	go func() {
		defer cancel()
		defer close(out)
		last := r.view(s.now())
		if !send(ctx, out, last) || last.NextID != "" || (last.Status.Final() && !r.fallbackDue()) {
			return
		}
		expiry := time.NewTimer(time.Until(r.ExpiresAt))
		defer expiry.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-expiry.C:
				v := *last
				v.Status, v.Reason = StatusExpired, ReasonExpired
				send(ctx, out, &v)
				return
			case ev, ok := <-changes:
				if !ok || ev.Deleted {
					return
				}
				if ev.Rev <= rev {
					continue // already in the state read
				}
				var nr record
				if err := json.Unmarshal(ev.Value, &nr); err != nil {
					return
				}
				// The personal data is sealed once, at creation.
				nr.copyPersonal(r)
				v := nr.view(s.now())
				if v.Status == last.Status && slices.Equal(v.Events, last.Events) && v.NextID == last.NextID {
					continue
				}
				last = v
				// A link of a chain is followed until it names the
				// next one (fallback.go), and no further: the next
				// one has a stream of its own.
				if !send(ctx, out, v) || v.NextID != "" || (v.Status.Final() && !nr.fallbackDue()) {
					return
				}
			}
		}
	}()
	return out, nil
}

// loadAt is load, also returning the store revision of the record read.
func (s *Service) loadAt(ctx context.Context, id string) (*record, int64, error) {
	val, rev, err := s.store.Get(ctx, recordKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("verify: load %s: %w", id, err)
	}
	r, err := s.decode(ctx, val)
	if err == nil && !visible(ctx, r) {
		return nil, 0, ErrNotFound
	}
	return r, rev, err
}

func send(ctx context.Context, out chan<- *Verification, v *Verification) bool {
	select {
	case out <- v:
		return true
	case <-ctx.Done():
		return false
	}
}
