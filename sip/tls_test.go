package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/ringproof/ringproof/sip/tlstest"
)

// Flash calls over TLS, against ringproof's own endpoint playing the
// carrier's handset (Debian's SIPp is built without TLS).

// ringLog collects what a handset reports.
type ringLog struct {
	mu    sync.Mutex
	rings []Ring
	whats []string
	ended chan struct{}
}

func newRingLog() *ringLog { return &ringLog{ended: make(chan struct{}, 16)} }

func (l *ringLog) report(r Ring, what string) {
	l.mu.Lock()
	l.rings = append(l.rings, r)
	l.whats = append(l.whats, what)
	l.mu.Unlock()
	if what != RingRinging {
		l.ended <- struct{}{}
	}
}

func (l *ringLog) seen() ([]Ring, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.rings), slices.Clone(l.whats)
}

// tlsHandset is a phone behind a carrier that takes calls over TLS with a
// certificate of ca for 127.0.0.1.
func tlsHandset(t *testing.T, ca *tlstest.CA) (*Endpoint, *ringLog) {
	t.Helper()
	e := newTestEndpointWith(t, Options{TLSListen: "127.0.0.1:0", TLSServer: &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1")}}})
	rings := newRingLog()
	e.ServeHandset(10*time.Second, rings.report)
	return e, rings
}

func TestFlashOverTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	carrier, rings := tlsHandset(t, ca)
	e := newTestEndpointWith(t, Options{
		TLSListen: "127.0.0.1:0",
		TLSServer: &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1")}},
		TLSClient: &tls.Config{RootCAs: ca.Pool},
	})
	for i := range 3 {
		var rec recorder
		final := e.Flash(context.Background(), testCall(carrier.TLSAddr().String(), "tls"), FlashOptions{Timeout: 10 * time.Second}, rec.report)
		want := []EventKind{EventDialing, EventRinging, EventCancelled}
		if !slices.Equal(rec.kinds(), want) || final.Status != 487 {
			t.Fatalf("call %d: events %v, final %+v; want %v ending in 487", i, rec.kinds(), final, want)
		}
		select {
		case <-rings.ended:
		case <-time.After(10 * time.Second):
			t.Fatalf("call %d: the handset did not see the call end", i)
		}
	}
	got, whats := rings.seen()
	if len(got) != 6 {
		t.Fatalf("handset reported %v, want 3 rings and 3 cancels", whats)
	}
	for i, r := range got {
		if want := []string{RingRinging, RingCancelled}[i%2]; whats[i] != want {
			t.Errorf("report %d: %s, want %s", i, whats[i], want)
		}
		if r.Transport != "TLS" || r.CallerID != testFrom || r.To != testTo {
			t.Errorf("report %d: call from %q to %q over %q, want %q to %q over TLS", i, r.CallerID, r.To, r.Transport, testFrom, testTo)
		}
	}
	if n := e.FastCancels(); n != 0 {
		t.Errorf("%d CANCELs from the UDP read path for calls over TLS", n)
	}
}

func TestFlashOverTLSRefusesAnUntrustedCarrier(t *testing.T) {
	ca := tlstest.NewCA(t)
	carrier, rings := tlsHandset(t, ca)
	other := tlstest.NewCA(t) // roots that did not sign the carrier's certificate
	tests := []struct {
		name   string
		client *tls.Config
		reason string
	}{
		{"unknown CA", &tls.Config{RootCAs: other.Pool}, "certificate"},
		{"no roots at all", &tls.Config{RootCAs: x509.NewCertPool()}, "certificate"},
		{"name not in the certificate", &tls.Config{RootCAs: ca.Pool, ServerName: "carrier.example"}, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEndpointWith(t, Options{
				TLSListen: "127.0.0.1:0",
				TLSServer: &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1")}},
				TLSClient: tt.client,
			})
			var rec recorder
			final := e.Flash(context.Background(), testCall(carrier.TLSAddr().String(), "tls"), FlashOptions{Timeout: 5 * time.Second}, rec.report)
			t.Logf("final: %+v", final)
			if final.Kind != EventFailed || !strings.Contains(final.Reason, tt.reason) {
				t.Fatalf("final %+v, want failed naming the %s", final, tt.reason)
			}
		})
	}
	if got, _ := rings.seen(); len(got) != 0 {
		t.Errorf("the handset rang %d times through a connection that should have been refused", len(got))
	}
}

func TestTLSTrunkNeedsATLSListener(t *testing.T) {
	e := newTestEndpoint(t)
	var rec recorder
	final := e.Flash(context.Background(), testCall("127.0.0.1:5061", "tls"), FlashOptions{Timeout: time.Second}, rec.report)
	if final.Kind != EventFailed || !strings.Contains(final.Reason, "TLS listener") {
		t.Fatalf("final %+v, want failed naming the missing TLS listener", final)
	}
}

func TestInviteOverTLSNamesTheTLSListener(t *testing.T) {
	ca := tlstest.NewCA(t)
	e := newTestEndpointWith(t, Options{TLSListen: "127.0.0.1:0", TLSServer: &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1")}}})
	if e.TLSAddr().Port() == 0 || e.TLSAddr().Port() == e.Addr().Port() {
		t.Fatalf("TLS listens on %v, UDP and TCP on %v", e.TLSAddr(), e.Addr())
	}
	tests := []struct {
		transport, via, contactParam string
		port                         uint16
	}{
		{"udp", "UDP", "", e.Addr().Port()},
		{"tcp", "TCP", "tcp", e.Addr().Port()},
		{"tls", "TLS", "tls", e.TLSAddr().Port()},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			req, err := e.newInvite(testCall("127.0.0.1:5061", tt.transport))
			if err != nil {
				t.Fatal(err)
			}
			v := req.Via()
			if v.Transport != tt.via || v.Port != int(tt.port) || v.Host != "127.0.0.1" {
				t.Errorf("Via %s, want SIP/2.0/%s 127.0.0.1:%d", v.Value(), tt.via, tt.port)
			}
			c := req.Contact()
			param, _ := c.Address.UriParams.Get("transport")
			if c.Address.Port != int(tt.port) || param != tt.contactParam {
				t.Errorf("Contact %s, want port %d and transport=%q", c.Value(), tt.port, tt.contactParam)
			}
			// Requests within the dialog take the INVITE's transport too.
			d := &Dialog{e: e, transport: req.Transport(), callID: "x", target: sip.Uri{Host: "127.0.0.1", Port: 5061}}
			bye := d.request(sip.BYE)
			if bv := bye.Via(); bv.Transport != tt.via || bv.Port != int(tt.port) {
				t.Errorf("BYE Via %s, want %s port %d", bv.Value(), tt.via, tt.port)
			}
		})
	}
}

// TestSilentStreamsAreClosed connects over TCP and TLS and sends nothing:
// the endpoint closes both once the idle timeout passes (for TLS, a
// handshake never begun).
func TestSilentStreamsAreClosed(t *testing.T) {
	ca := tlstest.NewCA(t)
	e := newTestEndpointWith(t, Options{
		TLSListen: "127.0.0.1:0", TLSServer: &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1")}},
		StreamIdleTimeout: 200 * time.Millisecond,
	})
	for _, addr := range []string{e.Addr().String(), e.TLSAddr().String()} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		start := time.Now()
		if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("%s: a silent connection read %v after %v, want EOF (closed by the endpoint)", addr, err, time.Since(start))
		}
	}
}
