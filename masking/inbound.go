package masking

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/sip"
	"github.com/ringproof/ringproof/store"
)

// Handle decides an inbound call to a proxy number and reports whether
// the call was one (ok false: not a proxy number, the caller's to decide).
// A caller with a session on the proxy is bridged to the other party, with
// the proxy as caller ID: the caller hears ringing until the other party
// answers, then the two talk, and either hanging up ends both legs. If the
// other party does not answer, the caller gets their final response. A
// caller with no session there gets Config.Stranger's decision (404 by
// default); nothing is stored about it.
func (s *Service) Handle(ctx context.Context, in *sip.Inbound) (dec sip.InboundDecision, ok bool) {
	proxy, caller, unread, owns := s.parties(in)
	if !owns {
		return sip.InboundDecision{}, false
	}
	stranger := func() sip.InboundDecision {
		if s.cfg.Stranger != nil {
			return s.cfg.Stranger(ctx, in)
		}
		return sip.InboundDecision{Status: 404}
	}
	if caller == "" {
		s.stats.call(unread)
		s.log.Info("masked call", "proxy", proxy, "outcome", unread)
		return stranger(), true
	}
	peer, id, err := s.peer(ctx, s.vault.Index().Of(caller), proxy)
	if err != nil {
		s.stats.call(outcomeLabel(err))
		s.log.Info("masked call", "proxy", proxy, "caller", privacy.Mask(caller), "outcome", outcome(err))
		return stranger(), true
	}
	started := time.Now()
	leg, ev := s.bridge.Bridge(ctx, proxy, peer, in.Offer, s.cfg.AnswerTimeout)
	if leg == nil {
		status := ev.Status
		if status < 400 || status > 699 {
			status = 480 // no answer, or a failure of our own
		}
		s.stats.call("not_answered")
		s.log.Info("masked call", "session", id, "outcome", "not_answered", "event", ev.Kind, "sip_status", ev.Status)
		s.callEnded(CallEnd{SessionID: id, Outcome: CallNotAnswered, SIPStatus: ev.Status, StartedAt: started, EndedAt: time.Now()})
		return sip.InboundDecision{Status: status}, true
	}
	s.stats.call("bridged")
	s.log.Info("masked call", "session", id, "outcome", "bridged")
	hangup := func(d *sip.Dialog) {
		ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
		defer cancel()
		_ = d.Hangup(ctx)
	}
	return sip.InboundDecision{
		AnswerSDP: leg.RemoteSDP,
		Answer: func(ctx context.Context, caller *sip.Dialog) {
			answered := time.Now()
			defer func() {
				end := time.Now()
				s.callEnded(CallEnd{SessionID: id, Outcome: CallCompleted, StartedAt: started, AnsweredAt: &answered, EndedAt: end,
					DurationS: end.Sub(answered).Round(time.Millisecond).Seconds()})
			}()
			limit := time.NewTimer(s.cfg.MaxCall)
			defer limit.Stop()
			select {
			case <-caller.Done():
			case <-leg.Done():
			case <-ctx.Done():
			case <-limit.C:
				s.log.Info("masked call hung up", "session", id, "reason", "max_call_s")
			}
			hangup(leg)
			hangup(caller)
		},
		Unanswered: func() {
			hangup(leg)
			s.callEnded(CallEnd{SessionID: id, Outcome: CallNotAnswered, StartedAt: started, EndedAt: time.Now()})
		},
	}, true
}

// HandleText passes on a text (SIP MESSAGE) that a party sent to a proxy
// number, to the other party, from the proxy; it returns the status to
// answer the sender with: 202 once the other side's carrier took it, 404
// for a sender with no session there, or the carrier's refusal. The text is
// never stored or logged.
func (s *Service) HandleText(ctx context.Context, in *sip.Inbound, body []byte) int {
	proxy, caller, unread, owns := s.parties(in)
	if !owns {
		return 404
	}
	if caller == "" {
		s.stats.text(unread)
		return 404
	}
	peer, id, err := s.peer(ctx, s.vault.Index().Of(caller), proxy)
	if err != nil {
		s.stats.text(outcomeLabel(err))
		s.log.Info("masked text", "proxy", proxy, "caller", privacy.Mask(caller), "outcome", outcome(err))
		return 404
	}
	ev := s.bridge.Relay(ctx, proxy, peer, string(body))
	s.log.Info("masked text", "session", id, "event", ev.Kind, "sip_status", ev.Status)
	if ev.Kind == sip.EventSent {
		s.stats.text("sent")
	} else {
		s.stats.text("refused")
	}
	switch {
	case ev.Kind == sip.EventSent:
		return 202
	case ev.Status >= 400 && ev.Status <= 699:
		return ev.Status
	}
	return 480
}

// outcome names why a route could not be followed, for the log.
func outcome(err error) string {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "unknown_caller"
	case errors.Is(err, privacy.ErrNoKey):
		return "peer_erased"
	}
	return "error: " + err.Error()
}

// outcomeLabel is outcome without the error's text, for metrics.
func outcomeLabel(err error) string {
	if o := outcome(err); !strings.HasPrefix(o, "error") {
		return o
	}
	return "error"
}

// parties reads the proxy number an inbound call or text was sent to and
// its caller, in E.164. owns is false when the dialled number is no proxy;
// caller is empty when the caller ID is withheld or absent (unread is then
// "no_caller_id") or not a number libphonenumber accepts
// ("invalid_caller_id").
func (s *Service) parties(in *sip.Inbound) (proxy, caller, unread string, owns bool) {
	region := s.cfg.TrunkRegions[in.Trunk]
	proxy = in.Dialed // proxies need not be numbers libphonenumber knows
	if !strings.HasPrefix(proxy, "+") {
		if n, err := number.NormaliseCallerID(proxy, region); err == nil {
			proxy = n
		}
	}
	if !s.Owns(proxy) {
		return proxy, "", "", false
	}
	if in.Anonymous || in.CallerID == "" {
		return proxy, "", "no_caller_id", true
	}
	caller, err := number.NormaliseCallerID(in.CallerID, region)
	if err != nil {
		return proxy, "", "invalid_caller_id", true
	}
	return proxy, caller, "", true
}

// peer reads the route of number key nk through proxy and opens the other
// party's number.
func (s *Service) peer(ctx context.Context, nk, proxy string) (number, session string, err error) {
	val, _, err := s.st.Get(ctx, routeKey(nk, proxy))
	if err != nil {
		return "", "", err
	}
	var r route
	if err := json.Unmarshal(val, &r); err != nil {
		return "", "", err
	}
	k, err := s.vault.Key(ctx, r.PeerKey, false)
	if err != nil {
		return "", "", err // erased: the route leads nowhere
	}
	n, err := k.Open(r.Peer, sealAAD(r.PeerKey, r.Session))
	if err != nil {
		return "", "", err
	}
	return string(n), r.Session, nil
}
