package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestRequestsWithoutMandatoryHeadersGet400 sends requests that each lack
// one header of RFC 3261 §8.1.1 to a live endpoint, over UDP: each gets
// 400 naming the header (none reaches the INVITE handler), and the counter
// counts them.
func TestRequestsWithoutMandatoryHeadersGet400(t *testing.T) {
	e := newTestEndpoint(t)
	reached := make(chan string, 16)
	e.ServeInbound([]InboundTrunk{{Name: "t", Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}},
		func(_ context.Context, in *Inbound) InboundDecision {
			reached <- in.CallerID
			return InboundDecision{Status: 603}
		})
	conn, err := net.Dial("udp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	request := func(method, branch, drop string) string {
		lines := []string{
			fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport", local, branch),
			"From: <sip:+447911123456@127.0.0.1>;tag=1",
			"To: <sip:+441632960000@127.0.0.1>",
			"Call-ID: " + branch,
			"CSeq: 1 " + method,
			"Max-Forwards: 70",
			"Content-Length: 0",
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s sip:+441632960000@%s SIP/2.0\r\n", method, e.Addr())
		for _, l := range lines {
			if drop != "" && strings.HasPrefix(l, drop+":") {
				continue
			}
			b.WriteString(l + "\r\n")
		}
		return b.String() + "\r\n"
	}
	tests := []struct{ method, drop, want string }{
		{"INVITE", "From", "From"},
		{"INVITE", "To", "To"},
		{"INVITE", "Call-ID", "Call-ID"},
		{"OPTIONS", "Call-ID", "Call-ID"},
		{"BYE", "From", "From"},
		{"MESSAGE", "To", "To"},
	}
	before := e.InboundStats().Malformed
	buf := make([]byte, 4096)
	for i, tt := range tests {
		branch := fmt.Sprintf("bad%d", i)
		if _, err := conn.Write([]byte(request(tt.method, branch, tt.drop))); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("%s without %s: no answer: %v", tt.method, tt.drop, err)
		}
		res := string(buf[:n])
		if !strings.HasPrefix(res, "SIP/2.0 400 Bad Request (missing or wrong "+tt.want+")") || !strings.Contains(res, branch) {
			t.Fatalf("%s without %s: %q", tt.method, tt.drop, strings.SplitN(res, "\r\n", 2)[0])
		}
	}
	// A CSeq naming another method is as wrong as none.
	if _, err := conn.Write([]byte(strings.Replace(request("INVITE", "cseq", ""), "CSeq: 1 INVITE", "CSeq: 1 BYE", 1))); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 400 Bad Request (missing or wrong CSeq)") {
		t.Fatalf("INVITE with a BYE CSeq: %q %v", buf[:n], err)
	}
	if got := e.InboundStats().Malformed - before; got != uint64(len(tests)+1) {
		t.Errorf("malformed counter rose by %d, want %d", got, len(tests)+1)
	}
	select {
	case id := <-reached:
		t.Fatalf("a malformed INVITE reached the handler (caller %q)", id)
	default:
	}
	// The whole request still goes through.
	if _, err := conn.Write([]byte(request("INVITE", "good", ""))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(5 * time.Second):
		t.Fatal("a well-formed INVITE did not reach the handler")
	}
}

// FuzzMissingHeader checks that any request sipgo parses can be judged
// without a panic, and that a request judged whole has what the handlers
// read.
func FuzzMissingHeader(f *testing.F) {
	f.Add("INVITE sip:1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
	f.Add("BYE sip:1@127.0.0.1 SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n")
	f.Add("MESSAGE sip:1@x SIP/2.0\r\nCall-ID:\r\nTo: <sip:b@x>\r\nFrom: x\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		msg, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		if missingHeader(req) == "" && (req.Via() == nil || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil) {
			t.Fatalf("judged whole without a mandatory header: %q", raw)
		}
	})
}
