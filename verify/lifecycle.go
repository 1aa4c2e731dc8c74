package verify

import (
	"time"
)

// applyCallEvent moves r along its lifecycle for one call event and records
// the event, as its method delivers the code (traits.delivers). A final
// status never changes: a call that ends after the code was verified
// leaves the verification verified.
func (r *record) applyCallEvent(ev CallEvent) {
	r.Events = append(r.Events, Event{Type: string(ev.Kind), Status: ev.Status, Reason: ev.Reason, At: ev.At.UTC(), Trunk: ev.Trunk})
	r.UpdatedAt = ev.At.UTC()
	if r.statusAt(ev.At).Final() {
		return
	}
	delivers := traitsOf(r.Method).delivers
	if delivers == byText {
		r.textEnded(ev)
		return
	}
	switch ev.Kind {
	case CallRinging:
		if r.Status == StatusPending {
			r.Status = StatusRinging
		}
	case CallAnswered:
		if delivers != byRing { // a flash call's answer only raced the CANCEL
			r.Status = StatusAnswered
		}
	case CallHungUp:
		if delivers != byRing {
			// An answered call that ended: the code stays checkable.
			return
		}
		r.Status = StatusCancelled
	case CallCancelled:
		r.Status = StatusCancelled
		if r.HangupAsked {
			r.Reason = ReasonCancelled
		}
	case CallFailed:
		r.Status, r.Reason = StatusFailed, ReasonCall
		if ev.noRoute() {
			r.Reason = ReasonNoRoute
		}
	case CallTimeout:
		if r.HangupAsked {
			r.Status, r.Reason = StatusCancelled, ReasonCancelled
			return
		}
		r.Status, r.Reason = StatusFailed, ReasonNoRing
	}
}

// outcome is what a check did.
type outcome int

const (
	outcomeFinal   outcome = iota // already final (or expired now): nothing changed but maybe expiry
	outcomeMatch                  // verified now
	outcomeWrong                  // a wrong code, attempts left
	outcomeLockout                // a wrong code, no attempts left: failed
)

// applyCheck records one check against r at now of a code whose keyed hash
// (codeHash) is given.
func (r *record) applyCheck(given string, now time.Time) outcome {
	if st := r.statusAt(now); st.Final() {
		if st == StatusExpired && r.Status != StatusExpired {
			r.Status, r.Reason, r.UpdatedAt = StatusExpired, ReasonExpired, now.UTC()
		}
		return outcomeFinal
	}
	r.UpdatedAt = now.UTC()
	if codeMatches(r.CodeHash, given) {
		r.Status, r.Reason, r.VerifiedAt = StatusVerified, "", now.UTC()
		return outcomeMatch
	}
	r.Attempts++
	if r.Attempts >= r.MaxAttempts {
		r.Status, r.Reason = StatusFailed, ReasonAttempts
		return outcomeLockout
	}
	return outcomeWrong
}

// callOver reports whether r's call has reached a final event.
func (r *record) callOver() bool {
	for _, ev := range r.Events {
		if CallEventKind(ev.Type).Final() {
			return true
		}
	}
	return false
}
