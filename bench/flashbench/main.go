// Command flashbench measures ringproof's flash-call throughput and its
// reaction from 180 Ringing to CANCEL, end to end on loopback.
//
// It builds ./cmd/ringproof, starts `ringproof serve` as a child process
// with a generated configuration (embedded etcd on free loopback ports, a
// high max_cps, the 10,000-number caller pool, per-number limits out of
// the way), starts SIPp as the carrier (testdata/sipp/uas_ring_cancel.xml),
// and drives verifications through the HTTP API at a target rate with its
// own open-loop load generator. Each call SIPp logs is matched with its
// verification by the number called (To) and checked with the caller ID's
// last four digits (From). Before that, SIPp against itself
// (uac_ring_cancel.xml → uas_ring_cancel.xml) gives the machine's ceiling
// for the same flow.
//
//	go run ./bench/flashbench                      # 100/s for 30 s
//	go run ./bench/flashbench -rate 500            # 500/s for 30 s
//	go run ./bench/flashbench -ramp                # 100, 200, 400, ... until a step fails
//	go run ./bench/flashbench -soak 10m -rate 200  # RSS trend over 10 minutes
//	go run ./bench/flashbench -rate 500 -perf /tmp/rp.perf.data
//
// Everything runs on 127.0.0.1 and stops by itself: a run is bounded by
// -timeout (2 minutes by default; a soak gets its own length plus 2
// minutes). See bench/README.md and docs/performance.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	rate        int
	duration    time.Duration
	ramp        bool
	rampRates   []int
	stepDur     time.Duration
	soak        time.Duration
	expiryS     int // verification.expiry_s
	graceS      int // verification.grace_s
	sample      time.Duration
	ceiling     bool
	ceilingDur  time.Duration
	ceilingRate int
	concurrency int
	drain       time.Duration
	warmup      time.Duration
	timeout     time.Duration
	bin         string
	root        string
	keep        bool
	logLevel    string
	udpReader   string
	perf        string
	env         envList
}

// envList collects repeated -env KEY=VALUE flags.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

func parseFlags() options {
	var o options
	var rates string
	flag.IntVar(&o.rate, "rate", 100, "verifications per second to offer (single run and soak)")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long to offer -rate (single run)")
	flag.BoolVar(&o.ramp, "ramp", false, "step the rate up through -ramp-rates and report the highest with zero failures")
	flag.StringVar(&rates, "ramp-rates", "100,200,400,700,1000,1500,2000,3000", "rates of the ramp's steps, per second")
	flag.DurationVar(&o.stepDur, "step", 8*time.Second, "length of each ramp step")
	flag.DurationVar(&o.soak, "soak", 0, "run -rate for this long, sampling the server's RSS (e.g. 10m); 0: no soak")
	flag.DurationVar(&o.sample, "sample", 15*time.Second, "soak: sampling interval")
	flag.IntVar(&o.expiryS, "expiry", 300, "the server's verification.expiry_s")
	flag.IntVar(&o.graceS, "grace", 0, "the server's verification.grace_s (0: records leave etcd at expiry, so a soak shows the bound after -expiry)")
	flag.BoolVar(&o.ceiling, "ceiling", true, "first measure SIPp against itself (the machine's ceiling)")
	flag.DurationVar(&o.ceilingDur, "ceiling-duration", 5*time.Second, "length of the SIPp-only ceiling run")
	flag.IntVar(&o.ceilingRate, "ceiling-rate", 0, "SIPp-only call rate; 0: flat out")
	flag.IntVar(&o.concurrency, "concurrency", 512, "most create requests in flight; beyond, a create is not sent and counts as a failure")
	flag.DurationVar(&o.drain, "drain", 10*time.Second, "after a step, how long to wait for its calls to be cancelled and checked")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load at 50/s before the first step")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "bound on the whole run (a soak adds its length)")
	flag.StringVar(&o.bin, "bin", "", "ringproof binary to run; empty: go build ./cmd/ringproof")
	flag.StringVar(&o.root, "root", "", "module root; empty: found from the working directory")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, logs, SIPp files)")
	flag.StringVar(&o.logLevel, "log-level", "info", "the server's log.level")
	flag.StringVar(&o.udpReader, "udp-reader", "", "the server's sip.udp_reader (thread or poller); empty: its default")
	flag.StringVar(&o.perf, "perf", "", "record a perf profile of the server during the single-rate step into this `file`, and print its top symbols")
	flag.Var(&o.env, "env", "`KEY=VALUE` added to the server's environment, e.g. GOGC=400 (repeatable)")
	flag.Parse()
	for _, f := range strings.Split(rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "flashbench: -ramp-rates: bad rate %q\n", f)
			os.Exit(2)
		}
		o.rampRates = append(o.rampRates, n)
	}
	if o.rate < 1 || o.concurrency < 1 || o.duration <= 0 || o.stepDur <= 0 {
		fmt.Fprintln(os.Stderr, "flashbench: -rate, -concurrency, -duration and -step must be positive")
		os.Exit(2)
	}
	return o
}

func main() {
	o := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	budget := o.timeout
	if o.soak > 0 {
		budget = max(budget, o.soak+2*time.Minute)
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "flashbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	root, err := moduleRoot(o.root)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "flashbench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Printf("files kept in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	printMachine()

	bin := o.bin
	if bin == "" {
		t := time.Now()
		if bin, err = buildServer(ctx, root, dir); err != nil {
			return err
		}
		fmt.Printf("built ringproof in %s\n", time.Since(t).Round(100*time.Millisecond))
	}
	scen := func(name string) string { return filepath.Join(root, "testdata", "sipp", name) }

	var ceil *ceilingResult
	if o.ceiling {
		c, err := runCeiling(ctx, dir, scen, o)
		if err != nil {
			return fmt.Errorf("SIPp ceiling: %w", err)
		}
		ceil = &c
		c.print()
	}

	// The plan: one step, a ramp, or a soak.
	type plan struct {
		rate int
		dur  time.Duration
	}
	var steps []plan
	switch {
	case o.soak > 0:
		steps = []plan{{o.rate, o.soak}}
	case o.ramp:
		for _, r := range o.rampRates {
			steps = append(steps, plan{r, o.stepDur})
		}
	default:
		steps = []plan{{o.rate, o.duration}}
	}
	total := int(50 * o.warmup.Seconds())
	for _, s := range steps {
		total += int(float64(s.rate) * s.dur.Seconds())
	}
	deadline, _ := ctx.Deadline()

	port, err := freeUDPTCPPort()
	if err != nil {
		return err
	}
	carrier, err := startSIPp(ctx, dir, sippOptions{
		name: "carrier", scenario: scen("uas_ring_cancel.xml"), port: port,
		// -m well above the plan: SIPp must outlive the last step's drain.
		calls: 2*total + 1000, timeout: time.Until(deadline),
	})
	if err != nil {
		return err
	}
	defer carrier.kill()
	srv, err := startServer(ctx, bin, dir, carrier.addr, o.logLevel, o.udpReader, liveWindow{o.expiryS, o.graceS}, o.env)
	if err != nil {
		return err
	}
	defer func() {
		if !srv.exited() {
			_ = srv.cmd.Process.Kill()
		}
	}()
	reader := o.udpReader
	if reader == "" {
		reader = "default"
	}
	fmt.Printf("ringproof pid %d: HTTP %s, SIP %s, log.level %s, sip.udp_reader %s, env %q; SIPp carrier pid %d on %s\n",
		srv.pid, srv.base, srv.sipAddr, o.logLevel, reader, o.env.String(), carrier.pid(), carrier.addr)

	d := newDriver(srv.base, o.concurrency)
	followCtx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	followed := make(chan int, 1)
	go func() { followed <- d.follow(followCtx, carrier.logPath()) }()

	if o.warmup > 0 {
		w := newStep(50, o.warmup)
		d.run(ctx, w)
		d.drain(w, o.drain)
		fmt.Printf("warm-up: %d/s for %s: %d verified, %d failed\n", w.rate, w.duration, w.verified, sumFails(w))
	}

	var results []stepResult
	for i, p := range steps {
		if ctx.Err() != nil {
			break
		}
		if o.ramp && time.Until(deadline) < p.dur+o.drain+15*time.Second {
			fmt.Printf("ramp stopped before %d/s: the -timeout budget is spent\n", p.rate)
			break
		}
		perfFile := ""
		if !o.ramp && o.soak == 0 {
			perfFile = o.perf
		}
		r := measure(ctx, d, srv, carrier, newStep(p.rate, p.dur), o, perfFile)
		r.print(ceil)
		results = append(results, r)
		if o.ramp && r.failures > 0 {
			fmt.Printf("ramp stopped at step %d: %d/s had failures\n", i+1, p.rate)
			break
		}
	}
	stopFollow()
	badLines := <-followed

	took, err := srv.stop(45 * time.Second)
	fmt.Printf("\nringproof stopped in %s", took.Round(time.Millisecond))
	if err != nil {
		fmt.Printf(" (%v)", err)
	}
	fmt.Println()
	carrier.kill()
	if ok, failed, err := sippCounts(carrier); err == nil {
		fmt.Printf("SIPp carrier: %d calls successful, %d failed (its own view: -recv_timeout 10 s, RFC 3261 §9.1 checks)\n", ok, failed)
	}
	if badLines > 0 {
		fmt.Printf("SIPp log: %d lines could not be parsed\n", badLines)
	}
	if o.ramp {
		printRamp(results, ceil)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("stopped early: %w", context.Cause(ctx))
	}
	return nil
}

// moduleRoot finds the directory of ringproof's go.mod, from dir or the
// working directory upwards.
func moduleRoot(dir string) (string, error) {
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return "", err
		}
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/ringproof/ringproof\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no ringproof go.mod in %s or above: run from the repository or give -root", dir)
		}
	}
}

// printMachine prints what the results depend on.
func printMachine() {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	sippVersion := "?"
	if out, _ := exec.Command("sipp", "-v").CombinedOutput(); len(out) > 0 { // exits 99
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "SIPp v") {
				sippVersion = strings.TrimSpace(l)
				break
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("flashbench %s: %d CPUs (%s), Linux %s, %s, %s; load average %s\n",
		time.Now().Format("2006-01-02 15:04"), runtime.NumCPU(), model,
		strings.TrimSpace(string(kernel)), runtime.Version(), sippVersion,
		strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
}
