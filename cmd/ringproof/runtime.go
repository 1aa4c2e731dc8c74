package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// gcPercent is the garbage collector's target unless GOGC says otherwise.
const gcPercent = 200

// tuneRuntime sets the Go runtime for a latency-sensitive server, leaving
// alone whatever the GOMAXPROCS and GOGC environment variables set. It
// returns what it changed, as slog attributes.
//
// GOMAXPROCS is doubled. The Go scheduler reads the network only when a P
// (a logical processor) runs out of work, or every 10 ms from its monitor.
// With as many Ps as CPUs, a server busy with etcd and HTTP work leaves a
// 180 Ringing in the socket for up to 10 ms before the CANCEL can go out.
// With spare Ps, one of them is usually idle, blocked in the network
// poller, and the kernel wakes it the moment the 180 arrives. Ps are not
// threads that spin: the CPU used does not grow.
//
// GOGC is raised from 100 to 200: the embedded etcd keeps an index of
// every live key on the heap, so each collection has a large heap to mark;
// collecting half as often halves that cost, for a heap up to three times
// the live data instead of twice.
//
// On the benchmark machine (2 CPUs) these took the 180→CANCEL p99 at 500
// flash calls/s from 4.6 ms to 1.5 ms, and the CPU per verification at
// 1,000/s from about 1.4 to 1.2 ms (docs/performance.md).
func tuneRuntime() []any {
	var changed []any
	if os.Getenv("GOMAXPROCS") == "" {
		n := 2 * runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(n)
		changed = append(changed, "gomaxprocs", n)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
		changed = append(changed, "gogc", gcPercent)
	}
	return changed
}
