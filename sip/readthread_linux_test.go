package sip

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"
)

// listenThreadConn opens a UDP socket on addr read through a threadConn
// whose polls only Close can end.
func listenThreadConn(t *testing.T, addr string) *threadConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(mustAddrPort(t, addr)))
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	tc, ok := readOnThread(c, slog.New(slog.DiscardHandler)).(*threadConn)
	if !ok {
		c.Close()
		t.Fatal("readOnThread did not wrap the socket")
	}
	tc.pollMillis = -1
	t.Cleanup(func() { tc.Close() })
	return tc
}

func TestThreadConnReadsDatagrams(t *testing.T) {
	for _, tc := range []struct{ name, addr string }{
		{"IPv4", "127.0.0.1:0"},
		{"IPv6", "[::1]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := listenThreadConn(t, tc.addr)
			peer, err := net.DialUDP("udp", nil, conn.LocalAddr().(*net.UDPAddr))
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			buf := make([]byte, 2048)
			for _, msg := range []string{"OPTIONS sip:a SIP/2.0\r\n\r\n", "SIP/2.0 180 Ringing\r\n\r\n"} {
				if _, err := peer.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				n, from, err := conn.ReadFrom(buf)
				if err != nil {
					t.Fatalf("ReadFrom: %v", err)
				}
				if got := string(buf[:n]); got != msg {
					t.Errorf("read %q, want %q", got, msg)
				}
				if from.String() != peer.LocalAddr().String() {
					t.Errorf("source %s, want %s", from, peer.LocalAddr())
				}
				// The source is usable as is: a reply reaches the peer.
				if _, err := conn.WriteTo([]byte("reply"), from); err != nil {
					t.Fatalf("WriteTo %s: %v", from, err)
				}
				peer.SetReadDeadline(time.Now().Add(5 * time.Second))
				if n, err := peer.Read(buf); err != nil || string(buf[:n]) != "reply" {
					t.Fatalf("peer read %q, %v", buf[:n], err)
				}
			}
		})
	}
}

// TestThreadConnCloseWakesReader: Close ends a ReadFrom blocked in poll(2),
// which has no time bound here; without the wake-up the test hangs until
// its deadline.
func TestThreadConnCloseWakesReader(t *testing.T) {
	conn := listenThreadConn(t, "127.0.0.1:0")
	polling := make(chan struct{}, 1)
	conn.onPoll = func() {
		select {
		case polling <- struct{}{}:
		default:
		}
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := conn.ReadFrom(make([]byte, 100))
		done <- err
	}()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	select {
	case <-polling:
	case <-deadline.C:
		t.Fatal("the reader never polled")
	}
	closed := make(chan error, 1)
	go func() { closed <- conn.Close() }()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadFrom after Close: %v, want net.ErrClosed", err)
		}
	case <-deadline.C:
		t.Fatal("Close did not wake the blocked reader")
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-deadline.C:
		t.Fatal("Close did not return")
	}
	if _, _, err := conn.ReadFrom(make([]byte, 100)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadFrom on a closed socket: %v, want net.ErrClosed", err)
	}
}

func mustAddrPort(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}
