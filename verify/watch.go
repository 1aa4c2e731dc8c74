package verify

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"slices"
	"time"
)

// Watch streams the verification id as it changes: its current state
// first, then every change of status or events, from whichever node makes
// it (the store's watch is cluster-wide). The channel closes after a final
// status (expiry included, sent when expires_at passes) and, in a chain of
// fallbacks, once the record names its next verification, when the record
// is removed, or when ctx ends. token, if not empty, must equal the
// verification's watch token (a web page's credential); an empty token
// means the caller is already authenticated.
func (s *Service) Watch(ctx context.Context, id, token string) (<-chan *Verification, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	ctx, cancel := context.WithCancel(ctx)
	changes := s.store.Watch(ctx, recordKey(id))
	r, err := s.load(ctx, id)
	if err != nil {
		cancel()
		return nil, err
	}
	if token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(r.WatchToken)) != 1 {
		cancel()
		return nil, ErrNotFound
	}
	out := make(chan *Verification, 4)
	go func() {
		defer cancel()
		defer close(out)
		last := r.view(s.now())
		if !send(ctx, out, last) || (last.Status.Final() && !r.fallbackDue()) {
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
				var nr record
				if err := json.Unmarshal(ev.Value, &nr); err != nil {
					return
				}
				// The personal data is sealed once, at creation.
				nr.Number, nr.Reference, nr.Consent = r.Number, r.Reference, r.Consent
				v := nr.view(s.now())
				if v.Status == last.Status && slices.Equal(v.Events, last.Events) && v.NextID == last.NextID {
					continue
				}
				last = v
				// A final link of a chain is followed until it names
				// the next one (fallback.go).
				if !send(ctx, out, v) || (v.Status.Final() && !nr.fallbackDue()) {
					return
				}
			}
		}
	}()
	return out, nil
}

func send(ctx context.Context, out chan<- *Verification, v *Verification) bool {
	select {
	case out <- v:
		return true
	case <-ctx.Done():
		return false
	}
}
