package dialer

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/ringproof/ringproof/media"
	"github.com/ringproof/ringproof/sip"
)

// Why a conversation ended, besides sip.EndRemoteBye and sip.EndLocal.
const (
	EndNoMedia     = "no_media"     // no RTP from the peer for too long
	EndMaxDuration = "max_duration" // the call hit media.max_call_s
)

// MediaConfig is what answered calls need.
type MediaConfig struct {
	// IP is the address RTP sockets bind to; it may be unspecified.
	IP netip.Addr
	// ExternalIP is the address offered in SDP; the zero Addr means IP.
	ExternalIP netip.Addr
	Ports      media.PortRange
	NoRTP      time.Duration
	MaxDur     time.Duration
	// Prompts are the recordings to speak; Locale the default language.
	Prompts *media.Prompts
	Locale  string
}

// offered is the address SDP names for session s: the external IP, else
// the one s is bound to, with s's port.
func (mc *MediaConfig) offered(s *media.Session) netip.AddrPort {
	if mc.ExternalIP.IsValid() {
		return netip.AddrPortFrom(mc.ExternalIP, s.LocalAddr().Port())
	}
	return s.LocalAddr()
}

// Conversation is an answered call with its audio: it speaks prompts and
// hears keys, from RFC 4733 events, in-band tones and SIP INFO alike.
type Conversation struct {
	dialog  *sip.Dialog
	session *media.Session
	codec   media.Codec
	prompts *media.Prompts
	locale  string
	keys    chan media.Digit
	done    chan struct{}
	why     string
	trunk   string // the trunk the call went through
}

// newConversation starts the audio of an answered dialog and merges its key
// sources. The conversation ends when either side hangs up, the media
// stops, or maxDur passes.
func newConversation(ctx context.Context, d *sip.Dialog, s *media.Session, neg media.Negotiated, mc MediaConfig, locale string) (*Conversation, error) {
	if err := s.Start(neg, media.WithNoMediaTimeout(mc.NoRTP)); err != nil {
		return nil, err
	}
	if locale == "" {
		locale = mc.Locale
	}
	c := &Conversation{
		dialog: d, session: s, codec: neg.Codec, prompts: mc.Prompts,
		locale: locale, keys: make(chan media.Digit, 32), done: make(chan struct{}),
	}
	go c.run(mc.MaxDur)
	return c, nil
}

// run merges keys and watches for the end of the call.
func (c *Conversation) run(maxDur time.Duration) {
	defer close(c.done)
	defer close(c.keys)
	max := time.NewTimer(maxDur)
	defer max.Stop()
	rtpKeys := c.session.DTMF()
	for {
		select {
		case k, ok := <-rtpKeys:
			if !ok {
				rtpKeys = nil
				continue
			}
			c.push(k)
		case info := <-c.dialog.Infos():
			if k, err := media.ParseDTMFInfo(info.ContentType, info.Body); err == nil {
				c.push(k)
			}
		case <-c.dialog.Done():
			c.why = c.dialog.Ended()
			c.session.Close()
			return
		case <-c.session.Done():
			c.why = EndNoMedia
			if errors.Is(c.session.Err(), media.ErrClosed) {
				c.why = sip.EndLocal
			}
			c.hangup()
			return
		case <-max.C:
			c.why = EndMaxDuration
			c.session.Close()
			c.hangup()
			return
		}
	}
}

func (c *Conversation) push(k media.Digit) {
	select {
	case c.keys <- k:
	default:
	}
}

func (c *Conversation) hangup() {
	ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
	defer cancel()
	_ = c.dialog.Hangup(ctx)
}

// Say speaks the named prompts ("code_is", "1", "2"...) in the
// conversation's language, and returns once they are spoken, or the call or
// ctx ends.
func (c *Conversation) Say(ctx context.Context, names ...string) error {
	audio, err := c.prompts.Sequence(c.locale, c.codec, names...)
	if err != nil {
		return err
	}
	return c.session.Play(ctx, audio)
}

// ReadKeys collects keys until term is pressed (not included), max keys
// have come, or no key comes for gap. A term key before any other is
// skipped: it ends the previous entry, typed ahead ("1234#" read as four
// keys leaves the '#'). It fails if the call ends first.
func (c *Conversation) ReadKeys(ctx context.Context, max int, term media.Digit, gap time.Duration) (string, error) {
	var b strings.Builder
	t := time.NewTimer(gap)
	defer t.Stop()
	for b.Len() < max {
		select {
		case k, ok := <-c.keys:
			if !ok {
				return b.String(), errors.New("call ended")
			}
			if k == term {
				if b.Len() == 0 {
					continue
				}
				return b.String(), nil
			}
			b.WriteByte(byte(k))
			t.Reset(gap)
		case <-t.C:
			return b.String(), nil
		case <-ctx.Done():
			return b.String(), ctx.Err()
		}
	}
	return b.String(), nil
}

// Hangup ends the call (BYE) and its audio.
func (c *Conversation) Hangup() {
	c.session.Close()
	c.hangup()
	<-c.done
}

// Trunk names the trunk the call went through (empty for a call taken in).
func (c *Conversation) Trunk() string { return c.trunk }

// Done is closed when the call is over.
func (c *Conversation) Done() <-chan struct{} { return c.done }

// Ended says why the call ended (sip.EndRemoteBye, sip.EndLocal, EndNoMedia,
// EndMaxDuration); only meaningful after Done.
func (c *Conversation) Ended() string {
	<-c.done
	return c.why
}

// Call places an answered call to number (voice OTP, keypad OTP) from a
// caller ID of its route's pool, over the route's trunks within their cps
// caps, moving on from a trunk as Flash does. Answered, it returns the
// conversation and an EventAnswered; otherwise nil and the final event.
// Cancelling ctx before the answer hangs up.
func (d *Dialer) Call(ctx context.Context, number, locale string, report func(sip.Event)) (*Conversation, sip.Event) {
	if d.media == nil {
		return nil, failed(report, "media is not configured")
	}
	rt := d.routes.lookup(number)
	from, err := rt.pool.Pick()
	if err != nil {
		return nil, failed(report, err.Error())
	}
	s, err := media.Listen(ctx, d.media.IP, d.media.Ports)
	if err != nil {
		return nil, failed(report, err.Error())
	}
	var (
		dlg *sip.Dialog
		key *media.Crypto // the SRTP key offered to the trunk that answered
	)
	ev := d.over(ctx, rt, d.answerTimeout, report, func(ctx context.Context, t *trunk, timeout, noResponse time.Duration, report func(sip.Event)) sip.Event {
		offer, k, err := offerFor(t, d.media.offered(s))
		if err != nil {
			return failed(report, err.Error())
		}
		var ev sip.Event
		dlg, ev = d.caller.Dial(ctx, sip.Call{Trunk: t.Trunk, From: from, To: number, SDP: offer}, sip.DialOptions{Timeout: timeout, NoResponse: noResponse}, report)
		key = k
		return ev
	})
	if dlg == nil {
		s.Close()
		return nil, ev
	}
	neg, err := media.ParseAnswer(dlg.RemoteSDP, key)
	if err != nil {
		// A trunk with srtp: sdes whose answer is clear RTP fails here:
		// the call never falls back to clear audio.
		s.Close()
		hangupDialog(dlg)
		ev := sip.Event{Kind: sip.EventFailed, Reason: "answer SDP: " + err.Error(), At: time.Now(), Trunk: ev.Trunk}
		if report != nil {
			report(ev)
		}
		return nil, ev
	}
	conv, err := newConversation(ctx, dlg, s, neg, *d.media, locale)
	if err != nil {
		s.Close()
		hangupDialog(dlg)
		return nil, failed(report, err.Error())
	}
	conv.trunk = ev.Trunk
	return conv, ev
}

// Answer prepares to answer an inbound call whose SDP offer is offer:
// the returned decision answers it and runs talk on the conversation. A
// peer with no common codec gets 488 instead.
func (d *Dialer) Answer(ctx context.Context, offer []byte, locale string, talk func(context.Context, *Conversation)) sip.InboundDecision {
	if d.media == nil {
		return sip.InboundDecision{Status: 480}
	}
	s, err := media.Listen(ctx, d.media.IP, d.media.Ports)
	if err != nil {
		d.log.Warn("answer: no RTP port", "err", err)
		return sip.InboundDecision{Status: 503}
	}
	answer, neg, err := media.Answer(offer, d.media.offered(s))
	if err != nil {
		s.Close()
		if errors.Is(err, media.ErrNoCommonCodec) {
			return sip.InboundDecision{Status: 488}
		}
		return sip.InboundDecision{Status: 400}
	}
	mc := *d.media
	return sip.InboundDecision{
		AnswerSDP: answer,
		Answer: func(ctx context.Context, dlg *sip.Dialog) {
			conv, err := newConversation(ctx, dlg, s, neg, mc, locale)
			if err != nil {
				s.Close()
				return
			}
			talk(ctx, conv)
			conv.Hangup()
		},
	}
}

func hangupDialog(d *sip.Dialog) {
	ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
	defer cancel()
	_ = d.Hangup(ctx)
}

func failed(report func(sip.Event), reason string) sip.Event {
	ev := sip.Event{Kind: sip.EventFailed, Reason: reason, At: time.Now()}
	if report != nil {
		report(ev)
	}
	return ev
}
