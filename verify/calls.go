package verify

import (
	"context"
	"errors"
	"time"

	"github.com/ringproof/ringproof/store"
)

// The calls this node places (or answers) for verifications: each runs in
// the background under a context that Hangup, an erasure and Close
// cancel, and Close waits for them all.

// goCall runs call in the background as rec's call: Hangup and Close
// cancel its ctx, and Close waits for it to return.
func (s *Service) goCall(id string, call func(ctx context.Context)) error {
	ctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return errors.New("verify: shutting down")
	}
	s.calls[id] = cancel
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.endCall(id)
		call(ctx)
	}()
	return nil
}

// startCall places rec's flash call in the background.
func (s *Service) startCall(rec *record) error {
	id, callerID, number := rec.ID, rec.CallerID, rec.Number
	return s.goCall(id, func(ctx context.Context) {
		events := s.newEventWriter(rec)
		final := s.dialer.Flash(ctx, callerID, number, events.report)
		events.close()
		s.stats.add(&s.stats.s.Calls, string(final.Kind))
		s.log.Info("call ended", "id", id, "event", final.Kind, "sip_status", final.Status, "reason", final.Reason)
	})
}

// startAnsweredCall places rec's call in the background and, once it is
// answered, has t talk on it; the call is hung up when t is done.
func (s *Service) startAnsweredCall(rec *record, t talker) error {
	id, number, locale, method, code := rec.ID, rec.Number, rec.Locale, rec.Method, rec.Code
	return s.goCall(id, func(ctx context.Context) {
		conv, ev := s.dialer.Call(ctx, number, locale, func(ev CallEvent) { s.recordEvent(id, ev) })
		if conv == nil {
			s.stats.add(&s.stats.s.Answered, string(method)+" "+string(ev.Kind))
			s.log.Info("call ended", "id", id, "event", ev.Kind, "sip_status", ev.Status, "reason", ev.Reason)
			return
		}
		t.talk(ctx, s, id, code, conv)
		conv.Hangup()
		why := conv.Ended()
		s.stats.add(&s.stats.s.Answered, string(method)+" "+why)
		s.recordEvent(id, CallEvent{Kind: CallHungUp, Reason: why, At: time.Now(), Trunk: conv.Trunk()})
		s.log.Info("call ended", "id", id, "event", CallHungUp, "reason", why)
	})
}

// LiveCalls is how many calls this node is placing or holding now.
func (s *Service) LiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// endCall forgets a call that has ended.
func (s *Service) endCall(id string) {
	s.mu.Lock()
	cancel := s.calls[id]
	delete(s.calls, id)
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// hangupLocal hangs up id's call if this node is placing it.
func (s *Service) hangupLocal(id string) bool {
	s.mu.Lock()
	cancel := s.calls[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return cancel != nil
}

// recordEvent stores one call event on the verification.
func (s *Service) recordEvent(id string, ev CallEvent) { s.recordEvents(id, []CallEvent{ev}) }

// hangupErased forgets the records this node wrote last and hangs up its
// calls whose records are gone: called when an erasure was made somewhere
// in the cluster.
func (s *Service) hangupErased() {
	s.lastWrites.clear()
	s.mu.Lock()
	ids := make([]string, 0, len(s.calls))
	for id := range s.calls {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		_, _, err := s.store.Get(ctx, recordKey(id))
		cancel()
		if errors.Is(err, store.ErrNotFound) && s.hangupLocal(id) {
			s.log.Info("call hung up: its number was erased", "id", id)
		}
	}
}
