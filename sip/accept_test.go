package sip

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/sip/tlstest"
)

// dialFrom connects to addr over TCP from the loopback address from.
func dialFrom(t *testing.T, from string, addr netip.AddrPort) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tcpOptions sends an OPTIONS over c and returns the status line of the
// answer, or the error that ended the wait (at most 10 s).
func tcpOptions(c net.Conn, to netip.AddrPort) (string, error) {
	branch := fmt.Sprintf("%d", time.Now().UnixNano())
	transport := "TCP"
	if _, ok := c.(*tls.Conn); ok {
		transport = "TLS"
	}
	req := fmt.Sprintf("OPTIONS sip:ping@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/%s %s;branch=z9hG4bK-%s\r\n"+
		"From: <sip:probe@%s>;tag=%s\r\n"+
		"To: <sip:ping@%s>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Length: 0\r\n\r\n",
		to, transport, c.LocalAddr(), branch, c.LocalAddr(), branch, to, branch)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// closedByPeer reports whether the peer closed c (without sending
// anything), waiting at most 5 s.
func closedByPeer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	return n == 0 && err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestStreamsFromOutsideTheTrunksAreClosedBeforeAnyRead: a TCP connection
// from a source no trunk admits is closed at once, with nothing read from
// it; one from a trunk's address is served.
func TestStreamsFromOutsideTheTrunksAreClosedBeforeAnyRead(t *testing.T) {
	e := newTestEndpointWith(t, Options{AdmitStreams: AdmitPrefixes([]netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")})})

	stranger := dialFrom(t, "127.0.0.1", e.Addr())
	if !closedByPeer(stranger) {
		t.Fatal("a connection from outside every trunk's inbound_cidrs stayed open")
	}
	if got := e.StreamStats().Refused; got != 1 {
		t.Fatalf("Refused = %d, want 1", got)
	}
	carrier := dialFrom(t, "127.0.0.2", e.Addr())
	if status, err := tcpOptions(carrier, e.Addr()); !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("OPTIONS from the trunk: %q, %v", status, err)
	}

	// The policy can change while serving (registered trunks add their
	// registrar's address).
	e.AdmitStreams(AnyOf(AdmitPrefixes([]netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}), func(src netip.Addr) bool {
		return src == netip.MustParseAddr("127.0.0.1")
	}))
	registrar := dialFrom(t, "127.0.0.1", e.Addr())
	if status, err := tcpOptions(registrar, e.Addr()); !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("OPTIONS from an address admitted later: %q, %v", status, err)
	}
}

// TestStreamCaps: past sip.max_tcp_connections_per_ip a source's next
// connection is closed at once, past sip.max_tcp_connections anyone's;
// a connection that ends frees its place.
func TestStreamCaps(t *testing.T) {
	e := newTestEndpointWith(t, Options{MaxTCPConnections: 3, MaxTCPConnectionsPerIP: 2})
	served := func(from string) net.Conn {
		t.Helper()
		c := dialFrom(t, from, e.Addr())
		if status, err := tcpOptions(c, e.Addr()); !strings.HasPrefix(status, "SIP/2.0 200") {
			t.Fatalf("OPTIONS from %s: %q, %v", from, status, err)
		}
		return c
	}
	refused := func(from string) {
		t.Helper()
		if c := dialFrom(t, from, e.Addr()); !closedByPeer(c) {
			t.Fatalf("a connection from %s over the caps stayed open", from)
		}
	}
	first := served("127.0.0.1")
	served("127.0.0.1")
	refused("127.0.0.1")
	served("127.0.0.2")
	refused("127.0.0.3")
	if s := e.StreamStats(); s.Open != 3 || s.OverCap != 2 {
		t.Fatalf("stats %+v, want 3 open, 2 over the caps", s)
	}

	first.Close()
	deadline := time.Now().Add(10 * time.Second)
	for e.StreamStats().Open != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("a closed connection still counts: %+v", e.StreamStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	served("127.0.0.1")
}

// TestTLSFromOutsideTheTrunksIsClosedBeforeTheHandshake: over TLS the
// stranger is closed before any handshake (no certificate is shown, no
// handshake CPU spent); a trunk's source completes it and is served.
func TestTLSFromOutsideTheTrunksIsClosedBeforeTheHandshake(t *testing.T) {
	ca := tlstest.NewCA(t)
	e := newTestEndpointWith(t, Options{
		TLSListen:    "127.0.0.1:0",
		TLSServer:    &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1")}},
		AdmitStreams: AdmitPrefixes([]netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}),
	})
	stranger := dialFrom(t, "127.0.0.1", e.TLSAddr())
	if !closedByPeer(stranger) {
		t.Fatal("a TLS connection from outside every trunk's inbound_cidrs stayed open")
	}
	raw := dialFrom(t, "127.0.0.2", e.TLSAddr())
	carrier := tls.Client(raw, &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"})
	if status, err := tcpOptions(carrier, e.TLSAddr()); !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TLS from the trunk: %q, %v", status, err)
	}
}
