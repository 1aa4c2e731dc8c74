package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ringproof/ringproof/sip/sipptest"
)

// sipp is one SIPp child process.
type sipp struct {
	name string // "carrier", "ceiling-uas", "ceiling-uac"
	addr string // 127.0.0.1:port it listens on
	dir  string // its files: calls.log, errors.log, stats.csv, out.log
	cmd  *exec.Cmd
	done chan struct{}
}

// sippOptions are the SIPp flags that differ between runs.
type sippOptions struct {
	name     string
	scenario string // path
	port     int
	remote   string // host:port to call; empty for a UAS
	calls    int    // -m; 0 for none
	rate     int    // -r (UAC)
	limit    int    // -l (UAC): most calls in progress
	timeout  time.Duration
}

// startSIPp runs sipp on 127.0.0.1 with a per-call log (-trace_logs), an
// error log and statistics in dir/<name>, and, for a UAS, returns once it
// listens. It is killed if the harness dies and when ctx ends.
func startSIPp(ctx context.Context, dir string, o sippOptions) (*sipp, error) {
	bin, err := exec.LookPath("sipp")
	if err != nil {
		return nil, errors.New("sipp not installed: apt-get install -y sip-tester")
	}
	d := filepath.Join(dir, o.name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	var args []string
	if o.remote != "" {
		args = append(args, o.remote)
	}
	args = append(args,
		"-sf", o.scenario,
		"-t", "u1",
		"-i", "127.0.0.1", "-p", strconv.Itoa(o.port), "-bind_local",
		"-mi", "127.0.0.1",
		"-nostdin",
		"-timeout", fmt.Sprintf("%dms", o.timeout.Milliseconds()),
		"-recv_timeout", "10000ms",
		"-max_socket", "10000",
		// SIPp's default 64 KB socket buffers overflow in a burst at
		// 1,000 calls/s: a dropped CANCEL then waits for its
		// retransmission (500 ms). ringproof's own socket has 4 MiB.
		"-buff_size", "4194304",
		// A loaded machine stalls SIPp; that must not end the run.
		"-watchdog_minor_maxtriggers", "1000000", "-watchdog_major_maxtriggers", "1000000",
		"-trace_err", "-error_file", filepath.Join(d, "errors.log"),
		"-trace_logs", "-log_file", filepath.Join(d, "calls.log"),
		"-trace_stat", "-stf", filepath.Join(d, "stats.csv"), "-fd", "1",
	)
	if o.calls > 0 {
		args = append(args, "-m", strconv.Itoa(o.calls))
	}
	if o.rate > 0 {
		args = append(args, "-r", strconv.Itoa(o.rate), "-rp", "1000")
	}
	if o.limit > 0 {
		args = append(args, "-l", strconv.Itoa(o.limit))
	}
	out, err := os.Create(filepath.Join(d, "out.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Dir = d
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sipp %s: %w", o.name, err)
	}
	p := &sipp{name: o.name, addr: fmt.Sprintf("127.0.0.1:%d", o.port), dir: d, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			p.kill()
		case <-p.done:
		}
	}()
	if o.remote != "" {
		return p, nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for !udpListening(o.port) {
		select {
		case <-p.done:
			return nil, fmt.Errorf("sipp %s exited at start: %s", o.name, tail(filepath.Join(d, "out.log"), 1024))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("sipp %s: not listening on %s after 10 s", o.name, p.addr)
		}
	}
	return p, nil
}

// pid is SIPp's process id.
func (p *sipp) pid() int { return p.cmd.Process.Pid }

// kill ends SIPp if it still runs and waits for it.
func (p *sipp) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// logPath is the file the scenario's <log> actions write, one line a call.
func (p *sipp) logPath() string { return filepath.Join(p.dir, "calls.log") }

// udpListening reports whether some socket is bound to 127.0.0.1:port for
// UDP, from the kernel's table.
func udpListening(port int) bool {
	data, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false
	}
	return bytes.Contains(data, fmt.Appendf(nil, "0100007F:%04X ", port))
}

// tailer follows a file that another process appends lines to.
type tailer struct {
	path    string
	off     int64
	partial []byte
}

// lines returns the complete lines appended since the last call.
func (t *tailer) lines() ([]string, error) {
	f, err := os.Open(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // SIPp creates its log files lazily
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(t.off, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	t.off += int64(len(data))
	data = append(t.partial, data...)
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		t.partial = data
		return nil, nil
	}
	t.partial = append([]byte(nil), data[end+1:]...)
	return strings.Split(string(data[:end]), "\n"), nil
}

// records returns the call records appended since the last call, and how
// many lines could not be parsed.
func (t *tailer) records() ([]sipptest.Record, int, error) {
	lines, err := t.lines()
	if err != nil {
		return nil, 0, err
	}
	var recs []sipptest.Record
	bad := 0
	for _, l := range lines {
		if !strings.HasPrefix(l, sipptest.RecordPrefix) {
			continue
		}
		r, err := sipptest.ParseRecord(l)
		if err != nil {
			bad++
			continue
		}
		recs = append(recs, r)
	}
	return recs, bad, nil
}

// tail returns the last n bytes of a file, "" if unreadable.
func tail(name string, n int64) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart)
	}
	data, _ := io.ReadAll(f)
	return strings.TrimSpace(string(data))
}

// sippCounts reads the cumulative successful and failed call counts from
// the last row of SIPp's -trace_stat file.
func sippCounts(p *sipp) (ok, failed int, err error) {
	data, err := os.ReadFile(filepath.Join(p.dir, "stats.csv"))
	if err != nil {
		return 0, 0, err
	}
	rows := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(rows) < 2 {
		return 0, 0, errors.New("no statistics row")
	}
	header, last := strings.Split(rows[0], ";"), strings.Split(rows[len(rows)-1], ";")
	col := func(name string) int {
		for i, h := range header {
			if h == name && i < len(last) {
				n, _ := strconv.Atoi(last[i])
				return n
			}
		}
		return 0
	}
	return col("SuccessfulCall(C)"), col("FailedCall(C)"), nil
}
