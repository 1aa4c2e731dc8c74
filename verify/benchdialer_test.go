package verify

import (
	"context"

	"github.com/ringproof/ringproof/dialer"
	"github.com/ringproof/ringproof/sip"
)

// The benchmarks place flash calls only; answered calls fail at once.

func (d *benchDialer) Call(ctx context.Context, number, locale string, report func(sip.Event)) (*dialer.Conversation, sip.Event) {
	return nil, sip.Event{Kind: sip.EventFailed}
}

func (d *benchDialer) SendText(ctx context.Context, number, body string) sip.Event {
	return sip.Event{Kind: sip.EventFailed}
}

func (d *benchDialer) Answer(ctx context.Context, offer []byte, locale string, talk func(context.Context, *dialer.Conversation)) sip.InboundDecision {
	return sip.InboundDecision{Status: 480}
}
