package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestStrayCancelGets481: a CANCEL matching no pending INVITE is answered
// 481 Call/Transaction Does Not Exist (RFC 3261 §9.2), not 405.
func TestStrayCancelGets481(t *testing.T) {
	e := newTestEndpoint(t)
	conn, err := net.Dial("udp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := fmt.Sprintf("CANCEL sip:+441632960000@%[1]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK-stray;rport\r\n"+
		"From: <sip:+447911123456@127.0.0.1>;tag=1\r\n"+
		"To: <sip:+441632960000@127.0.0.1>\r\n"+
		"Call-ID: stray-cancel\r\n"+
		"CSeq: 1 CANCEL\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Length: 0\r\n\r\n", e.Addr(), conn.LocalAddr())
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := strings.Cut(string(buf[:n]), "\r\n"); status != "SIP/2.0 481 Call/Transaction Does Not Exist" {
		t.Fatalf("stray CANCEL answered %q", status)
	}
}
