package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fdChildEnv, set, makes TestSIPListenerSurvivesRunningOutOfFiles play the
// server it tests: a process of its own, whose open-file limit it lowers.
const fdChildEnv = "RINGPROOF_TEST_FDLIMIT_CHILD"

// fdHeadroom is how many more files the child may open once limited.
const fdHeadroom = 24

// TestSIPListenerSurvivesRunningOutOfFiles runs a server in a child
// process whose open-file limit is then lowered to what it has open plus a
// few, fills the rest with TCP connections to the SIP port until accepting
// fails, and checks that /readyz says so; then closes them, and a new TCP
// connection's OPTIONS is answered and /readyz is ready again. Before, the
// first failed accept ended the TCP listener for good, silently.
func TestSIPListenerSurvivesRunningOutOfFiles(t *testing.T) {
	if os.Getenv(fdChildEnv) != "" {
		fdLimitedServer(t)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("counts open files in /proc/self/fd")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSIPListenerSurvivesRunningOutOfFiles$", "-test.count=1")
	cmd.Env = append(os.Environ(), fdChildEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	// The child's log: watch for the failed accept, keep the rest for a
	// failure report.
	acceptFailed := make(chan struct{})
	var logTail []string
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		seen := false
		for sc.Scan() {
			line := sc.Text()
			if len(logTail) < 200 {
				logTail = append(logTail, line)
			}
			if !seen && strings.Contains(line, "accepting a connection failed") && strings.Contains(line, "level=ERROR") {
				seen = true
				close(acceptFailed)
			}
		}
	}()
	fail := func(format string, args ...any) {
		t.Helper()
		stdin.Close()
		cancel()
		<-logDone
		t.Fatalf(format+"\nchild's log:\n%s", append(args, strings.Join(logTail, "\n"))...)
	}

	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil {
		fail("child did not start: %v", err)
	}
	var httpAddr, sipAddr string
	if _, err := fmt.Sscan(line, &httpAddr, &sipAddr); err != nil {
		fail("child said %q: %v", line, err)
	}
	// One HTTP connection, opened while files are left, asks /readyz.
	hc, err := net.Dial("tcp", httpAddr)
	if err != nil {
		fail("%v", err)
	}
	defer hc.Close()
	hr := bufio.NewReader(hc)
	readyz := func() (int, string) {
		t.Helper()
		hc.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(hc, "GET /readyz HTTP/1.1\r\nHost: ringproof\r\n\r\n")
		res, err := http.ReadResponse(hr, nil)
		if err != nil {
			fail("GET /readyz: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(body)
	}
	if code, body := readyz(); code != 200 {
		fail("/readyz before: %d %s", code, body)
	}
	io.WriteString(stdin, "limit\n")
	if line, err := out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "limited" {
		fail("child did not lower its limit: %q %v", line, err)
	}

	// Fill the child's files with connections to the SIP port until it
	// cannot accept.
	sip, err := netip.ParseAddrPort(sipAddr)
	if err != nil {
		fail("%v", err)
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for exhausted := false; !exhausted; {
		if len(conns) > 10*fdHeadroom {
			fail("%d connections and the child still accepts", len(conns))
		}
		c, err := net.DialTimeout("tcp", sip.String(), 5*time.Second)
		if err != nil {
			fail("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
		select {
		case <-acceptFailed:
			exhausted = true
		case <-time.After(20 * time.Millisecond):
		}
	}
	if code, body := readyz(); code != 503 || !strings.Contains(body, "sip_listener_down") {
		fail("/readyz while the SIP listener cannot accept: %d %s, want 503 sip_listener_down", code, body)
	}

	// Release them: the listener accepts again.
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.DialTimeout("tcp", sip.String(), 5*time.Second)
		if err != nil {
			fail("%v", err)
		}
		status, err := tcpOptions(c, sip.String())
		c.Close()
		if strings.HasPrefix(status, "SIP/2.0 200") {
			break
		}
		if time.Now().After(deadline) {
			fail("OPTIONS over TCP after the files were released: %q, %v", status, err)
		}
	}
	for {
		code, body := readyz()
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			fail("/readyz after the files were released: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fdLimitedServer is the child's side: it starts a server, prints its HTTP
// and SIP addresses, lowers its open-file limit when told to ("limit" on
// stdin), says "limited", and runs until stdin closes.
func fdLimitedServer(t *testing.T) {
	c := testConfig(t, "127.0.0.1:9")
	c.Log.Level = "info"
	log := newLogger(c.Log, os.Stderr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := start(ctx, c, log)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer srv.Close(context.Background())
	fmt.Printf("%s %s\n", srv.HTTPAddr(), srv.sip.Addr())
	in := bufio.NewReader(os.Stdin)
	if line, _ := in.ReadString('\n'); strings.TrimSpace(line) != "limit" {
		return
	}
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = uint64(len(open) + fdHeadroom)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	fmt.Println("limited")
	io.Copy(io.Discard, in)
}

// tcpOptions sends an OPTIONS over the TCP connection c to the SIP
// endpoint at to, and returns the status line of the answer or the error
// that ended the wait (at most 10 s).
func tcpOptions(c net.Conn, to string) (string, error) {
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	req := fmt.Sprintf("OPTIONS sip:ping@%[1]s;transport=tcp SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP %[2]s;branch=z9hG4bK-%[3]s\r\n"+
		"From: <sip:probe@%[2]s>;tag=%[3]s\r\n"+
		"To: <sip:ping@%[1]s>\r\n"+
		"Call-ID: %[3]s\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		to, c.LocalAddr(), id)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}
