package sipptest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// waitListening polls until something listens on addr (127.0.0.1:port) for
// the transport ("u1", "t1", ...), until ctx is done or exited is closed.
func waitListening(ctx context.Context, addr, transport string, exited <-chan struct{}) error {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("port %q: %w", portStr, err)
	}
	tcp := strings.HasPrefix(transport, "t")
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := listening(host, port, tcp)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listening on %s: %w", addr, context.Cause(ctx))
		case <-exited:
			return errExited
		case <-tick.C:
		}
	}
}

var errExited = errors.New("sipp exited")

// listening reports whether a socket is bound to port: from the kernel's
// socket table where there is one (Linux), which disturbs nothing; else by
// trying to bind the port, which may race with SIPp's own bind.
func listening(host string, port int, tcp bool) (bool, error) {
	name := "/proc/net/udp"
	if tcp {
		name = "/proc/net/tcp"
	}
	f, err := os.Open(name)
	if err == nil {
		defer f.Close()
		return inSocketTable(f, port, tcp)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	if tcp {
		l, err := net.Listen("tcp4", addr)
		if err == nil {
			l.Close()
			return false, nil
		}
		return errors.Is(err, syscall.EADDRINUSE), nil
	}
	pc, err := net.ListenPacket("udp4", addr)
	if err == nil {
		pc.Close()
		return false, nil
	}
	return errors.Is(err, syscall.EADDRINUSE), nil
}

// inSocketTable scans a /proc/net/{udp,tcp} table for a socket bound to
// port; for TCP it must be listening (state 0A).
func inSocketTable(r io.Reader, port int, tcp bool) (bool, error) {
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(r)
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasSuffix(f[1], want) {
			continue
		}
		if !tcp || f[3] == "0A" {
			return true, nil
		}
	}
	return false, sc.Err()
}
