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

// waitListening polls until process pid listens on addr (127.0.0.1:port)
// for the transport ("u1", "t1", ...), until ctx is done or exited is
// closed.
func waitListening(ctx context.Context, pid int, addr, transport string, exited <-chan struct{}) error {
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
		ok, err := listening(pid, host, port, tcp)
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

// listening reports whether process pid has a socket bound to port: from
// the kernel's socket tables where there are some (Linux), which disturbs
// nothing; else by trying to bind the port, which may race with SIPp's own
// bind and cannot tell who holds it.
func listening(pid int, host string, port int, tcp bool) (bool, error) {
	name := "/proc/net/udp"
	if tcp {
		name = "/proc/net/tcp"
	}
	if f, err := os.Open(name); err == nil {
		defer f.Close()
		inodes, err := inSocketTable(f, port, tcp)
		if err != nil || len(inodes) == 0 {
			return false, err
		}
		return ownsSocket(pid, inodes)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var err error
	if tcp {
		var l net.Listener
		if l, err = net.Listen("tcp4", addr); err == nil {
			l.Close()
		}
	} else {
		var pc net.PacketConn
		if pc, err = net.ListenPacket("udp4", addr); err == nil {
			pc.Close()
		}
	}
	return errors.Is(err, syscall.EADDRINUSE), nil
}

// ownsSocket reports whether one of pid's open files is a socket with one
// of the inodes. Without /proc/<pid>/fd it trusts the socket table.
func ownsSocket(pid int, inodes []string) (bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return true, nil
	}
	for _, fd := range fds {
		link, err := os.Readlink(dir + "/" + fd.Name())
		if err != nil {
			continue // closed meanwhile
		}
		for _, ino := range inodes {
			if link == "socket:["+ino+"]" {
				return true, nil
			}
		}
	}
	return false, nil
}

// inSocketTable returns the inodes of the sockets bound to port in a
// /proc/net/{udp,tcp} table; for TCP only listening ones (state 0A).
func inSocketTable(r io.Reader, port int, tcp bool) ([]string, error) {
	want := fmt.Sprintf(":%04X", port)
	var inodes []string
	sc := bufio.NewScanner(r)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
		f := strings.Fields(sc.Text())
		if len(f) < 10 || !strings.HasSuffix(f[1], want) {
			continue
		}
		if !tcp || f[3] == "0A" {
			inodes = append(inodes, f[9])
		}
	}
	return inodes, sc.Err()
}
