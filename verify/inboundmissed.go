package verify

import "context"

// MethodInboundMissed is the missed-call method: the user calls the
// dial_number from the phone being verified and hangs up (or is rejected
// unanswered); the caller ID proves the number. CheckMobi calls it "cli".
const MethodInboundMissed Method = "inbound_missed"

// inboundMissed implements MethodInboundMissed.
type inboundMissed struct{ dialNumbered }

func (inboundMissed) traits() traits {
	return traits{delivers: byCallerID, inbound: inboundVerifies}
}

func (inboundMissed) prepare(ctx context.Context, s *Service, r *record) error {
	r.CodeLength = 0
	return s.needDialNumbers(r)
}

func (inboundMissed) start(*Service, *record) error { return nil }

func (inboundMissed) code(*record) string { return "" }
