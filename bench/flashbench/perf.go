package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// recordPerf samples the server's stacks with perf for the step's length
// and returns where the time went: by component (each sample counted once,
// in the first component whose frames it holds), by library anywhere on
// the stack, and the heaviest symbols. The report is also written to
// out+".txt".
func recordPerf(ctx context.Context, pid int, out string, secs int) string {
	rec := runCmd(ctx, "perf", "record", "-F", "499", "-g", "-p", fmt.Sprint(pid), "-o", out, "--", "sleep", fmt.Sprint(secs))
	if rec.err != nil {
		return fmt.Sprintf("perf record failed: %v\n%s\n", rec.err, rec.out)
	}
	var b strings.Builder
	if comp, lib, total, err := perfBreakdown(ctx, out); err != nil {
		fmt.Fprintf(&b, "perf script: %v\n", err)
	} else {
		fmt.Fprintf(&b, "\nperf: %d samples of ringproof; by component (each sample once, first match):\n", total)
		b.WriteString(table(comp, total))
		b.WriteString("perf: by code anywhere on the stack (a sample may count in several):\n")
		b.WriteString(table(lib, total))
	}
	self := runCmd(ctx, "perf", "report", "-i", out, "--stdio", "--no-children", "--sort", "sym", "-g", "none", "--percent-limit", "1")
	b.WriteString("perf: self time by symbol (>= 1%)\n" + perfLines(self.out, 25))
	_ = os.WriteFile(out+".txt", []byte(b.String()), 0o644)
	return b.String()
}

// components attribute a sample to the first entry any of whose frames
// contains one of its substrings; the order matters.
var components = []struct {
	name  string
	match []string
}{
	{"etcd WAL fdatasync", []string{"wal.(*WAL).sync"}},
	{"etcd raft loop, WAL write", []string{"etcdserver.(*raftNode)", "go.etcd.io/raft/"}},
	{"etcd apply (MVCC, bbolt)", []string{"etcdserver.(*EtcdServer).apply", "go.etcd.io/bbolt", "storage/backend", "storage/mvcc"}},
	{"etcd other (leases, ticks, compaction)", []string{"go.etcd.io/etcd/server"}},
	{"POST /v1/verifications (create)", []string{"verify.(*Handler).create"}},
	{"POST .../check", []string{"verify.(*Handler).check"}},
	{"call events → store (recordEvent)", []string{"verify.(*Service).recordEvent"}},
	{"SIP call (Flash, INVITE/CANCEL)", []string{"sip.(*Endpoint).Flash", "sip.(*flash)", "dialer.(*Dialer).Flash"}},
	{"sipgo transport and transactions", []string{"github.com/emiago/sipgo"}},
	{"net/http server (conn, parse, write)", []string{"net/http."}},
	{"GC (background)", []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge"}},
	{"Go scheduler, timers, netpoll, sysmon", []string{"runtime.schedule", "runtime.findRunnable", "runtime.sysmon", "runtime.mstart", "runtime.mcall", "runtime.goexit0", "runtime.park_m"}},
}

// libraries count a sample once for each entry with a frame on its stack.
var libraries = []struct {
	name  string
	match []string
}{
	{"kernel (syscalls, network, disk, scheduler)", []string{"[k] "}},
	{"etcd client + server request path", []string{"go.etcd.io/etcd/client/v3", "v3client", "etcdserver.(*EtcdServer).Txn", "etcdserver.(*EtcdServer).Range", "etcdserver.(*EtcdServer).raftRequest"}},
	{"encoding/json", []string{"encoding/json."}},
	{"log/slog + privacy redaction", []string{"log/slog.", "privacy.redactHandler", "privacy.Redact"}},
	{"nyaruka/phonenumbers", []string{"nyaruka/phonenumbers"}},
	{"protobuf (etcd requests)", []string{"etcdserverpb.", "gogo/protobuf", "google.golang.org/protobuf"}},
	{"crypto (rand, HMAC)", []string{"crypto/"}},
	{"pion/sdp", []string{"pion/sdp"}},
	{"GC assist + malloc", []string{"runtime.mallocgc", "runtime.gcAssistAlloc"}},
}

// perfBreakdown reads perf script output and counts samples by component
// and by library.
func perfBreakdown(ctx context.Context, data string) (comp, lib map[string]int, total int, err error) {
	cmd := exec.CommandContext(ctx, "perf", "script", "-i", data, "-F", "ip,sym")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, 0, err
	}
	comp, lib = map[string]int{}, map[string]int{}
	var frames []string
	flush := func() {
		if len(frames) == 0 {
			return
		}
		total++
		name := "other"
	find:
		for _, c := range components {
			for _, f := range frames {
				for _, m := range c.match {
					if strings.Contains(f, m) {
						name = c.name
						break find
					}
				}
			}
		}
		comp[name]++
		for _, l := range libraries {
			hit := false
			for _, f := range frames {
				for _, m := range l.match {
					if strings.Contains(f, m) {
						hit = true
					}
				}
			}
			if hit {
				lib[l.name]++
			}
		}
		frames = frames[:0]
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			flush()
			continue
		}
		// "ffffffff81b277b5 dd_has_work+0x5" or "1536b8 encoding/json.checkValid+0x98"
		addr, sym, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if strings.HasPrefix(addr, "ffffffff") {
			sym = "[k] " + sym
		}
		frames = append(frames, sym)
	}
	flush()
	return comp, lib, total, cmd.Wait()
}

// table prints counts as shares of total, largest first.
func table(counts map[string]int, total int) string {
	type row struct {
		name string
		n    int
	}
	var rows []row
	for k, n := range counts {
		rows = append(rows, row{k, n})
	}
	slices.SortFunc(rows, func(a, b row) int { return b.n - a.n })
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %6.1f%%  %s\n", 100*float64(r.n)/float64(max(total, 1)), r.name)
	}
	return b.String()
}

// perfLines keeps the first n non-comment lines of a perf report.
func perfLines(out string, n int) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "" {
			continue
		}
		if n == 0 {
			break
		}
		n--
		b.WriteString("  " + strings.TrimSpace(l) + "\n")
	}
	return b.String()
}

// cmdResult is a finished command's combined output and error.
type cmdResult struct {
	out string
	err error
}

func runCmd(ctx context.Context, name string, args ...string) cmdResult {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return cmdResult{string(out), err}
}
