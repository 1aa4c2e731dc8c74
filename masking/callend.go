package masking

import (
	"crypto/rand"
	"time"
)

// Outcomes of a masked call, as CallEnd tells them.
const (
	// CallCompleted: the other party answered; the call was bridged
	// until one side hung up.
	CallCompleted = "completed"
	// CallNotAnswered: the other party did not answer (or could not be
	// reached).
	CallNotAnswered = "not_answered"
)

// CallEnd is a masked call that is over, as the masking.call_ended
// webhook shows it: never either party's number.
type CallEnd struct {
	// CallID names the call, for the event's id.
	CallID    string `json:"call_id"`
	SessionID string `json:"session_id"`
	// Outcome is CallCompleted or CallNotAnswered.
	Outcome string `json:"outcome"`
	// SIPStatus is the other side's final response to a call not
	// answered, if it gave one.
	SIPStatus  int        `json:"sip_status,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	EndedAt    time.Time  `json:"ended_at"`
	// DurationS is how long the parties talked, in seconds.
	DurationS float64 `json:"duration_s"`
}

// callEnded tells Config.CallEnded of e, if set.
func (s *Service) callEnded(e CallEnd) {
	if s.cfg.CallEnded == nil {
		return
	}
	e.CallID = "call_" + rand.Text()
	e.StartedAt, e.EndedAt = e.StartedAt.UTC(), e.EndedAt.UTC()
	if e.AnsweredAt != nil {
		a := e.AnsweredAt.UTC()
		e.AnsweredAt = &a
	}
	s.cfg.CallEnded(e)
}
