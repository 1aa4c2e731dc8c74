package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/sip/sipptest"
	"github.com/ringproof/ringproof/sip/tlstest"
)

// SIP over TLS, end to end: the server against the test handset
// ("ringproof phone"), both with certificates of a CA made for the test.
// (Debian's SIPp is built without TLS.)

// tlsFiles are one side's PEM files: the CA that signs both sides, and a
// certificate for 127.0.0.1 with its key.
type tlsFiles struct{ ca, cert, key string }

func newTLSFiles(t *testing.T, ca *tlstest.CA) tlsFiles {
	caFile, cert, key := ca.Files(t, "127.0.0.1")
	return tlsFiles{caFile, cert, key}
}

// withSIPTLS gives c a TLS listener on a free loopback port with f.
func withSIPTLS(t *testing.T, c *conf.Config, f tlsFiles) *conf.Config {
	c.SIP.TLSListen = fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	c.SIP.TLSCertFile, c.SIP.TLSKeyFile, c.SIP.TLSCAFile = f.cert, f.key, f.ca
	return c
}

func TestFlashCallOverATLSTrunk(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	phoneFiles, serverFiles := newTLSFiles(t, ca), newTLSFiles(t, ca)
	phoneTLS := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	lines := runPhone(t, "--listen", fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t)),
		"--tls-listen", phoneTLS, "--tls-cert", phoneFiles.cert, "--tls-key", phoneFiles.key, "--count", "1")
	nextLine(t, lines, regexp.MustCompile(`^phone: listening on .* and `+regexp.QuoteMeta(phoneTLS)+` \(tls\)`))

	c := withSIPTLS(t, testConfig(t, phoneTLS), serverFiles)
	c.Trunks[0].Transport = "tls"
	srv := startServer(t, c)
	id := srv.create(testNumber)
	ring := nextLine(t, lines, regexp.MustCompile(`^phone: ringing: call from (\+\d+) to (\+\d+)(.*)`))
	if ring[2] != testNumber || !inPool(ring[1]) || ring[3] != " over tls" {
		t.Fatalf("phone printed %q", ring[0])
	}
	m := nextLine(t, lines, regexp.MustCompile(`^phone: cancelled: call from (\+\d+) to (\+\d+) after .* \(flash-call code (\d{4})\)$`))
	v := srv.waitFor(id, "rang", status("rang"))
	if got := strings.Join(eventTypes(v), ","); got != "dialing,ringing,cancelled" {
		t.Fatalf("events %s", got)
	}
	if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+m[3]+`"}`); c["status"] != "verified" {
		t.Fatalf("the code the phone showed over TLS did not verify: %v", c)
	}
}

func TestInboundMissedCallOverTLS(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	serverFiles, phoneFiles := newTLSFiles(t, ca), newTLSFiles(t, ca)
	srv := startServer(t, withSIPTLS(t, inboundConfig(t), serverFiles))
	tlsAddr := srv.sip.TLSAddr().String()
	phoneCall := func(from, to string, f tlsFiles) (int, string) {
		var out bytes.Buffer
		code := run(context.Background(), []string{"phone", "call", "--from", from, "--to", to, "--server", tlsAddr, "--transport", "tls",
			"--tls-listen", "127.0.0.1:0", "--tls-cert", f.cert, "--tls-key", f.key, "--tls-ca", f.ca, "--timeout", "10s"}, &out, io.Discard)
		return code, out.String()
	}

	// A phone that does not trust the server's certificate never gets
	// through: the verification stays pending.
	stranger := newTLSFiles(t, tlstest.NewCA(t))
	id, dial := srv.createInbound(testNumber)
	if code, out := phoneCall(testNumber, dial, stranger); code != 1 || !strings.Contains(out, "call failed") || !strings.Contains(out, "certificate") {
		t.Fatalf("a call that cannot trust the server: exit %d\n%s", code, out)
	}
	if _, v := srv.call("GET", "/v1/verifications/"+id, ""); v["status"] != "pending" {
		t.Fatalf("after a call that never connected: %v", v)
	}

	if code, out := phoneCall(testNumber, dial, phoneFiles); code != 0 || !strings.Contains(out, "phone: rejected: 603 Decline") {
		t.Fatalf("phone call over TLS: exit %d\n%s", code, out)
	}
	v := srv.waitFor(id, "verified", status("verified"))
	if got := strings.Join(eventTypes(v), ","); got != "inbound_call" {
		t.Fatalf("events %s", got)
	}
}

func TestPhoneTLSFlagsAreChecked(t *testing.T) {
	ca := tlstest.NewCA(t)
	f := newTLSFiles(t, ca)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"phone", "--tls-cert", f.cert}, "need --tls-listen"},
		{[]string{"phone", "--tls-listen", "127.0.0.1:0"}, "needs --tls-cert and --tls-key"},
		{[]string{"phone", "--tls-listen", "127.0.0.1:0", "--tls-cert", f.cert, "--tls-key", f.ca}, "tls_cert_file"},
		{[]string{"phone", "call", "--from", testNumber, "--to", "+441632960000", "--transport", "tls"}, "--transport tls needs --tls-listen"},
	}
	for _, tt := range tests {
		var errOut bytes.Buffer
		if code := run(context.Background(), tt.args, io.Discard, &errOut); code != 2 || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut.String(), tt.want)
		}
	}
}

func TestMutualTLSRefusesCarriersWithoutATrustedCertificate(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	serverFiles, phoneFiles := newTLSFiles(t, ca), newTLSFiles(t, ca)
	c := withSIPTLS(t, inboundConfig(t), serverFiles)
	c.SIP.TLSVerifyClients = true
	srv := startServer(t, c)
	tlsAddr := srv.sip.TLSAddr().String()
	call := func(f tlsFiles, dial, timeout string) (int, string) {
		var out bytes.Buffer
		code := run(context.Background(), []string{"phone", "call", "--from", testNumber, "--to", dial, "--server", tlsAddr, "--transport", "tls",
			"--tls-listen", "127.0.0.1:0", "--tls-cert", f.cert, "--tls-key", f.key, "--tls-ca", f.ca, "--timeout", timeout}, &out, io.Discard)
		return code, out.String()
	}
	id, dial := srv.createInbound(testNumber)
	// Its certificate is signed by a CA the server does not trust, though
	// it trusts the server's. Over TLS 1.3 the client learns of the
	// refusal only when it reads, so its INVITE just goes unanswered.
	other := newTLSFiles(t, tlstest.NewCA(t))
	if code, out := call(tlsFiles{ca: serverFiles.ca, cert: other.cert, key: other.key}, dial, "2s"); code != 1 || strings.Contains(out, "ringing") {
		t.Fatalf("a carrier with an untrusted client certificate: exit %d\n%s", code, out)
	}
	if _, v := srv.call("GET", "/v1/verifications/"+id, ""); v["status"] != "pending" {
		t.Fatalf("after a refused connection: %v", v)
	}
	if code, out := call(phoneFiles, dial, "10s"); code != 0 || !strings.Contains(out, "rejected: 603") {
		t.Fatalf("a carrier with a trusted client certificate: exit %d\n%s", code, out)
	}
	srv.waitFor(id, "verified", status("verified"))
}
