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

func parseRequest(t testing.TB, headers string) *sip.Request {
	t.Helper()
	raw := "INVITE sip:+441632960000@127.0.0.1:5060;user=phone SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n" +
		"Call-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n" +
		"To: <sip:+441632960000@127.0.0.1>\r\n" +
		strings.ReplaceAll(headers, "\n", "\r\n") +
		"Content-Length: 0\r\n\r\n"
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return msg.(*sip.Request)
}

func TestParseInboundCallerID(t *testing.T) {
	const from = "From: <sip:+447911123456@10.0.0.1;user=phone>;tag=a\n"
	tests := []struct {
		name      string
		headers   string
		trustPAI  bool
		want      string
		source    string
		anonymous bool
	}{
		{"from", from, false, "+447911123456", "from", false},
		{"PAI ignored when untrusted", from + "P-Asserted-Identity: <sip:+447911000000@x>\n", false, "+447911123456", "from", false},
		{"PAI when trusted", from + "P-Asserted-Identity: <sip:+447911000000@x>\n", true, "+447911000000", "pai", false},
		{"PAI list, tel URI second", from + "P-Asserted-Identity: \"Bob\" <sip:+447911000001@x>, <tel:+447911000001>\n", true, "+447911000001", "pai", false},
		{"RPID over From", from + "Remote-Party-ID: <sip:447911000002@x>;party=calling;privacy=off\n", false, "447911000002", "rpid", false},
		{"RPID privacy full", from + "Remote-Party-ID: <sip:447911000002@x>;party=calling;privacy=full\n", false, "", "rpid", true},
		{"Privacy id", from + "Privacy: id\n", false, "", "from", true},
		{"Privacy none", from + "Privacy: none\n", false, "+447911123456", "from", false},
		{"anonymous From", "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a\n", false, "", "from", true},
		{"anonymous From, trusted PAI, Privacy id", "From: <sip:anonymous@anonymous.invalid>;tag=a\nP-Asserted-Identity: <sip:+447911123456@x>\nPrivacy: id\n", true, "", "pai", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := parseInbound(parseRequest(t, tt.headers), &InboundTrunk{Name: "t", TrustPAI: tt.trustPAI})
			if in.CallerID != tt.want || in.Anonymous != tt.anonymous || (tt.want != "" && in.CallerIDSource != tt.source) {
				t.Fatalf("got %+v; want caller %q from %s anonymous %v", in, tt.want, tt.source, tt.anonymous)
			}
			if in.Dialed != "+441632960000" {
				t.Fatalf("dialed %q", in.Dialed)
			}
		})
	}
}

func TestMatchTrunk(t *testing.T) {
	trunks := []InboundTrunk{
		{Name: "a", Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		{Name: "b", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}},
	}
	tests := []struct{ addr, want string }{
		{"127.0.0.1", "a"}, {"10.1.2.3", "b"}, {"::1", "b"}, {"127.0.0.2", ""}, {"192.0.2.1", ""},
	}
	for _, tt := range tests {
		got := ""
		if tr := matchTrunk(trunks, netip.MustParseAddr(tt.addr)); tr != nil {
			got = tr.Name
		}
		if got != tt.want {
			t.Errorf("matchTrunk(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func FuzzParseInbound(f *testing.F) {
	f.Add("From: <sip:+447911123456@x>;tag=a\r\nP-Asserted-Identity: <sip:+1@x>, <tel:+2>\r\nPrivacy: id\r\n")
	f.Add("From: \"a,b\" <sip:anonymous@anonymous.invalid>;tag=a\r\nRemote-Party-ID: <sip:1@x>;privacy=full\r\n")
	f.Fuzz(func(t *testing.T, headers string) {
		raw := "INVITE sip:1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n" + headers + "Content-Length: 0\r\n\r\n"
		msg, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		in := parseInbound(req, &InboundTrunk{TrustPAI: true})
		if in.Anonymous && in.CallerID != "" {
			t.Fatalf("anonymous call keeps caller ID %q", in.CallerID)
		}
	})
}

// TestMalformedSIPIsSurvived sends junk and broken requests to a live
// endpoint, then checks it still answers.
func TestMalformedSIPIsSurvived(t *testing.T) {
	e := newTestEndpoint(t)
	e.ServeInbound([]InboundTrunk{{Name: "t", Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}},
		func(context.Context, *Inbound) InboundDecision { return InboundDecision{Status: 603} })
	conn, err := net.Dial("udp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	junk := []string{
		"\x00\x01\x02garbage",
		"INVITE\r\n\r\n",
		"INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n",
		"INVITE sip:1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-x\r\nCSeq: abc INVITE\r\nContent-Length: 99999\r\n\r\n",
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-none\r\nCSeq: 1 INVITE\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n",
		strings.Repeat("A", 1400),
	}
	for _, j := range junk {
		if _, err := conn.Write([]byte(j)); err != nil {
			t.Fatal(err)
		}
	}
	// A well-formed OPTIONS still gets its 200.
	local := conn.LocalAddr().String()
	opts := fmt.Sprintf("OPTIONS sip:ringproof@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ok;rport\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:ringproof@127.0.0.1>\r\nCall-ID: ok\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", e.Addr(), local)
	if _, err := conn.Write([]byte(opts)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no answer to OPTIONS after junk: %v", err)
		}
		if strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") && strings.Contains(string(buf[:n]), "z9hG4bK-ok") {
			return
		}
	}
}

func TestRetransmittedInfoIsDeliveredOnce(t *testing.T) {
	e := newTestEndpoint(t)
	req := parseRequest(t, "From: <sip:+447911123456@127.0.0.1>;tag=a\nContact: <sip:caller@127.0.0.1:5070>\n")
	d := e.newServerDialog(req, "b", nil)
	info := func(seq int) *sip.Request {
		raw := fmt.Sprintf("INFO sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-%d\r\nCall-ID: c1\r\nCSeq: %d INFO\r\nFrom: <sip:a@x>;tag=a\r\nTo: <sip:b@x>;tag=b\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 10\r\n\r\nSignal=%d\r\n", seq, seq, seq)
		msg, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return msg.(*sip.Request)
	}
	for _, seq := range []int{2, 2, 3, 1, 4} {
		e.answerInfo(info(seq), nopTx{})
	}
	var got []string
	for len(d.Infos()) > 0 {
		got = append(got, strings.TrimSpace(string((<-d.Infos()).Body)))
	}
	if strings.Join(got, ",") != "Signal=2,Signal=3,Signal=4" {
		t.Fatalf("delivered %v", got)
	}
}

// nopTx is a server transaction that drops responses.
type nopTx struct{ sip.ServerTransaction }

func (nopTx) Respond(*sip.Response) error { return nil }
