package sip

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Info is a SIP INFO request received inside a dialog (DTMF relay).
type Info struct {
	ContentType string
	Body        []byte
}

// Why a dialog ended.
const (
	EndRemoteBye = "remote_bye" // the peer sent BYE
	EndLocal     = "local"      // Hangup was called
	EndClosed    = "closed"     // the endpoint closed
)

// Dialog is an answered call, placed or received. Its media is not the sip
// package's business: RemoteSDP and LocalSDP carry what was agreed.
type Dialog struct {
	e         *Endpoint
	callID    string
	local     sip.FromHeader // our side, with our tag
	remote    sip.ToHeader   // their side, with their tag
	target    sip.Uri        // the peer's Contact
	routes    []string       // route set, in the order requests carry it
	transport string
	dest      string // where requests go when there is no route or contact
	cseq      atomic.Uint32

	// RemoteSDP is the peer's offer (received calls) or answer (placed
	// calls); LocalSDP is ours.
	RemoteSDP, LocalSDP []byte

	infos chan Info
	// lastInfo is the CSeq of the last INFO delivered: a retransmission
	// that outlived its transaction must not deliver a key twice.
	lastInfo atomic.Uint32
	acked    chan struct{}
	ackOnce  sync.Once
	done     chan struct{}
	endOnce  sync.Once
	why      string
}

// Done is closed when the call has ended, by either side.
func (d *Dialog) Done() <-chan struct{} { return d.done }

// Ended says why the call ended (EndRemoteBye, EndLocal, EndClosed); it is
// only meaningful once Done is closed.
func (d *Dialog) Ended() string {
	<-d.done
	return d.why
}

// Infos delivers INFO requests of the dialog (DTMF relay), answered 200
// already. Undelivered INFOs beyond a small buffer are dropped.
func (d *Dialog) Infos() <-chan Info { return d.infos }

// end marks the dialog over, once; it reports whether this call did.
func (d *Dialog) end(why string) (ended bool) {
	d.endOnce.Do(func() {
		d.why = why
		close(d.done)
		d.e.dialogs.Delete(d.callID)
		ended = true
	})
	return ended
}

// Hangup sends BYE and waits for its answer (or ctx). It is a no-op on a
// dialog that has already ended.
func (d *Dialog) Hangup(ctx context.Context) error {
	// Only the call that ends the dialog sends the BYE: concurrent hang-ups
	// must not send two, the second of which nobody would answer.
	if !d.end(EndLocal) {
		return nil
	}
	bye := d.request(sip.BYE)
	tx, err := d.e.client.TransactionRequest(ctx, bye, noBuild)
	if err != nil {
		return fmt.Errorf("sip: bye: %w", err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			if !res.IsSuccess() {
				return fmt.Errorf("sip: bye: %d %s", res.StatusCode, res.Reason)
			}
			return nil
		case <-tx.Done():
			return fmt.Errorf("sip: bye: %w", tx.Err())
		case <-ctx.Done():
			return fmt.Errorf("sip: bye: %w", ctx.Err())
		}
	}
}

// request builds a new request of the dialog (RFC 3261 §12.2.1.1).
func (d *Dialog) request(method sip.RequestMethod) *sip.Request {
	r := sip.NewRequest(method, *d.target.Clone())
	for _, rt := range d.routes {
		r.AppendHeader(sip.NewHeader("Route", rt))
	}
	maxFwd := sip.MaxForwardsHeader(70)
	r.AppendHeader(&maxFwd)
	from := d.local
	from.Params = d.local.Params.Clone()
	to := d.remote
	to.Params = d.remote.Params.Clone()
	r.AppendHeader(&from)
	r.AppendHeader(&to)
	callID := sip.CallIDHeader(d.callID)
	r.AppendHeader(&callID)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: d.cseq.Add(1), MethodName: method})
	r.SetBody(nil)
	r.SetTransport(d.transport)
	if len(d.routes) == 0 && d.dest != "" && d.target.Host == "" {
		r.SetDestination(d.dest)
	}
	_ = d.e.addVia(r)
	d.e.sendFrom(r)
	return r
}

// newClientDialog is the dialog a 2xx to our invite created.
func (e *Endpoint) newClientDialog(invite *sip.Request, ok *sip.Response) *Dialog {
	d := &Dialog{
		e: e, callID: invite.CallID().Value(),
		transport: invite.Transport(), dest: invite.Destination(),
		RemoteSDP: ok.Body(), LocalSDP: invite.Body(),
		infos: make(chan Info, 16), done: make(chan struct{}),
	}
	d.local = *invite.From()
	d.local.Params = invite.From().Params.Clone()
	d.remote = *ok.To()
	d.remote.Params = ok.To().Params.Clone()
	d.target = invite.Recipient
	if c := ok.Contact(); c != nil {
		d.target = *c.Address.Clone()
	}
	rr := recordRoutes(ok)
	for i := len(rr) - 1; i >= 0; i-- {
		d.routes = append(d.routes, rr[i])
	}
	d.cseq.Store(invite.CSeq().SeqNo)
	e.dialogs.Store(d.callID, d)
	return d
}

// newServerDialog is the dialog our 2xx to req creates; tag is our To tag.
func (e *Endpoint) newServerDialog(req *sip.Request, tag string, localSDP []byte) *Dialog {
	d := &Dialog{
		e: e, callID: req.CallID().Value(),
		transport: req.Transport(), dest: req.Source(),
		RemoteSDP: req.Body(), LocalSDP: localSDP,
		infos: make(chan Info, 16), done: make(chan struct{}), acked: make(chan struct{}),
	}
	to := req.To()
	d.local = sip.FromHeader{DisplayName: to.DisplayName, Address: *to.Address.Clone(), Params: to.Params.Clone()}
	d.local.Params.Add("tag", tag)
	from := req.From()
	d.remote = sip.ToHeader{DisplayName: from.DisplayName, Address: *from.Address.Clone(), Params: from.Params.Clone()}
	d.target = *from.Address.Clone()
	if c := req.Contact(); c != nil {
		d.target = *c.Address.Clone()
	}
	for _, h := range req.GetHeaders("Record-Route") {
		d.routes = append(d.routes, splitAddressList(h.Value())...)
	}
	d.cseq.Store(rand.Uint32N(1 << 16))
	e.dialogs.Store(d.callID, d)
	return d
}

// dialogOf finds the dialog a request belongs to.
func (e *Endpoint) dialogOf(req *sip.Request) *Dialog {
	if id := req.CallID(); id != nil {
		if v, ok := e.dialogs.Load(id.Value()); ok {
			return v.(*Dialog)
		}
	}
	return nil
}

// answerBye ends the dialog a BYE belongs to.
func (e *Endpoint) answerBye(req *sip.Request, tx sip.ServerTransaction) {
	d := e.dialogOf(req)
	if d == nil {
		e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	d.end(EndRemoteBye)
}

// answerAck notes the ACK of a 2xx we sent. An ACK for a 2xx is a
// transaction of its own (a new branch), so it arrives here rather than on
// the INVITE's transaction.
func (e *Endpoint) answerAck(req *sip.Request, tx sip.ServerTransaction) {
	if d := e.dialogOf(req); d != nil && d.acked != nil {
		d.ackOnce.Do(func() { close(d.acked) })
	}
}

// answerInfo passes an INFO on to its dialog.
func (e *Endpoint) answerInfo(req *sip.Request, tx sip.ServerTransaction) {
	d := e.dialogOf(req)
	if d == nil {
		e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	// The key is delivered before the 200 goes out: a peer sends its next
	// INFO once this one is answered, and that INFO's handler must not
	// overtake this one's, or this key, its CSeq now below the last seen,
	// would be dropped as out of order.
	defer e.respond(tx, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	if cseq := req.CSeq(); cseq != nil {
		for {
			last := d.lastInfo.Load()
			if last != 0 && cseq.SeqNo <= last {
				return // a retransmission, or out of order (RFC 3261 §12.2.2)
			}
			if d.lastInfo.CompareAndSwap(last, cseq.SeqNo) {
				break
			}
		}
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	select {
	case d.infos <- Info{ContentType: ct, Body: append([]byte(nil), req.Body()...)}:
	default:
	}
}

// endDialogs ends every dialog when the endpoint closes.
func (e *Endpoint) endDialogs() {
	e.dialogs.Range(func(_, v any) bool {
		v.(*Dialog).end(EndClosed)
		return true
	})
}

// ackTimeout bounds the wait for the ACK of a 2xx we sent.
const ackTimeout = 32 * time.Second
