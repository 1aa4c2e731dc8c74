package sip

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Registration is one binding of this endpoint's Contact at a trunk's
// registrar (RFC 3261 §10), for carriers that send calls only to
// registered users and accept calls only from them. Its Call-ID stays the
// same, and its CSeq grows, across the REGISTER requests that refresh it,
// as §10.2.4 asks. Use one Registration per trunk, from one goroutine.
type Registration struct {
	// Trunk is where REGISTER goes; its Username is the address of record
	// (sip:username@domain) and, with its Password, answers challenges.
	Trunk Trunk
	// Expires is the lifetime asked for; the registrar may grant less.
	Expires time.Duration

	callID string
	cseq   uint32
}

// Registered is a registrar's acceptance of a binding.
type Registered struct {
	// Expires is the lifetime the registrar granted.
	Expires time.Duration
	// Registrar is the address the 200 OK came from.
	Registrar netip.AddrPort
}

// maxRegisterTries bounds the REGISTER requests of one Register: the
// first, its answer to a challenge, and one more for a 423's Min-Expires
// (RFC 3261 §10.2.8) or a stale nonce.
const maxRegisterTries = 4

// Register sends REGISTER for r and returns what the registrar granted.
// It answers 401 and 407 challenges with the trunk's credentials and a 423
// Interval Too Brief with its Min-Expires. Each request waits up to
// timeout for its final response; the error wraps ErrNoAnswer when none
// came, and otherwise gives the registrar's refusal.
func (e *Endpoint) Register(ctx context.Context, r *Registration, timeout time.Duration) (Registered, error) {
	return e.register(ctx, r, r.Expires, timeout)
}

// Unregister removes r's binding (REGISTER with Expires: 0), as a UA going
// away does (RFC 3261 §10.2.2).
func (e *Endpoint) Unregister(ctx context.Context, r *Registration, timeout time.Duration) error {
	_, err := e.register(ctx, r, 0, timeout)
	return err
}

func (e *Endpoint) register(ctx context.Context, r *Registration, expires, timeout time.Duration) (Registered, error) {
	t := r.Trunk
	if r.callID == "" {
		r.callID = sip.GenerateTagN(24)
	}
	req, err := e.newRegister(r, expires)
	if err != nil {
		return Registered{}, err
	}
	authTries := 0
	for try := 1; ; try++ {
		res, err := e.final(ctx, req, timeout)
		if cseq := req.CSeq(); cseq != nil {
			r.cseq = cseq.SeqNo
		}
		if err != nil {
			return Registered{}, fmt.Errorf("trunk %q: REGISTER: %w", t.Name, err)
		}
		again := false
		switch {
		case res.IsSuccess():
			src, _ := netip.ParseAddrPort(res.Source())
			return Registered{Expires: granted(res, req, expires), Registrar: netip.AddrPortFrom(src.Addr().Unmap(), src.Port())}, nil
		case (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) && t.Password != "" && authTries < 2:
			authTries++
			if err := e.authorize(req, res, t.Username, t.Password); err != nil {
				return Registered{}, fmt.Errorf("trunk %q: REGISTER: %w", t.Name, err)
			}
			again = true
		case res.StatusCode == 423:
			if h := res.GetHeader("Min-Expires"); h != nil {
				if n, err := strconv.Atoi(h.Value()); err == nil && n > 0 && time.Duration(n)*time.Second > expires {
					expires = time.Duration(n) * time.Second
					if req, err = e.newRegister(r, expires); err != nil {
						return Registered{}, err
					}
					again = true
				}
			}
		}
		if !again || try >= maxRegisterTries {
			return Registered{}, fmt.Errorf("trunk %q: REGISTER: %d %s", t.Name, res.StatusCode, res.Reason)
		}
	}
}

// newRegister builds the next REGISTER of r asking for expires.
func (e *Endpoint) newRegister(r *Registration, expires time.Duration) (*sip.Request, error) {
	t := r.Trunk
	req, domain, err := t.newRequest(sip.REGISTER, "")
	if err != nil {
		return nil, err
	}
	aor := sip.Uri{Scheme: "sip", User: t.Username, Host: domain}
	req.AppendHeader(&sip.FromHeader{Address: aor, Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}}})
	req.AppendHeader(&sip.ToHeader{Address: aor})
	callID := sip.CallIDHeader(r.callID)
	req.AppendHeader(&callID)
	r.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER})
	req.AppendHeader(e.contact(t.Username, req.Transport()))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.AppendHeader(sip.NewHeader("User-Agent", e.userAgent))
	if err := e.build(req); err != nil {
		return nil, fmt.Errorf("trunk %q: REGISTER: %w", t.Name, err)
	}
	return req, nil
}

// granted reads the lifetime a 200 OK to REGISTER grants: the expires
// parameter of the Contact that is ours, else the Expires header, else
// what was asked (RFC 3261 §10.2.4).
func granted(res *sip.Response, req *sip.Request, asked time.Duration) time.Duration {
	ours := req.Contact()
	for _, h := range res.GetHeaders("Contact") {
		for _, v := range splitAddressList(h.Value()) {
			var u sip.Uri
			params := sip.NewParams()
			if _, err := sip.ParseAddressValue(v, &u, &params); err != nil || ours == nil {
				continue
			}
			if u.Host != ours.Address.Host || u.Port != ours.Address.Port || u.User != ours.Address.User {
				continue
			}
			if s, ok := params.Get("expires"); ok {
				if n, err := strconv.Atoi(s); err == nil && n >= 0 {
					return time.Duration(n) * time.Second
				}
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(h.Value()); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}
