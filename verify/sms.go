package verify

import (
	"context"
	"strings"
)

// MethodSMS: ringproof texts the code to the number, as a SIP MESSAGE to
// the trunk that the carrier delivers as an SMS; the user types it into the
// application. The code is never returned by the API.
const MethodSMS Method = "sms"

// sms implements MethodSMS.
type sms struct{ generatedCode }

func (sms) traits() traits { return traits{link: true, delivers: byText} }

func (sms) prepare(ctx context.Context, s *Service, r *record) error {
	r.Code = newCode(r.CodeLength)
	return nil
}

func (sms) start(s *Service, r *record) error {
	id, number := r.ID, r.Number
	body := strings.Replace(s.settings(r.Service).SMSText, "{code}", r.Code, 1)
	return s.goCall(id, func(ctx context.Context) {
		ev := s.dialer.SendText(ctx, number, body)
		s.recordEvent(id, ev)
		s.stats.add(&s.stats.s.Texts, string(ev.Kind))
		// The body holds the code: it is never logged.
		s.log.Info("text ended", "id", id, "event", ev.Kind, "sip_status", ev.Status, "reason", ev.Reason)
	})
}

// smsText is the message when Config.SMSText is empty.
const smsText = "Your verification code is {code}"

// textEnded applies the end of an sms verification's text to r: a text
// the carrier took leaves the code to be checked; one it did not take
// fails the verification.
func (r *record) textEnded(ev CallEvent) {
	switch ev.Kind {
	case CallFailed, CallTimeout:
		r.Status, r.Reason = StatusFailed, ReasonSMS
		if ev.noRoute() {
			r.Reason = ReasonNoRoute
		}
	}
}
