package sip

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listenSocket opens a udpSocket on addr whose polls only Close can end.
func listenSocket(t *testing.T, addr string) *udpSocket {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := listenUDP(ap, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	s := c.(*udpSocket)
	s.pollMillis = -1
	t.Cleanup(func() { s.Close() })
	return s
}

// TestUDPSocketExchanges: datagrams are read with their source, which a
// reply can be sent to, on IPv4, IPv6, and an IPv6 wildcard socket reached
// over IPv4 (whose peers must read as plain IPv4 addresses).
func TestUDPSocketExchanges(t *testing.T) {
	for _, tc := range []struct{ name, listen, dial string }{
		{"IPv4", "127.0.0.1:0", "127.0.0.1"},
		{"IPv6", "[::1]:0", "::1"},
		{"wildcard over IPv4", "0.0.0.0:0", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := listenSocket(t, tc.listen)
			to := &net.UDPAddr{IP: net.ParseIP(tc.dial), Port: s.LocalAddr().(*net.UDPAddr).Port}
			peer, err := net.DialUDP("udp", nil, to)
			if err != nil {
				t.Fatalf("dial %s: %v", to, err)
			}
			defer peer.Close()
			buf := make([]byte, 2048)
			for _, msg := range []string{"OPTIONS sip:a SIP/2.0\r\n\r\n", "SIP/2.0 180 Ringing\r\n\r\n"} {
				if _, err := peer.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				n, from, err := s.ReadFrom(buf)
				if err != nil {
					t.Fatalf("ReadFrom: %v", err)
				}
				if got := string(buf[:n]); got != msg {
					t.Errorf("read %q, want %q", got, msg)
				}
				if from.String() != peer.LocalAddr().String() {
					t.Errorf("source %s, want %s", from, peer.LocalAddr())
				}
				if _, err := s.WriteTo([]byte("reply"), from); err != nil {
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

func TestUDPSocketRefusesWhatItCannotSend(t *testing.T) {
	s := listenSocket(t, "127.0.0.1:0")
	for _, tc := range []struct {
		name string
		to   net.Addr
	}{
		{"IPv6 peer on an IPv4 socket", &net.UDPAddr{IP: net.ParseIP("::1"), Port: 5060}},
		{"not a UDP address", &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5060}},
		{"no address", (*net.UDPAddr)(nil)},
	} {
		if _, err := s.WriteTo([]byte("x"), tc.to); err == nil {
			t.Errorf("%s: WriteTo succeeded", tc.name)
		}
	}
}

// TestUDPSocketCloseWakesReader: Close ends a ReadFrom blocked in poll(2),
// which has no time bound here; without the wake-up the test hangs until
// its deadline.
func TestUDPSocketCloseWakesReader(t *testing.T) {
	s := listenSocket(t, "127.0.0.1:0")
	polling := make(chan struct{}, 1)
	s.onPoll = func() {
		select {
		case polling <- struct{}{}:
		default:
		}
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := s.ReadFrom(make([]byte, 100))
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
	go func() { closed <- s.Close() }()
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
	for name, err := range map[string]error{
		"ReadFrom": func() error { _, _, err := s.ReadFrom(make([]byte, 100)); return err }(),
		"WriteTo":  func() error { _, err := s.WriteTo([]byte("x"), s.LocalAddr()); return err }(),
		"Close":    s.Close(),
	} {
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s on a closed socket: %v, want net.ErrClosed", name, err)
		}
	}
}

// TestUDPSocketPortInUse: binding a taken port fails with an error naming
// the address.
func TestUDPSocketPortInUse(t *testing.T) {
	s := listenSocket(t, "127.0.0.1:0")
	ap := s.LocalAddr().(*net.UDPAddr).AddrPort()
	if c, err := listenUDP(ap, true, slog.New(slog.DiscardHandler)); err == nil {
		c.Close()
		t.Fatalf("second bind of %s succeeded", ap)
	} else if !errors.Is(err, unix.EADDRINUSE) {
		t.Errorf("second bind: %v, want EADDRINUSE", err)
	}
}
