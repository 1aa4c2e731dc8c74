package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/store"
)

// A verification may name fallbacks: methods to try in turn when it ends
// without the user getting the code. When the verification fails because
// its call or text failed (call_failed, no_ring, sms_failed), or the
// application reports that nothing came (HANGUP, or POST …/hangup, once the
// call or text is over), ringproof starts a new verification of the same
// number with the first fallback, and the rest as its own fallbacks. Once
// it exists, the old one's next_id names it; its previous_id names the old
// one. The whole chain shares one watch token, and a watch of a link stays
// open until the link names its next, and closes once it has.

// maxFallbacks bounds a chain.
const maxFallbacks = 3

// checkFallback validates a create request's fallbacks for a verification
// by method.
func checkFallback(method Method, names []string) ([]Method, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if !traitsOf(method).chains() {
		return nil, &api.InputError{Field: "fallback", Code: "not_applicable",
			Message: fmt.Sprintf("a %s verification waits for the user's call and has no fallback", method)}
	}
	if len(names) > maxFallbacks {
		return nil, &api.InputError{Field: "fallback", Code: "too_long", Message: fmt.Sprintf("fallback lists at most %d methods", maxFallbacks)}
	}
	var out []Method
	for _, n := range names {
		m := Method(n)
		if !traitsOf(m).link {
			return nil, &api.InputError{Field: "fallback", Code: "unsupported",
				Message: fmt.Sprintf("method %q cannot be a fallback; fallbacks: %s", n, strings.Join(methodsWhere(func(t traits) bool { return t.link }), ", "))}
		}
		out = append(out, m)
	}
	return out, nil
}

// fallbackDue reports whether r's chain should move on now: r has
// fallbacks, no next verification yet, was neither verified nor canceled,
// and either its
// call or text failed or the application said nothing came (and the call
// or text is over). A next verification that could not be started
// (fallback_failed) ends the chain.
func (r *record) fallbackDue() bool {
	if len(r.Fallback) == 0 || r.NextID != "" || r.Status == StatusVerified || r.Status == StatusCanceled {
		return false
	}
	for _, ev := range r.Events {
		if ev.Type == string(eventFallbackFailed) {
			return false
		}
	}
	failed := r.Status == StatusFailed && (r.Reason == ReasonCall || r.Reason == ReasonNoRing || r.Reason == ReasonSMS)
	return failed || (r.HangupAsked && r.callOver())
}

// nextID is the id of the verification that follows id in its chain. It
// is derived from id, so that every node that sees the chain due starts
// the same one, and the store (which refuses a second record under one id)
// lets only the first through.
func nextID(id string) string {
	sum := sha256.Sum256([]byte("ringproof next verification " + id))
	return "v" + hex.EncodeToString(sum[:16])
}

// goFallback starts the verification that follows prev in its chain, in
// the background, then names it in prev's next_id. Its failure is recorded
// on prev as a fallback_failed event. Calling it again for prev is
// harmless.
func (s *Service) goFallback(prev *record) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	req := CreateRequest{
		Number: prev.Number, Method: string(prev.Fallback[0]), CodeLength: prev.CodeLength,
		Platform: prev.Platform, Reference: prev.Reference, Locale: prev.Locale, Consent: prev.Consent,
	}
	id, next, rest, token, creator, service := prev.ID, nextID(prev.ID), slices.Clone(prev.Fallback[1:]), prev.WatchHash, prev.Creator, prev.Service
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 10*time.Second)
		defer cancel()
		rec, err := s.newRecord(req, service)
		if err == nil {
			// The chain shares one watch token, so that a web page
			// follows it from link to link.
			rec.ID, rec.PreviousID, rec.Fallback, rec.WatchToken, rec.WatchHash = next, id, rest, "", token
			rec.Creator = creator
			_, err = s.create(ctx, rec)
			if errors.Is(err, store.ErrConflict) {
				err = nil // another node started it
			} else if err == nil {
				s.log.Info("fell back", "id", id, "next", next, "method", req.Method)
			}
		}
		if err != nil {
			s.log.Warn("fallback verification not started", "id", id, "next", next, "err", err)
			s.recordEvent(id, CallEvent{Kind: eventFallbackFailed, Reason: fallbackProblem(err), At: time.Now()})
			return
		}
		if _, err := s.update(ctx, id, func(r *record) error {
			r.NextID = next
			return nil
		}); err != nil {
			s.log.Warn("fallback started but not linked", "id", id, "next", next, "err", err)
		}
	}()
}

// eventFallbackFailed is recorded on a verification whose next one in the
// chain could not be started.
const eventFallbackFailed CallEventKind = "fallback_failed"

// fallbackProblem says why a fallback was not started, in words that hold
// no number.
func fallbackProblem(err error) string {
	var (
		in *api.InputError
		rf api.Refused
		nl *NumberLimitError
	)
	switch {
	case errors.As(err, &nl):
		return "rate_limited"
	case errors.As(err, &in):
		return in.Code
	case errors.As(err, &rf):
		_, code, reason, _ := rf.Refusal()
		if reason == code {
			return code
		}
		return code + ":" + reason // destination_blocked:country
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	}
	return "store_error"
}
