package dialer

import (
	"context"
	"time"

	"github.com/ringproof/ringproof/sip"
)

// Dial fails at once: the benchmarks place flash calls only.
func (instantCaller) Dial(ctx context.Context, c sip.Call, o sip.DialOptions, report func(sip.Event)) (*sip.Dialog, sip.Event) {
	return nil, sip.Event{Kind: sip.EventFailed}
}

// SendText fails at once: the benchmarks place flash calls only.
func (instantCaller) SendText(ctx context.Context, m sip.Text, timeout time.Duration) sip.Event {
	return sip.Event{Kind: sip.EventFailed}
}
