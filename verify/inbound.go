package verify

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ringproof/ringproof/media"
	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/store"
)

// The user's calls to dial numbers: an inbound call from a number with a
// pending verification waiting on the number dialled verifies it (a
// method with inboundVerifies), or is answered for its method to talk on
// (inboundAnswers). Callers that match nothing are rejected, and nothing
// is stored about them.

// inboundKey is where a pending inbound verification is found from the
// number dialled and the caller's number key.
func inboundKey(dialNumber, numberKey string) string {
	return inboundPrefix + strings.TrimPrefix(dialNumber, "+") + "/" + numberKey
}

// inboundPrefix is where inboundKey's keys live.
const inboundPrefix = "inbound/"

// HandleInbound decides a user's call to a dial number. A caller ID and
// dialled number that match a pending verification whose method verifies
// by the call (inbound_missed) verify it, and the call is rejected
// unanswered with the configured final response, so the caller pays
// nothing; one whose method talks on the call (inbound_voice, keypad_in)
// is answered for it. Any other call is rejected, or answered with an
// announcement (inbound.unknown_caller: announce). Nothing is stored about
// callers that match nothing. The caller hears ringing meanwhile, so it
// returns promptly.
func (s *Service) HandleInbound(ctx context.Context, in InboundCall) InboundAnswer {
	dec := InboundAnswer{Status: s.cfg.InboundStatus, RingFor: s.cfg.InboundRing}
	outcome, answered := s.matchInbound(ctx, in)
	s.stats.add(&s.stats.s.Inbound, outcome)
	s.log.Info("inbound call", "trunk", in.Trunk, "caller", privacy.Mask(in.CallerID), "outcome", outcome)
	switch {
	case answered != nil:
		return s.answerInbound(in, answered)
	case outcome != "verified" && s.cfg.UnknownCaller == "announce":
		return InboundAnswer{Talk: func(ctx context.Context, conv Conversation) {
			_ = conv.Say(ctx, media.PromptUnidentified)
		}}
	}
	return dec
}

// matchInbound verifies the inbound_missed verification an inbound call
// proves, if any, and says what happened in one word. A pending
// verification of a method that answers the call is returned instead.
func (s *Service) matchInbound(ctx context.Context, in InboundCall) (string, *record) {
	if in.Anonymous || in.CallerID == "" {
		return "anonymous", nil
	}
	if in.Untrusted != "" {
		// The trunk's require_verstat or min_attestation: a caller ID
		// that may be spoofed proves nothing.
		return "untrusted_" + in.Untrusted, nil
	}
	region := s.cfg.TrunkRegions[in.Trunk]
	dialled := s.dial.match(in.Dialed, region)
	if dialled == "" {
		return "not_a_dial_number", nil
	}
	caller, err := number.NormaliseCallerID(in.CallerID, region)
	if err != nil {
		return "invalid_caller_id", nil
	}
	key := inboundKey(dialled, s.index(caller))
	val, _, err := s.store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "unknown_caller", nil
	}
	if err != nil {
		s.log.Warn("inbound call: store", "err", err)
		return "error", nil
	}
	id := string(val)
	r, err := s.load(ctx, id)
	if err != nil {
		s.log.Warn("inbound call: load", "id", id, "err", err)
		return "error", nil
	}
	t := traitsOf(r.Method)
	if r.DialNumber != dialled || r.Number != caller || r.statusAt(s.now()).Final() || t.inbound == inboundNone {
		return "unknown_caller", nil
	}
	if t.inbound == inboundAnswers {
		return "answered", r
	}
	// The caller ID proves the number: verified, and the inbound key
	// deleted in the same transaction, starting from the record just read.
	matched := false
	_, err = s.updateWith(ctx, id, r.stored, r.rev, func(r *record) ([]store.Op, error) {
		now := s.now()
		if traitsOf(r.Method).inbound != inboundVerifies || r.DialNumber != dialled || r.Number != caller || r.statusAt(now).Final() {
			return nil, nil
		}
		r.Events = append(r.Events, Event{Type: "inbound_call", Reason: "caller ID matched",
			Verstat: in.Verstat, Attestation: in.Attestation, At: now.UTC(), Trunk: in.Trunk})
		r.Status, r.Reason, r.UpdatedAt, r.VerifiedAt = StatusVerified, "", now.UTC(), now.UTC()
		matched = true
		return []store.Op{store.OpDelete(key)}, nil
	})
	if err != nil {
		s.log.Warn("inbound call: update", "id", id, "err", err)
		return "error", nil
	}
	if !matched {
		return "unknown_caller", nil
	}
	return "verified", nil
}

// answerInbound answers the user's call for r, and has r's method talk on
// it: inbound_voice speaks the code, keypad_in collects it.
func (s *Service) answerInbound(in InboundCall, r *record) InboundAnswer {
	id, code, method, trunk := r.ID, r.Code, r.Method, in.Trunk
	return InboundAnswer{Locale: r.Locale, Talk: func(ctx context.Context, conv Conversation) {
		s.recordEvent(id, CallEvent{Kind: CallAnswered, Reason: "inbound call", At: time.Now(), Trunk: trunk,
			Verstat: in.Verstat, Attestation: in.Attestation})
		if t, ok := methods[method].(talker); ok {
			t.talk(ctx, s, id, code, conv)
		}
		conv.Hangup()
		s.stats.add(&s.stats.s.Answered, string(method)+" "+conv.Ended())
		s.recordEvent(id, CallEvent{Kind: CallHungUp, Reason: "call ended", At: time.Now(), Trunk: trunk})
	}}
}
