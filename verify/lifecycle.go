package verify

import (
	"time"
)

// applyCallEvent moves r along its lifecycle for one call event and records
// the event, as its method delivers the code (traits.delivers). A final
// status never changes: a call that ends after the code was verified
// leaves the verification verified.
func (r *record) applyCallEvent(ev CallEvent) {
	r.Events = append(r.Events, Event{Type: string(ev.Kind), Status: ev.Status, Reason: ev.Reason, At: ev.At.UTC(), Trunk: ev.Trunk,
		Verstat: ev.Verstat, Attestation: ev.Attestation})
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
		r.Status = StatusRang
	case CallCancelled:
		r.Status = StatusRang
		if r.HangupAsked {
			r.Reason = ReasonHangup
		}
	case CallFailed:
		r.Status, r.Reason = StatusFailed, ReasonCall
		if ev.noRoute() {
			r.Reason = ReasonNoRoute
		}
	case CallTimeout:
		if r.HangupAsked {
			r.Status, r.Reason = StatusRang, ReasonHangup
			return
		}
		r.Status, r.Reason = StatusFailed, ReasonNoRing
	}
}

// The events an application's request leaves on a verification.
const (
	eventHangupRequested CallEventKind = "hangup_requested"
	eventCancelRequested CallEventKind = "cancel_requested"
)

// applyHangup records at now that the application asked to hang up: that
// no call (or text) came. It leaves a hangup_requested event, the reason
// hangup_requested and HangupAsked, for the node placing the call to act
// on and for a chain of fallbacks to move on once the call is over
// (fallbackDue), whether or not the call is over yet. The status stays
// checkable. It changes nothing on a final verification, nor on one
// already asked, and reports whether it changed r.
func (r *record) applyHangup(now time.Time) bool {
	if r.statusAt(now).Final() || r.HangupAsked {
		return false
	}
	r.Events = append(r.Events, Event{Type: string(eventHangupRequested), At: now.UTC()})
	r.HangupAsked, r.Reason, r.UpdatedAt = true, ReasonHangup, now.UTC()
	return true
}

// applyCancel makes r final canceled at now, with HangupAsked for the node
// placing its call to hang up, and a cancel_requested event. A verification
// canceled already is left as it is (cancel is idempotent); one final
// otherwise is refused with a *FinalError.
func (r *record) applyCancel(now time.Time) error {
	switch st := r.statusAt(now); {
	case st == StatusCanceled:
		return nil
	case st.Final():
		return &FinalError{Status: st}
	}
	r.Events = append(r.Events, Event{Type: string(eventCancelRequested), At: now.UTC()})
	r.Status, r.Reason, r.HangupAsked, r.UpdatedAt = StatusCanceled, ReasonCanceled, true, now.UTC()
	return nil
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

// checkValid reports whether a check of code (its keyed hash given) that
// had outcome o proved the number: it verified r now, or r was verified
// already and given is its code.
func (r *record) checkValid(given string, o outcome) bool {
	switch o {
	case outcomeMatch:
		return true
	case outcomeFinal:
		return r.Status == StatusVerified && codeMatches(r.CodeHash, given)
	}
	return false
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
