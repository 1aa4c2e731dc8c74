package verify

import (
	"context"
	"time"

	"github.com/ringproof/ringproof/media"
)

// MethodKeypadOut: the web page shows the code (from the create response);
// ringproof calls the number and the user types the code on the keypad.
const MethodKeypadOut Method = "keypad_out"

// keypadOut implements MethodKeypadOut.
type keypadOut struct{ generatedCode }

func (keypadOut) traits() traits { return traits{showsCode: true, delivers: byAnswer} }

func (keypadOut) prepare(ctx context.Context, s *Service, r *record) error {
	r.Code = newCode(r.CodeLength)
	return nil
}

func (k keypadOut) start(s *Service, r *record) error { return s.startAnsweredCall(r, k) }

// talk collects the code.
func (keypadOut) talk(ctx context.Context, s *Service, id, _ string, conv Conversation) {
	s.collectCode(ctx, id, conv)
}

// MethodKeypadIn: the web page shows the code and the dial_number; the
// user calls it and types the code on the keypad; the caller ID says which
// verification it is.
const MethodKeypadIn Method = "keypad_in"

// keypadIn implements MethodKeypadIn.
type keypadIn struct {
	generatedCode
	dialNumbered
}

func (keypadIn) traits() traits {
	return traits{showsCode: true, delivers: byAnswer, inbound: inboundAnswers}
}

func (keypadIn) prepare(ctx context.Context, s *Service, r *record) error {
	r.Code = newCode(r.CodeLength)
	return s.needDialNumbers(r)
}

func (keypadIn) start(*Service, *record) error { return nil }

// talk collects the code.
func (keypadIn) talk(ctx context.Context, s *Service, id, _ string, conv Conversation) {
	s.collectCode(ctx, id, conv)
}

// keyGap is how long ringproof waits for the next key.
const keyGap = 10 * time.Second

// collectCode asks for the code and checks what the user types, with the
// same attempt limit as the API, until it is verified, the attempts run
// out, or the user stops typing.
func (s *Service) collectCode(ctx context.Context, id string, conv Conversation) {
	prompt := []string{media.PromptEnterCode}
	silences := 0
	for {
		if err := conv.Say(ctx, prompt...); err != nil {
			return
		}
		r, err := s.load(ctx, id)
		if err != nil {
			return
		}
		keys, err := conv.ReadKeys(ctx, r.CodeLength, '#', keyGap)
		if err != nil {
			return
		}
		if keys == "" {
			if silences++; silences >= 2 {
				return
			}
			continue
		}
		s.recordEvent(id, CallEvent{Kind: "keys_entered", Reason: keySource, At: time.Now()})
		result, err := s.checkKeys(ctx, id, keys)
		if err != nil {
			return
		}
		switch result {
		case outcomeMatch:
			_ = conv.Say(ctx, media.PromptVerified)
			return
		case outcomeWrong:
			prompt = []string{media.PromptWrongCode, media.PromptEnterCode}
		default:
			_ = conv.Say(ctx, media.PromptWrongCode)
			return
		}
	}
}

// keySource describes the keys event; the digits themselves are never
// recorded.
const keySource = "dtmf"

// checkKeys checks keys typed on a call: like Check, but keys of the wrong
// length are a wrong code rather than bad input.
func (s *Service) checkKeys(ctx context.Context, id, keys string) (outcome, error) {
	var result outcome
	_, err := s.update(ctx, id, func(r *record) error {
		result = r.applyCheck(s.codeHash(id, keys), s.now())
		return nil
	})
	return result, err
}
