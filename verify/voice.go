package verify

import (
	"context"
	"time"

	"github.com/ringproof/ringproof/media"
)

// MethodVoice: ringproof calls the number, waits for the answer and speaks
// the code (twice by default); the user types it into the application.
const MethodVoice Method = "voice"

// voice implements MethodVoice.
type voice struct{ generatedCode }

func (voice) traits() traits { return traits{link: true, delivers: byAnswer} }

func (voice) prepare(ctx context.Context, s *Service, r *record) error {
	r.Code = newCode(r.CodeLength)
	return nil
}

func (v voice) start(s *Service, r *record) error { return s.startAnsweredCall(r, v) }

// talk speaks the code.
func (voice) talk(ctx context.Context, s *Service, id, code string, conv Conversation) {
	s.speakCode(ctx, id, conv, code)
}

// speakCode reads code out, repeated as configured, and records it.
func (s *Service) speakCode(ctx context.Context, id string, conv Conversation, code string) {
	names := append([]string{media.PromptCodeIs}, digitsOf(code)...)
	for range max(s.cfg.VoiceRepeat, 1) - 1 {
		names = append(append(names, media.PromptAgain), digitsOf(code)...)
	}
	if err := conv.Say(ctx, names...); err != nil {
		s.recordEvent(id, CallEvent{Kind: "code_not_spoken", Reason: err.Error(), At: time.Now()})
		return
	}
	s.recordEvent(id, CallEvent{Kind: "code_spoken", At: time.Now()})
}
