package sip

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the endpoint's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMethodsNotTakenGet405WithAllow: REGISTER, SUBSCRIBE or a method no
// one knows get 405 with the methods the endpoint takes (RFC 3261 §8.2.1),
// and leave no line in the log: anyone who reaches the port can send them.
func TestMethodsNotTakenGet405WithAllow(t *testing.T) {
	var logged syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := Listen(ctx, Options{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	conn, err := net.Dial("udp", e.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	for i, method := range []string{"REGISTER", "SUBSCRIBE", "NOTIFY", "FROBNICATE"} {
		branch := fmt.Sprintf("z9hG4bK-noroute%d", i)
		req := fmt.Sprintf("%s sip:ringproof@%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=%s;rport\r\n"+
			"From: <sip:+447911123456@127.0.0.1>;tag=1\r\nTo: <sip:ringproof@127.0.0.1>\r\n"+
			"Call-ID: %s\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\nContact: <sip:a@%s>\r\nContent-Length: 0\r\n\r\n",
			method, e.Addr(), conn.LocalAddr(), branch, branch, method, conn.LocalAddr())
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("%s: no answer: %v", method, err)
		}
		res := string(buf[:n])
		if !strings.HasPrefix(res, "SIP/2.0 405 Method Not Allowed\r\n") || !strings.Contains(res, "\r\nAllow: "+allowed+"\r\n") {
			t.Fatalf("%s: got %q, want 405 with Allow: %s", method, res, allowed)
		}
	}
	if got := logged.String(); strings.Contains(got, "level=WARN") || strings.Contains(got, "level=ERROR") {
		t.Fatalf("the requests were logged: %s", got)
	}
}
