// Package sipptest runs SIPp scenarios from testdata/sipp beside the code
// under test, for integration tests of ringproof's SIP side. SIPp plays the
// carrier (uas_*.xml) or the caller (uac_*.xml), always on 127.0.0.1, as a
// child process bounded in time and killed when the test ends.
//
// Import it only from _test.go files.
package sipptest

import (
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

const installHint = "sipp not installed: apt-get install -y sip-tester"

// Path returns the path of the sipp binary. When sipp is not on PATH it
// skips the test, or fails it when the environment variable CI is "true".
func Path(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(installHint)
		}
		t.Skip(installHint)
	}
	return p
}

// Scenario returns the absolute path of testdata/sipp/name in this module.
func Scenario(name string) string {
	return filepath.Join(scenarioDir(), name)
}

func scenarioDir() string {
	// This file is sip/sipptest/sipptest.go; testdata is two levels up.
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "sipp")
	}
	// Built with -trimpath: look upwards from the working directory, which
	// go test sets to the package under test.
	dir, err := os.Getwd()
	if err != nil {
		return filepath.Join("testdata", "sipp")
	}
	for {
		d := filepath.Join(dir, "testdata", "sipp")
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return filepath.Join("testdata", "sipp")
		}
		dir = parent
	}
}

// FreeUDPPort returns a port on 127.0.0.1 that is free for both UDP and
// TCP at the time of the call. Another process may take it before it is
// used; Start retries with a new port when SIPp then fails to bind.
//
// The port is drawn from 10000-16383: below the kernel's ephemeral range
// (32768 and up), from which outgoing connections and ":0" listeners take
// ports by themselves, for instance a client socket to the embedded etcd
// opened between the pick and the bind; and below ringproof's default RTP
// range (16384-32767), which servers of tests running at the same time
// draw from. In this range only another explicit pick can take the port,
// and never one of this test process or of another test process running
// at the same time (portlock_unix.go): a port is handed out once, so
// tests running in parallel do not get the same one.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	var lastErr error
	for range 100 {
		port := 10000 + rand.IntN(6384)
		if _, taken := handedOut.LoadOrStore(port, true); taken || !claim(port) {
			continue
		}
		port, err := freePort(port)
		if err == nil {
			return port
		}
		lastErr = err
	}
	t.Fatalf("sipptest: no free UDP+TCP port on 127.0.0.1: %v", lastErr)
	return 0
}

// handedOut holds the ports FreeUDPPort has returned in this process.
var handedOut sync.Map

// freePort returns port if it is free on 127.0.0.1 for UDP and TCP.
func freePort(port int) (int, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return 0, err
	}
	defer pc.Close()
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return 0, err
	}
	l.Close()
	return port, nil
}
