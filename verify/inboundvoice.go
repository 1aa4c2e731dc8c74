package verify

import (
	"context"
)

// MethodInboundVoice: the user calls the dial_number; ringproof answers
// only if the caller ID matches a pending verification, and speaks its
// code, which the user types into the application.
const MethodInboundVoice Method = "inbound_voice"

// inboundVoice implements MethodInboundVoice.
type inboundVoice struct {
	generatedCode
	dialNumbered
}

func (inboundVoice) traits() traits {
	return traits{sealsCode: true, delivers: byAnswer, inbound: inboundAnswers}
}

func (inboundVoice) prepare(ctx context.Context, s *Service, r *record) error {
	r.Code = newCode(r.CodeLength)
	return s.needDialNumbers(r)
}

func (inboundVoice) start(*Service, *record) error { return nil }

// talk speaks the code.
func (inboundVoice) talk(ctx context.Context, s *Service, id, code string, conv Conversation) {
	s.speakCode(ctx, id, conv, code)
}
