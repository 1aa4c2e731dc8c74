package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Call describes one outbound call.
type Call struct {
	Trunk Trunk
	// From is the caller ID presented, E.164 with '+'. It goes in From and
	// P-Asserted-Identity.
	From string
	// To is the called number, E.164 with '+'.
	To string
	// SDP is the offer carried by the INVITE.
	SDP []byte
	// AssertedID, when set, goes in P-Asserted-Identity instead of From.
	AssertedID string
	// Anonymous withholds the caller ID: an anonymous From and Privacy: id
	// (RFC 3323), with the real identity only in P-Asserted-Identity.
	Anonymous bool
}

// FlashOptions shape a flash call.
type FlashOptions struct {
	// RingFor is how long to let the phone ring after the first 180/183
	// before the CANCEL; 0 cancels at once.
	RingFor time.Duration
	// Timeout ends a call that has not rung by then: CANCEL if any
	// provisional response came (RFC 3261 §9.1 forbids it earlier),
	// otherwise the transaction is abandoned. 0 means 30 s.
	Timeout time.Duration
	// KeepRinging places an ordinary call instead: no CANCEL on ringing;
	// it waits for the final response, and Timeout bounds the whole call.
	KeepRinging bool
	// NoResponse, if positive, abandons a call that has had no response
	// at all (not even 100 Trying) by then: it ends with EventTimeout,
	// reason "no response", so that the caller may try another trunk.
	NoResponse time.Duration
}

// maxAuthTries bounds digest retries, so a carrier that keeps challenging
// cannot loop a call.
const maxAuthTries = 2

// cancelWait bounds the wait for the INVITE's final response after a CANCEL
// (RFC 3261 §9.1: 64*T1).
const cancelWait = 32 * time.Second

// Flash places c and hangs it up as soon as it rings. report, if not nil,
// receives every step of the call in order from Flash's goroutine, and must
// return quickly; the CANCEL is sent before the ringing step is reported.
// Cancelling ctx hangs the call up (CANCEL once a provisional response has
// arrived). Flash returns the call's final event; it never returns before
// the call is over or abandoned.
func (e *Endpoint) Flash(ctx context.Context, c Call, o FlashOptions, report func(Event)) Event {
	ev, _ := e.call(ctx, c, o, false, report)
	return ev
}

// DialOptions shape a call that is meant to be answered.
type DialOptions struct {
	// Timeout bounds the wait for an answer (ringing included); then the
	// call is cancelled. 0 means 30 s.
	Timeout time.Duration
	// NoResponse is as in FlashOptions.
	NoResponse time.Duration
}

// Dial calls c.To and waits for the answer. Answered, it returns the call's
// Dialog and an EventAnswered; otherwise no Dialog and the final event
// (failed, timeout, cancelled). report receives every step, as for Flash.
// Cancelling ctx before the answer hangs up (CANCEL); after the answer, end
// the call with Dialog.Hangup.
func (e *Endpoint) Dial(ctx context.Context, c Call, o DialOptions, report func(Event)) (*Dialog, Event) {
	ev, d := e.call(ctx, c, FlashOptions{KeepRinging: true, Timeout: o.Timeout, NoResponse: o.NoResponse}, true, report)
	return d, ev
}

// call runs one outbound INVITE transaction to its end. With answer set, a
// 2xx is ACKed and kept as a Dialog; otherwise it is ACKed and BYEd at once.
// What the call does is decided by its state machine (dialfsm.go); call
// and dialing feed it and carry out what it asks.
func (e *Endpoint) call(ctx context.Context, c Call, o FlashOptions, answer bool, report func(Event)) (Event, *Dialog) {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	d := dialing{e: e, c: c, o: o, report: report, m: dialMachine{
		KeepRinging: o.KeepRinging,
		RingFor:     !o.KeepRinging && o.RingFor > 0,
		Answer:      answer,
		CanAuth:     c.Trunk.Password != "",
	}}
	invite, err := e.newInvite(c)
	if err != nil {
		d.emit(Event{Kind: EventDialing})
		return d.emit(Event{Kind: EventFailed, Reason: err.Error()}), nil
	}
	d.f = flash{e: e, invite: invite}
	// A flash call over UDP that cancels on the first ring has its CANCEL
	// ready before the INVITE leaves, for the read path to send.
	d.fastPath = !answer && !o.KeepRinging && o.RingFor <= 0
	if d.fastPath {
		d.f.armed = e.fast.arm(invite)
	}
	defer func() { e.fast.disarm(d.f.armed) }()
	// The requests of this call outlive ctx: cancelling ctx means "hang up",
	// which takes a CANCEL and waiting for its answer.
	d.bg = context.WithoutCancel(ctx)
	d.tx, err = e.client.TransactionRequest(d.bg, invite, noBuild)
	if err != nil {
		d.emit(Event{Kind: EventDialing})
		return d.emit(Event{Kind: EventFailed, Reason: fmt.Sprintf("trunk %q: send INVITE: %v", c.Trunk.Name, err)}), nil
	}
	defer func() { d.tx.Terminate() }()
	d.emit(Event{Kind: EventDialing})
	return d.run(ctx)
}

// dialing is the I/O of one outbound INVITE transaction: it turns what
// happens (responses, the transaction's end, timers, the caller's hang-up)
// into inputs of its dialMachine and carries out the machine's actions.
type dialing struct {
	e        *Endpoint
	c        Call
	o        FlashOptions
	report   func(Event)
	bg       context.Context // ctx without its cancellation
	tx       sip.ClientTransaction
	f        flash
	fastPath bool // the CANCEL is armed for the read path

	m             dialMachine
	provisionalAt time.Time
	ringTimer     <-chan time.Time
	cancelTimer   <-chan time.Time

	final  Event   // the call's final event, once m is ended
	dialog *Dialog // the answered call (Dial)
}

// run waits for what happens to the call until its machine ends it.
func (d *dialing) run(ctx context.Context) (Event, *Dialog) {
	timeout := time.NewTimer(d.o.Timeout)
	defer timeout.Stop()
	var noResponse <-chan time.Time
	if d.o.NoResponse > 0 {
		t := time.NewTimer(d.o.NoResponse)
		defer t.Stop()
		noResponse = t.C
	}
	defer d.f.stopRetransmit()
	hangup := ctx.Done()
	for {
		var (
			in  dialInput
			res *sip.Response
		)
		select {
		case res = <-d.tx.Responses():
			noResponse = nil
			if res.IsProvisional() && d.provisionalAt.IsZero() {
				d.provisionalAt = time.Now()
			}
			d.catchUp()
			in = responseInput(res)
		case <-d.tx.Done():
			d.catchUp()
			in = dialInput{Kind: inTxEnded, Reason: "transaction ended"}
			if err := d.tx.Err(); err != nil {
				in.Reason, in.TxTimeout = err.Error(), errors.Is(err, sip.ErrTransactionTimeout)
			}
		case <-d.f.retransmitC:
			d.f.retransmitCancel()
			continue
		case <-d.f.answered():
			d.f.stopRetransmit()
			continue
		case <-noResponse:
			noResponse = nil
			d.catchUp()
			in = dialInput{Kind: inNoResponse}
		case <-d.ringTimer:
			d.ringTimer = nil
			in = dialInput{Kind: inRingFor}
		case <-timeout.C:
			in = dialInput{Kind: inTimeout}
		case <-hangup:
			hangup = nil
			in = dialInput{Kind: inHangup}
		case <-d.cancelTimer:
			in = dialInput{Kind: inCancelExpired}
		}
		if d.apply(in, res) {
			return d.final, d.dialog
		}
	}
}

// responseInput is the machine's input for a response to the INVITE.
func responseInput(res *sip.Response) dialInput {
	in := dialInput{Status: res.StatusCode, Reason: res.Reason}
	switch {
	case res.IsProvisional():
		in.Kind = inProvisional
	case res.IsSuccess():
		in.Kind = inSuccess
	case res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired:
		in.Kind = inChallenge
	default:
		in.Kind = inFinal
	}
	return in
}

// catchUp tells the machine of a ring the read path has acted on: it sent
// the CANCEL, and the transaction may pass up the final response before
// the 180 (or never pass up the 180).
func (d *dialing) catchUp() {
	if d.f.armed == nil || d.m.State == dialCancelling {
		return
	}
	if status := int(d.f.armed.ring.Load()); status != 0 {
		if d.provisionalAt.IsZero() { // the transaction passed up no 1xx yet
			d.provisionalAt = time.Now()
		}
		d.apply(dialInput{Kind: inFastRing, Status: status}, nil)
	}
}

// apply moves the machine on by in and carries out its actions; res is
// the response in stands for, if any. It reports whether the call is
// over (d.final, and d.dialog for an answered Dial, hold the outcome).
func (d *dialing) apply(in dialInput, res *sip.Response) bool {
	var st dialStep
	d.m, st = d.m.next(in)
	if st.Do&doCancel != 0 {
		d.f.cancel(d.bg)
		d.cancelTimer = time.After(cancelWait)
		if d.f.armed != nil {
			d.f.retransmit = time.NewTimer(sip.T1)
			d.f.retransmitC = d.f.retransmit.C
		}
	}
	if st.Do&doRingTimer != 0 {
		d.ringTimer = time.After(d.o.RingFor)
	}
	if st.Do&doReportRinging != 0 {
		d.emit(Event{Kind: EventRinging, Status: st.RingStatus})
	}
	switch {
	case st.Do&doAuthorize != 0:
		if err := d.authorize(res); err != nil {
			d.end(Event{Kind: EventFailed, Status: res.StatusCode, Reason: fmt.Sprintf("trunk %q: digest auth: %v", d.c.Trunk.Name, err)})
			return true
		}
	case st.Do&doConfirm != 0:
		dlg, err := d.e.confirm(d.tx, d.f.invite, res)
		if err != nil {
			st.End = Event{Kind: EventFailed, Status: res.StatusCode, Reason: err.Error()}
		}
		d.dialog = dlg
		d.end(st.End)
		return true
	case st.Do&doAckBye != 0:
		d.emit(Event{Kind: EventAnswered, Status: res.StatusCode})
		byeCtx, cancel := context.WithTimeout(d.bg, cancelWait)
		if err := d.e.ackAndBye(byeCtx, d.tx, d.f.invite, res); err != nil {
			st.End.Reason = err.Error()
		}
		cancel()
		d.end(st.End)
		return true
	case st.Do&doEnd != 0:
		d.end(st.End)
		return true
	}
	return false
}

// authorize ends the challenged transaction and sends the INVITE again
// with credentials for res, in a new transaction (a new branch and CSeq,
// armed again for the read path).
func (d *dialing) authorize(res *sip.Response) error {
	d.tx.Terminate()
	d.e.fast.disarm(d.f.armed)
	d.f.armed = nil
	err := d.e.authorize(d.f.invite, res, d.c.Trunk.Username, d.c.Trunk.Password)
	if err == nil {
		d.tx, err = d.e.client.TransactionRequest(d.bg, d.f.invite, noBuild)
	}
	if d.fastPath && err == nil {
		d.f.armed = d.e.fast.arm(d.f.invite)
	}
	return err
}

// emit stamps ev and reports it.
func (d *dialing) emit(ev Event) Event {
	ev.At, ev.Trunk, ev.Provisional = time.Now(), d.c.Trunk.Name, d.provisionalAt
	if d.report != nil {
		d.report(ev)
	}
	return ev
}

// end reports the call's final event and keeps it.
func (d *dialing) end(ev Event) { d.final = d.emit(ev) }

// flash holds the CANCEL of one call.
type flash struct {
	e      *Endpoint
	invite *sip.Request

	// armed is the CANCEL prepared for the read path (fastcancel.go), nil
	// if the call does not use it; the call's goroutine then retransmits
	// it itself until it is answered.
	armed       *armedCancel
	retransmit  *time.Timer
	retransmitC <-chan time.Time
	interval    time.Duration
}

// cancel sends the CANCEL for the current INVITE: through the armed one if
// there is one (unless the read path sent it already), otherwise in a
// client transaction in the background, whose 200 arrives on its own
// transaction while the INVITE's 487 is read by dialing.
func (f *flash) cancel(ctx context.Context) {
	if f.armed != nil {
		f.e.fast.send(f.armed)
		f.interval = sip.T1
		return
	}
	req := newCancel(f.invite)
	tx, err := f.e.client.TransactionRequest(ctx, req, noBuild)
	if err != nil {
		f.e.log.Warn("sip: send CANCEL failed", "err", err)
		return
	}
	go func() {
		defer tx.Terminate()
		for {
			select {
			case res := <-tx.Responses():
				if !res.IsProvisional() {
					return
				}
			case <-tx.Done():
				return
			}
		}
	}()
}

// retransmitCancel resends the armed CANCEL over UDP on RFC 3261's Timer E
// schedule (T1, doubling up to T2) until it is answered.
func (f *flash) retransmitCancel() {
	f.e.fast.write(f.armed)
	f.interval = min(2*f.interval, sip.T2)
	f.retransmit.Reset(f.interval)
}

// answered is closed once the armed CANCEL has its final response; nil
// (never ready) while there is nothing to wait for.
func (f *flash) answered() <-chan struct{} {
	if f.armed == nil || f.retransmitC == nil {
		return nil
	}
	return f.armed.answered
}

// stopRetransmit ends the armed CANCEL's retransmissions.
func (f *flash) stopRetransmit() {
	if f.retransmit != nil {
		f.retransmit.Stop()
	}
	f.retransmitC = nil
}

// newInvite builds the INVITE for c.
func (e *Endpoint) newInvite(c Call) (*sip.Request, error) {
	if !isE164(c.From) || !isE164(c.To) || (c.AssertedID != "" && !isE164(c.AssertedID)) {
		return nil, fmt.Errorf("trunk %q: caller and callee must be E.164 numbers", c.Trunk.Name)
	}
	req, domain, err := c.Trunk.newRequest(sip.INVITE, c.To)
	if err != nil {
		return nil, err
	}
	transport := req.Transport()

	me := e.public.String()
	if e.public.Is6() {
		me = "[" + me + "]"
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: c.From, Host: e.public.String(), UriParams: sip.HeaderParams{{K: "user", V: "phone"}}}}
	if c.Anonymous {
		from = &sip.FromHeader{DisplayName: "Anonymous", Address: sip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}}
	}
	from.Params = sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}}
	asserted := c.From
	if c.AssertedID != "" {
		asserted = c.AssertedID
	}
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: c.To, Host: domain, UriParams: sip.HeaderParams{{K: "user", V: "phone"}}}}
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(sip.NewHeader("P-Asserted-Identity", fmt.Sprintf("<sip:%s@%s;user=phone>", asserted, me)))
	if c.Anonymous {
		req.AppendHeader(sip.NewHeader("Privacy", "id"))
	}
	req.AppendHeader(e.contact(from.Address.User, transport))
	req.AppendHeader(sip.NewHeader("Allow", allowed))
	req.AppendHeader(sip.NewHeader("User-Agent", e.userAgent))
	if len(c.SDP) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	req.SetBody(c.SDP)
	if err := e.build(req); err != nil {
		return nil, fmt.Errorf("trunk %q: %w", c.Trunk.Name, err)
	}
	return req, nil
}

// isE164 reports whether s is '+' and 8 to 15 digits.
func isE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
