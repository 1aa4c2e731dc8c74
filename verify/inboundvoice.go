package verify

import (
	"context"
)

// MethodInboundVoice: the user calls the dial_number; ringproof answers
// only if the caller ID matches a pending verification, and speaks its
// code, which the user types into the application.
const MethodInboundVoice Method = "inbound_voice"

// MethodKeypadIn: the web page shows the code and the dial_number; the
// user calls it and types the code on the keypad; the caller ID says which
// verification it is.
const MethodKeypadIn Method = "keypad_in"

// inboundVoice implements MethodInboundVoice.
type inboundVoice struct {
	generatedCode
	dialNumbered
}

func (inboundVoice) prepare(ctx context.Context, s *Service, r *record) error {
	r.Code = newCode(r.CodeLength)
	return s.needDialNumbers(r)
}

func (inboundVoice) start(*Service, *record) error { return nil }

// keypadIn implements MethodKeypadIn.
type keypadIn struct {
	generatedCode
	dialNumbered
}

func (keypadIn) prepare(ctx context.Context, s *Service, r *record) error {
	r.Code = newCode(r.CodeLength)
	return s.needDialNumbers(r)
}

func (keypadIn) start(*Service, *record) error { return nil }

// answersInbound reports whether the method answers the user's call.
func answersInbound(m Method) bool { return m == MethodInboundVoice || m == MethodKeypadIn }
