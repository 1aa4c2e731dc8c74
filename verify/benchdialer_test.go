package verify

import (
	"context"
)

// The benchmarks place flash calls only; answered calls fail at once.

func (d *benchDialer) Call(ctx context.Context, number, locale string, report func(CallEvent)) (Conversation, CallEvent) {
	return nil, CallEvent{Kind: CallFailed}
}

func (d *benchDialer) SendText(ctx context.Context, number, body string) CallEvent {
	return CallEvent{Kind: CallFailed}
}
