package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"
)

// stepResult is one step's figures.
type stepResult struct {
	rate, planned, sent int
	duration            time.Duration
	verified            int
	sustained           float64 // verified per second over the step's real length
	failures            int
	fails               [numFails]int
	why                 map[string]int
	reaction            dist // SIPp's clock: 180 sent → CANCEL read
	create              dist // POST /v1/verifications: request sent → 201 read
	// serverCreate, storeTxn and leaseGrant are the server's own
	// histograms over the step: POST /v1/verifications answered 201, etcd
	// transactions and lease grants; walFsync and backendCommit are the
	// embedded etcd's: WAL fdatasync and bbolt commits.
	serverCreate, storeTxn, leaseGrant hist
	walFsync, backendCommit            hist
	// historyWrites is how many history entries the server wrote to the
	// history store over the step and its drain (-1: unknown).
	historyWrites int64
	schedLag      dist
	serverCPU     float64 // cores, over the step and its drain
	cpuPerVerify  time.Duration
	carrierCPU    float64
	selfCPU       float64
	machineCPU    float64 // every process on the machine, in cores
	sippFailed    int     // calls SIPp itself counted failed during the step (see its errors.log)
	rss, hwm      int64
	threads, fds  int
	log           logSummary
	perfTop       string
}

// measure runs one step against the server and gathers its figures. With
// perfFile set, perf records the server for the step's length.
func measure(ctx context.Context, d *driver, srv *server, carrier *sipp, s *step, o options, perfFile string) stepResult {
	fmt.Printf("\n== %d/s for %s ==\n", s.rate, s.duration)
	logOff := fileSize(srv.logPath)
	p0, _ := readProc(srv.pid)
	c0, _ := readProc(carrier.pid())
	me0, _ := readProc(os.Getpid())
	m0, _ := readMachine()
	_, sippFailed0, _ := sippCounts(carrier)
	h0, _ := scrapeHists(ctx, http.DefaultClient, srv.base+"/metrics", histCreate, histStoreTxn, histLeaseGrant)
	e0, _ := scrapeHists(ctx, srv.etcd, etcdMetricsURL, histWALFsync, histBackendCommit)
	w0 := srv.historyWritten(ctx)

	var perfDone chan string
	if perfFile != "" {
		perfDone = make(chan string, 1)
		go func() { perfDone <- recordPerf(ctx, srv.pid, perfFile, int(s.duration.Seconds())) }()
	}
	var soakDone chan struct{}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	if o.soak > 0 {
		soakDone = make(chan struct{})
		go func() {
			defer close(soakDone)
			soakSample(sampleCtx, srv, s, o.sample, logOff)
		}()
	}

	d.run(ctx, s)
	d.drain(s, o.drain)
	stopSampling()
	if soakDone != nil {
		<-soakDone
	}
	p1, _ := readProc(srv.pid)
	c1, _ := readProc(carrier.pid())
	me1, _ := readProc(os.Getpid())
	m1, _ := readMachine()
	time.Sleep(1100 * time.Millisecond) // SIPp writes its statistics every second
	_, sippFailed1, _ := sippCounts(carrier)
	h1, herr := scrapeHists(ctx, http.DefaultClient, srv.base+"/metrics", histCreate, histStoreTxn, histLeaseGrant)
	e1, eerr := scrapeHists(ctx, srv.etcd, etcdMetricsURL, histWALFsync, histBackendCommit)
	w1 := srv.historyWritten(ctx)

	s.mu.Lock()
	defer s.mu.Unlock()
	r := stepResult{
		rate: s.rate, planned: s.planned, duration: s.duration,
		verified: s.verified, fails: s.fails, why: s.why,
		reaction: distOf(s.reaction), create: distOf(s.createLat), schedLag: distOf(s.schedLag),
		serverCPU: cpuShare(p0, p1), carrierCPU: cpuShare(c0, c1), selfCPU: cpuShare(me0, me1),
		machineCPU: busyCores(m0, m1), sippFailed: sippFailed1 - sippFailed0,
		rss: p1.RSS, hwm: p1.HWM, threads: p1.Threads, fds: p1.FDs,
		historyWrites: -1,
	}
	if w0 >= 0 && w1 >= 0 {
		r.historyWrites = w1 - w0
	}
	if herr == nil && len(h0) == 3 {
		r.serverCreate, r.storeTxn, r.leaseGrant = h1[0].minus(h0[0]), h1[1].minus(h0[1]), h1[2].minus(h0[2])
	}
	if eerr == nil && len(e0) == 2 {
		r.walFsync, r.backendCommit = e1[0].minus(e0[0]), e1[1].minus(e0[1])
	}
	r.sent = s.planned - s.fails[failNotSent]
	for _, n := range s.fails {
		r.failures += n
	}
	r.failures += max(r.sippFailed, 0)
	length := max(s.end.Sub(s.start), s.duration)
	if !s.lastVerified.IsZero() {
		length = max(length, s.lastVerified.Sub(s.start))
	}
	if length > 0 {
		r.sustained = float64(s.verified) / length.Seconds()
	}
	if s.verified > 0 {
		r.cpuPerVerify = (p1.CPU - p0.CPU) / time.Duration(s.verified)
	}
	r.log, _, _ = summarizeLog(srv.logPath, logOff)
	if perfDone != nil {
		r.perfTop = <-perfDone
	}
	return r
}

func sumFails(s *step) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.fails {
		n += f
	}
	return n
}

func (r stepResult) print(ceil *ceilingResult) {
	fmt.Printf("offered %d/s for %s: %d planned, %d sent\n", r.rate, r.duration, r.planned, r.sent)
	ratio := ""
	if ceil != nil && ceil.rate > 0 {
		ratio = fmt.Sprintf("  (%.3f of SIPp's ceiling %.0f/s)", r.sustained/ceil.rate, ceil.rate)
	}
	fmt.Printf("verified %d: sustained %.1f verifications/s%s\n", r.verified, r.sustained, ratio)
	fmt.Printf("failures %d (harness and SIPp):", r.failures)
	for k, n := range r.fails {
		fmt.Printf(" %s %d;", failNames[k], n)
	}
	fmt.Printf(" (SIPp's own count of failed calls: %d)\n", r.sippFailed)
	for why, n := range r.why {
		fmt.Printf("  %dx %s\n", n, why)
	}
	fmt.Printf("180→CANCEL (SIPp's timestamps): %s\n", r.reaction)
	fmt.Printf("POST /v1/verifications latency: %s\n", r.create)
	fmt.Printf("  server side (its histogram):  %s\n", r.serverCreate)
	fmt.Printf("  etcd transactions (all kinds): %s\n", r.storeTxn)
	fmt.Printf("  etcd lease grants:             %s\n", r.leaseGrant)
	fmt.Printf("  etcd WAL fdatasync:            %s\n", r.walFsync)
	fmt.Printf("  etcd backend (bbolt) commits:  %s\n", r.backendCommit)
	fmt.Printf("load generator lateness:        %s\n", r.schedLag)
	if r.historyWrites >= 0 && r.verified > 0 {
		fmt.Printf("history store: %d entries written, %.2f per verification\n", r.historyWrites, float64(r.historyWrites)/float64(r.verified))
	}
	fmt.Printf("ringproof CPU %.2f cores (%.0f µs CPU per verification), RSS %s, peak RSS (VmHWM) %s, %d threads, %d fds\n",
		r.serverCPU, float64(r.cpuPerVerify.Microseconds()), mb(r.rss), mb(r.hwm), r.threads, r.fds)
	fmt.Printf("ringproof GC (gctrace): %d GCs, live heap after GC max %d MB, last %d MB, GC CPU since start %d%%\n",
		r.log.GCs, r.log.MaxLiveHeap, r.log.LastLive, r.log.GCPercent)
	fmt.Printf("machine CPU %.2f of %d cores: ringproof %.2f, SIPp carrier %.2f, flashbench %.2f, everything else %.2f\n",
		r.machineCPU, runtime.NumCPU(), r.serverCPU, r.carrierCPU, r.selfCPU,
		max(r.machineCPU-r.serverCPU-r.carrierCPU-r.selfCPU, 0))
	if r.log.Warnings+r.log.Errors > 0 {
		fmt.Printf("ringproof log: %d warnings, %d errors, e.g.\n", r.log.Warnings, r.log.Errors)
		for _, m := range r.log.Samples {
			fmt.Printf("  %s\n", m)
		}
	}
	if r.perfTop != "" {
		fmt.Print(r.perfTop)
	}
}

// printRamp prints the ramp's steps as a table and the highest clean rate.
func printRamp(rs []stepResult, ceil *ceilingResult) {
	fmt.Printf("\nramp summary\n%8s %8s %9s %10s %8s %10s %10s %10s %7s %7s\n",
		"offered", "sent", "verified", "sustained", "fails", "react p50", "react p99", "POST p99", "cores", "others")
	best := 0
	for _, r := range rs {
		fmt.Printf("%8d %8d %9d %10.1f %8d %10s %10s %10s %7.2f %7.2f\n",
			r.rate, r.sent, r.verified, r.sustained, r.failures,
			short(r.reaction.P50), short(r.reaction.P99), short(r.create.P99), r.serverCPU,
			max(r.machineCPU-r.serverCPU-r.carrierCPU-r.selfCPU, 0))
		if r.failures == 0 && r.rate > best {
			best = r.rate
		}
	}
	fmt.Printf("highest rate with zero failures: %d/s", best)
	if ceil != nil && ceil.rate > 0 {
		fmt.Printf(" (%.3f of SIPp's ceiling %.0f/s)", float64(best)/ceil.rate, ceil.rate)
	}
	fmt.Println()
}

// soakSample prints the server's RSS, threads and descriptors every
// interval until ctx ends, then the RSS trend over the second half.
func soakSample(ctx context.Context, srv *server, s *step, every time.Duration, logOff int64) {
	start := time.Now()
	prev, _ := readProc(srv.pid)
	var xs, ys []float64
	fmt.Printf("%8s %10s %12s %12s %8s %6s %7s %12s %10s %10s %12s %9s %12s\n", "elapsed", "verified", "RSS", "VmHWM", "threads", "fds", "cores", "live heap", "goroutines", "store keys", "etcd db", "outbox", "history db")
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			half := len(xs) / 2
			fmt.Printf("RSS slope over the second half: %+.2f MiB/min (over the whole soak: %+.2f MiB/min)\n",
				slope(xs[half:], ys[half:]), slope(xs, ys))
			return
		case <-tick.C:
		}
		p, err := readProc(srv.pid)
		if err != nil {
			continue
		}
		var sum logSummary
		sum, logOff, _ = summarizeLog(srv.logPath, logOff)
		s.mu.Lock()
		v := s.verified
		s.mu.Unlock()
		el := time.Since(start)
		keys, dbBytes := srv.storeStats(ctx)
		pending, histBytes := srv.historyStats(ctx)
		fmt.Printf("%8s %10d %12s %12s %8d %6d %7.2f %9d MB %10s %10s %12s %9s %12s\n",
			el.Round(time.Second), v, mb(p.RSS), mb(p.HWM), p.Threads, p.FDs, cpuShare(prev, p), sum.LastLive,
			known(int64(srv.goroutines(ctx)), strconv.FormatInt), known(keys, strconv.FormatInt), known(dbBytes, func(n int64, _ int) string { return mb(n) }),
			known(pending, strconv.FormatInt), known(histBytes, func(n int64, _ int) string { return mb(n) }))
		xs = append(xs, el.Minutes())
		ys = append(ys, float64(p.RSS)/(1<<20))
		prev = p
	}
}

// known formats n, or "—" when it could not be read (negative).
func known(n int64, format func(int64, int) string) string {
	if n < 0 {
		return "—"
	}
	return format(n, 10)
}

// fileSize is the size of a file, 0 if unknown.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// ceilingResult is SIPp against itself: the machine's ceiling for the
// INVITE → 180 → CANCEL → 200/487 → ACK flow.
type ceilingResult struct {
	offered        string
	rate           float64 // calls cancelled per second
	calls          int
	reaction       dist
	uacCPU, uasCPU float64
	machineCPU     float64
	failed         int
}

func (c ceilingResult) print() {
	fmt.Printf("\n== SIPp ceiling: uac_ring_cancel.xml → uas_ring_cancel.xml, %s ==\n", c.offered)
	fmt.Printf("%.0f calls/s (%d calls), 180→CANCEL %s; %d failed calls\n", c.rate, c.calls, c.reaction, c.failed)
	fmt.Printf("machine CPU %.2f of %d cores: SIPp UAC %.2f, SIPp UAS %.2f, everything else %.2f\n",
		c.machineCPU, runtime.NumCPU(), c.uacCPU, c.uasCPU, max(c.machineCPU-c.uacCPU-c.uasCPU, 0))
}

// runCeiling runs SIPp as caller against SIPp as carrier for
// o.ceilingDur, at o.ceilingRate or flat out, and counts the calls the
// carrier saw cancelled after the first half second.
func runCeiling(ctx context.Context, dir string, scen func(string) string, o options) (ceilingResult, error) {
	var res ceilingResult
	uasPort, err := freeUDPTCPPort()
	if err != nil {
		return res, err
	}
	uas, err := startSIPp(ctx, dir, sippOptions{
		name: "ceiling-uas", scenario: scen("uas_ring_cancel.xml"), port: uasPort,
		timeout: o.ceilingDur + 20*time.Second,
	})
	if err != nil {
		return res, err
	}
	defer uas.kill()
	uacPort, err := freeUDPTCPPort()
	if err != nil {
		return res, err
	}
	rate, limit := o.ceilingRate, 0
	res.offered = fmt.Sprintf("%d calls/s", rate)
	if rate == 0 {
		// Flat out: ask for far more than SIPp can do, with a bound on the
		// calls in progress so that the UAC paces itself on answers.
		rate, limit = 100000, 200
		res.offered = "flat out (-r 100000 -l 200)"
	}
	start := time.Now()
	uac, err := startSIPp(ctx, dir, sippOptions{
		name: "ceiling-uac", scenario: scen("uac_ring_cancel.xml"), port: uacPort,
		remote: uas.addr, rate: rate, limit: limit, timeout: o.ceilingDur + 10*time.Second,
	})
	if err != nil {
		return res, err
	}
	u0, _ := readProc(uac.pid())
	s0, _ := readProc(uas.pid())
	m0, _ := readMachine()
	select {
	case <-ctx.Done():
		uac.kill()
		return res, ctx.Err()
	case <-time.After(o.ceilingDur):
	}
	u1, _ := readProc(uac.pid())
	s1, _ := readProc(uas.pid())
	m1, _ := readMachine()
	end := time.Now()
	uac.kill()
	time.Sleep(200 * time.Millisecond)
	uas.kill()
	res.uacCPU, res.uasCPU = cpuShare(u0, u1), cpuShare(s0, s1)
	res.machineCPU = busyCores(m0, m1)

	t := &tailer{path: uas.logPath()}
	recs, _, err := t.records()
	if err != nil {
		return res, err
	}
	from := start.Add(500 * time.Millisecond)
	var reaction []time.Duration
	for _, r := range recs {
		if !r.Cancelled || r.CancelAt.Before(from) || r.CancelAt.After(end) {
			continue
		}
		res.calls++
		reaction = append(reaction, r.Reaction())
		if !r.BranchMatch || !r.CSeqMatch {
			res.failed++
		}
	}
	res.rate = float64(res.calls) / end.Sub(from).Seconds()
	res.reaction = distOf(reaction)
	if _, failed, err := sippCounts(uas); err == nil {
		res.failed += failed
	}
	return res, nil
}
