package sipptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Defaults for Options.
const (
	DefaultTimeout     = 60 * time.Second // SIPp quits by itself after this
	DefaultRecvTimeout = 10 * time.Second // a call waits this long for each message
	listenTimeout      = 10 * time.Second // SIPp must bind its port within this
)

// Exit codes of sipp (see sipp -h).
const (
	ExitOK         = 0   // all calls successful
	ExitCallFailed = 1   // at least one call failed
	ExitInternal   = 97  // exit on internal command
	ExitNoCalls    = 99  // normal exit without calls processed
	ExitFatal      = 255 // -1: fatal error
	ExitBindFailed = 254 // -2: fatal error binding a socket
)

// ErrCallsFailed is returned by Proc.Wait when SIPp exits with code 1:
// some call failed (unexpected message, timeout, failed check in the
// scenario). The Result still holds the counts and the log.
var ErrCallsFailed = errors.New("sipp: some calls failed")

// Options describe one SIPp run.
type Options struct {
	// Scenario is a file name in testdata/sipp ("uas_ring_cancel.xml") or
	// a path to a scenario file.
	Scenario string
	// Listen is the local address, 127.0.0.1:port. Empty: 127.0.0.1 with a
	// port from FreeUDPPort.
	Listen string
	// Transport is SIPp's -t: "u1" (UDP, the default) or "t1" (TCP).
	Transport string
	// Calls is -m: SIPp exits once this many calls are processed. Zero
	// leaves SIPp running until Timeout.
	Calls int
	// Remote is the host:port to call; empty runs SIPp as the server (UAS).
	Remote string
	// Rate is -r, new calls per second (UAC); zero keeps SIPp's 10.
	Rate int
	// Timeout is -timeout with -timeout_error: SIPp quits, failing, after
	// this long. Zero means DefaultTimeout.
	Timeout time.Duration
	// RecvTimeout is -recv_timeout: a call fails when an expected message
	// does not come within it. Zero means DefaultRecvTimeout.
	RecvTimeout time.Duration
	// NoMessageTrace turns off -trace_msg (every SIP message written to
	// messages.log), for load runs.
	NoMessageTrace bool
	// ExtraArgs are appended to the command line, e.g. "-au", "ringproof".
	ExtraArgs []string
}

// Proc is a SIPp child process started by Start.
type Proc struct {
	// Addr is SIPp's local address, 127.0.0.1:port: the carrier trunk to
	// point ringproof at when SIPp is the UAS.
	Addr string
	// Dir holds SIPp's files: calls.log (<log> records), errors.log,
	// messages.log, stats.csv, screen.log, stdout.log, stderr.log.
	Dir string

	cmd     *exec.Cmd
	done    chan struct{}
	exitErr error // from cmd.Wait, valid once done is closed
}

// Start runs sipp in the background as a child process and, when it is the
// server (no Remote), returns once it listens on its port. It stops the
// test with t.Fatal when SIPp cannot start. SIPp exits by itself after
// o.Calls calls or o.Timeout; it is killed when ctx is done or the test
// ends. Call Start from the test's goroutine.
func Start(ctx context.Context, t testing.TB, o Options) *Proc {
	t.Helper()
	bin := Path(t)
	if o.Scenario == "" {
		t.Fatal("sipptest: Options.Scenario is empty")
	}
	scen := o.Scenario
	if !strings.ContainsRune(scen, filepath.Separator) {
		scen = Scenario(scen)
	}
	if _, err := os.Stat(scen); err != nil {
		t.Fatalf("sipptest: scenario: %v", err)
	}
	// A port picked by FreeUDPPort may be taken before SIPp binds it;
	// then try another.
	tries := 1
	if o.Listen == "" {
		tries = 3
	}
	var lastErr error
	for range tries {
		listen := o.Listen
		if listen == "" {
			listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(FreeUDPPort(t)))
		}
		p, err := start(ctx, t, bin, scen, listen, o)
		if err == nil {
			return p
		}
		lastErr = err
		if !errors.Is(err, errBind) {
			break
		}
	}
	t.Fatalf("sipptest: start %s: %v", filepath.Base(scen), lastErr)
	return nil
}

var errBind = errors.New("sipp could not bind its port")

func start(ctx context.Context, t testing.TB, bin, scen, listen string, o Options) (*Proc, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", listen, err)
	}
	dir, err := os.MkdirTemp(t.TempDir(), "sipp-")
	if err != nil {
		return nil, err
	}
	transport := o.Transport
	if transport == "" {
		transport = "u1"
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	recvTimeout := o.RecvTimeout
	if recvTimeout <= 0 {
		recvTimeout = DefaultRecvTimeout
	}

	var args []string
	if o.Remote != "" {
		args = append(args, o.Remote)
	}
	args = append(args,
		"-sf", scen,
		"-t", transport,
		"-i", host, "-p", port, "-bind_local",
		"-mi", host,
		"-nostdin",
		"-timeout", fmt.Sprintf("%dms", timeout.Milliseconds()), "-timeout_error",
		"-recv_timeout", fmt.Sprintf("%dms", recvTimeout.Milliseconds()),
		// A loaded machine stalls SIPp; that must not end the run.
		"-watchdog_minor_maxtriggers", "1000000", "-watchdog_major_maxtriggers", "1000000",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_logs", "-log_file", filepath.Join(dir, "calls.log"),
		"-trace_stat", "-stf", filepath.Join(dir, "stats.csv"),
		"-trace_screen", "-screen_file", filepath.Join(dir, "screen.log"),
	)
	if !o.NoMessageTrace {
		args = append(args, "-trace_msg", "-message_file", filepath.Join(dir, "messages.log"))
	}
	if o.Calls > 0 {
		args = append(args, "-m", strconv.Itoa(o.Calls))
	}
	if o.Rate > 0 {
		args = append(args, "-r", strconv.Itoa(o.Rate))
	}
	args = append(args, o.ExtraArgs...)

	stdout, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return nil, err
	}
	defer stdout.Close() // the child has its own descriptor
	stderr, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Addr: listen, Dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)

	if o.Remote != "" {
		return p, nil
	}
	wctx, cancel := context.WithTimeout(ctx, listenTimeout)
	defer cancel()
	if err := waitListening(wctx, cmd.Process.Pid, listen, transport, p.done); err != nil {
		p.kill()
		code := p.exitCode()
		err = fmt.Errorf("%w (exit code %d)\n%s", err, code, p.diagnostics())
		if code == ExitBindFailed {
			err = fmt.Errorf("%w: %w", errBind, err)
		}
		return nil, err
	}
	return p, nil
}

// kill ends the process if it still runs and waits for it.
func (p *Proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// exitCode is valid once done is closed; -1 when killed by a signal.
func (p *Proc) exitCode() int {
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Result is how a SIPp run ended.
type Result struct {
	ExitCode   int      // see the Exit* constants; -1 when killed
	Successful int      // calls SIPp counted as successful
	Failed     int      // calls SIPp counted as failed
	LogLines   []string // lines written by the scenario's <log> actions
	Errors     string   // head of SIPp's error log: why calls failed
}

// Wait waits for SIPp to exit and reports the run. The error is nil only
// when SIPp exited 0; it wraps ErrCallsFailed when it exited 1, and is
// ctx's error when ctx ended first (SIPp is then left to the test's
// cleanup). The Result is filled in as far as it is known in every case.
func (p *Proc) Wait(ctx context.Context) (Result, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		res, _ := p.result()
		return res, fmt.Errorf("sipp still running (%s): %w", p.Dir, context.Cause(ctx))
	}
	res, err := p.result()
	if err != nil {
		return res, err
	}
	switch res.ExitCode {
	case ExitOK:
		return res, nil
	case ExitCallFailed:
		return res, fmt.Errorf("%w: %d successful, %d failed (%s)\n%s",
			ErrCallsFailed, res.Successful, res.Failed, p.Dir, res.Errors)
	default:
		return res, fmt.Errorf("sipp exited %d: %v (%s)\n%s", res.ExitCode, p.exitErr, p.Dir, p.diagnostics())
	}
}

func (p *Proc) result() (Result, error) {
	var res Result
	select {
	case <-p.done:
		res.ExitCode = p.exitCode()
	default:
		res.ExitCode = -1
	}
	var errs []error
	var err error
	res.Successful, res.Failed, err = readCallCounts(filepath.Join(p.Dir, "stats.csv"))
	if err != nil {
		errs = append(errs, err)
	}
	res.LogLines, err = readLines(filepath.Join(p.Dir, "calls.log"))
	if err != nil {
		errs = append(errs, err)
	}
	res.Errors = head(filepath.Join(p.Dir, "errors.log"), 4096)
	return res, errors.Join(errs...)
}

// Log parses the records the scenario has written so far, one per call
// (see RecordPrefix). It may be called while SIPp runs.
func (p *Proc) Log() ([]Record, error) {
	lines, err := readLines(filepath.Join(p.Dir, "calls.log"))
	if err != nil {
		return nil, err
	}
	return parseRecords(lines)
}

// diagnostics is what SIPp said about a failed start or run.
func (p *Proc) diagnostics() string {
	var b strings.Builder
	for _, f := range []string{"stderr.log", "errors.log"} {
		if s := head(filepath.Join(p.Dir, f), 2048); s != "" {
			fmt.Fprintf(&b, "%s:\n%s\n", f, s)
		}
	}
	return strings.TrimSpace(b.String())
}

// head returns up to n bytes from the start of a file, "" if unreadable.
func head(name string, n int) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, n+1)
	k, _ := io.ReadFull(f, buf)
	if k > n {
		return strings.TrimSpace(string(buf[:n])) + "\n[...]"
	}
	return strings.TrimSpace(string(buf[:k]))
}
