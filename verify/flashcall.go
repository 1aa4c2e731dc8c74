package verify

import (
	"context"
	"fmt"
)

// MethodFlashCall: ringproof calls from a pool caller ID and hangs up
// when it rings; the last digits of the caller ID are the code.
const MethodFlashCall Method = "flashcall"

// flashCall is the reverse caller-ID method: ringproof calls the number from
// a pool caller ID and hangs up as soon as it rings; the caller ID's last
// code_length digits are the code.
type flashCall struct{}

func (flashCall) traits() traits { return traits{link: true, delivers: byRing} }

// callerIDTries bounds how many caller IDs a new flash verification draws
// before it gives up: each one already leased to the same number costs a
// draw.
const callerIDTries = 8

func (flashCall) prepare(context.Context, *Service, *record) error { return nil }

// leases draws caller IDs at random from the pool: the record leases the
// first that its number does not hold already.
func (flashCall) leases(s *Service, r *record) func() (lease, error) {
	tries := 0
	return func() (lease, error) {
		if tries++; tries > callerIDTries {
			return lease{}, ErrNoCallerID
		}
		c, err := s.dialer.DrawCallerID(r.Number, r.NumberKey)
		if err != nil {
			return lease{}, fmt.Errorf("verify: %w", err)
		}
		r.CallerID = c.CallerID
		return lease{key: c.Key, val: []byte{'1'}, ttl: c.TTL}, nil
	}
}

func (flashCall) start(s *Service, r *record) error { return s.startCall(r) }

func (flashCall) code(r *record) string {
	if len(r.CallerID) < r.CodeLength {
		return ""
	}
	return r.CallerID[len(r.CallerID)-r.CodeLength:]
}
