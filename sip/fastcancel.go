package sip

import (
	"bytes"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// The CANCEL of a flash call races the callee picking up, so over UDP it is
// sent from the socket's read goroutine, the moment the 180 or 183 is read:
// before sipgo parses the response, starts a goroutine for it and hands it
// to the call's goroutine through its transaction. The CANCEL is built
// when the INVITE is sent ("armed"), so sending it is one write.
//
// The call's goroutine still sees the 180 as before, or learns of it from
// the armed CANCEL when the 487 overtakes it (sipgo hands each response to
// the transaction from a goroutine of its own), and takes over from there: it retransmits the CANCEL until it is answered (RFC 3261
// §17.1.2.2, Timer E) and reads the INVITE's final response as usual. The
// CANCEL's own responses never reach sipgo, which has no transaction for
// them; the read filter notes and drops them.

// armedCancel is the prepared CANCEL of one INVITE sent over UDP.
type armedCancel struct {
	branch string
	msg    []byte
	dst    netip.AddrPort
	sent   atomic.Bool // the CANCEL went out, by whichever path won
	// ring is the status of the 180 or 183 the read path saw, 0 before.
	ring atomic.Int32
	// answered closes when a final response to the CANCEL arrives.
	answered     chan struct{}
	answeredOnce sync.Once
}

// fastCancels holds the armed CANCELs by their INVITE's Via branch. The
// read filter allocates nothing on its way to the CANCEL (a plain map
// looked up with string(bytes) does not copy; an allocation could make the
// reader assist the garbage collector first).
type fastCancels struct {
	conn  udpConn // the listening UDP socket
	mu    sync.RWMutex
	armed map[string]*armedCancel // by branch
	fired atomic.Int64            // CANCELs sent by the read filter
	// responses counts the UDP responses read, by class (index 1 for
	// 1xx ... 6 for 6xx).
	responses [7]atomic.Int64
}

// newFastCancels returns an empty registry sending on conn.
func newFastCancels(conn udpConn) *fastCancels {
	return &fastCancels{conn: conn, armed: make(map[string]*armedCancel)}
}

// lookup returns the CANCEL armed for branch, or nil.
func (f *fastCancels) lookup(branch []byte) *armedCancel {
	f.mu.RLock()
	a := f.armed[string(branch)]
	f.mu.RUnlock()
	return a
}

// arm prepares the CANCEL of invite for the read filter. It returns nil
// when the INVITE does not qualify (not UDP, or a destination that is not
// an IP address and port).
func (f *fastCancels) arm(invite *sip.Request) *armedCancel {
	if f == nil || f.conn == nil || sip.NetworkToLower(invite.Transport()) != "udp" {
		return nil
	}
	via := invite.Via()
	if via == nil {
		return nil
	}
	branch, ok := via.Params.Get("branch")
	if !ok || branch == "" {
		return nil
	}
	dst, err := netip.ParseAddrPort(invite.Destination())
	if err != nil {
		return nil
	}
	a := &armedCancel{
		branch:   branch,
		msg:      []byte(newCancel(invite).String()),
		dst:      dst,
		answered: make(chan struct{}),
	}
	f.mu.Lock()
	f.armed[branch] = a
	f.mu.Unlock()
	return a
}

// disarm forgets a, which may be nil.
func (f *fastCancels) disarm(a *armedCancel) {
	if a != nil {
		f.mu.Lock()
		delete(f.armed, a.branch)
		f.mu.Unlock()
	}
}

// send writes a's CANCEL once; it reports whether this call sent it.
func (f *fastCancels) send(a *armedCancel) bool {
	if !a.sent.CompareAndSwap(false, true) {
		return false
	}
	f.write(a)
	return true
}

// write writes a's CANCEL (again).
func (f *fastCancels) write(a *armedCancel) {
	f.conn.WriteToUDPAddrPort(a.msg, a.dst)
}

// filter is sipgo's transport read filter: it sees every datagram before
// sipgo parses it. A 180 or 183 of an armed INVITE sends its CANCEL; a
// final response to an armed CANCEL is noted and dropped. Everything else,
// and anything it cannot read, passes unchanged.
func (f *fastCancels) filter(props sip.TransportReadProps, data []byte) ([]byte, error) {
	if props.Transport != "UDP" {
		return data, nil
	}
	code, ok := responseCode(data)
	if !ok {
		return data, nil
	}
	if class := code / 100; class >= 1 && class <= 6 {
		f.responses[class].Add(1)
	}
	branch := topBranch(data)
	if branch == nil {
		return data, nil
	}
	a := f.lookup(branch)
	if a == nil {
		return data, nil
	}
	switch {
	case cseqMethodIs(data, "CANCEL"):
		if code >= 200 {
			a.answeredOnce.Do(func() { close(a.answered) })
		}
		return nil, nil
	case code == 180 || code == 183:
		a.ring.CompareAndSwap(0, int32(code))
		if f.send(a) {
			f.fired.Add(1)
		}
	}
	return data, nil
}

// responseCode returns the status code of a SIP response's status line.
func responseCode(data []byte) (int, bool) {
	const prefix = "SIP/2.0 "
	if len(data) < len(prefix)+3 || string(data[:len(prefix)]) != prefix {
		return 0, false
	}
	code := 0
	for _, c := range data[len(prefix) : len(prefix)+3] {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	return code, true
}

// topBranch returns the branch parameter of the first Via header of a
// message, or nil. The header name is matched in full and compact form
// ("v:"), case-insensitively, at the start of a line.
func topBranch(data []byte) []byte {
	for rest := data; len(rest) > 0; {
		line := nextLine(&rest)
		if len(line) == 0 {
			return nil // end of headers
		}
		name, value, ok := bytes.Cut(line, colon)
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if !bytes.EqualFold(name, via) && !bytes.EqualFold(name, viaCompact) {
			continue
		}
		i := bytes.Index(value, branchParam)
		if i < 0 {
			return nil
		}
		b := value[i+len(branchParam):]
		if end := bytes.IndexAny(b, ";, \t"); end >= 0 {
			b = b[:end]
		}
		return b
	}
	return nil
}

// cseqMethodIs reports whether the message's CSeq header names method.
func cseqMethodIs(data []byte, method string) bool {
	for rest := data; len(rest) > 0; {
		line := nextLine(&rest)
		if len(line) == 0 {
			return false // end of headers
		}
		name, value, ok := bytes.Cut(line, colon)
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), cseq) {
			continue
		}
		value = bytes.TrimSpace(value)
		i := bytes.LastIndexAny(value, " \t")
		return i >= 0 && string(value[i+1:]) == method
	}
	return false
}

// nextLine cuts the first line off *rest and returns it without its CRLF
// or LF.
func nextLine(rest *[]byte) []byte {
	line, after, _ := bytes.Cut(*rest, newline)
	*rest = after
	return bytes.TrimSuffix(line, carriageReturn)
}

// Byte strings the filter matches, made once.
var (
	colon          = []byte(":")
	newline        = []byte("\n")
	carriageReturn = []byte("\r")
	via            = []byte("via")
	viaCompact     = []byte("v")
	cseq           = []byte("cseq")
	branchParam    = []byte("branch=")
)
