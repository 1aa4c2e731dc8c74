package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/ringproof/ringproof/dialer"
)

// flashCall is the reverse caller-ID method: ringproof calls the number from
// a pool caller ID and hangs up as soon as it rings; the caller ID's last
// code_length digits are the code.
type flashCall struct{}

func (flashCall) prepare(ctx context.Context, s *Service, r *record) error {
	id, err := s.dialer.LeaseCallerID(ctx, r.NumberKey)
	if errors.Is(err, dialer.ErrPoolExhausted) {
		return ErrNoCallerID
	}
	if err != nil {
		return fmt.Errorf("verify: caller ID: %w", err)
	}
	r.CallerID = id
	return nil
}

func (flashCall) start(s *Service, r *record) error { return s.startCall(r) }

func (flashCall) code(r *record) string {
	if len(r.CallerID) < r.CodeLength {
		return ""
	}
	return r.CallerID[len(r.CallerID)-r.CodeLength:]
}
