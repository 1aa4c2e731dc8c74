package sip

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"

	"github.com/ringproof/ringproof/sip/sipptest"
)

// Benchmarks of the flash call's hot path: building the INVITE and the
// CANCEL (once per call each), putting the INVITE on the wire, and whole
// calls against SIPp. See docs/performance.md for figures.
//
//	go test ./sip -run '^$' -bench . -benchmem

func benchEndpoint(b *testing.B, pollUDP bool) *Endpoint {
	b.Helper()
	// sipgo logs each retransmitted 487 that finds its transaction gone
	// through its own default logger, in the middle of the results.
	prev := sipgosip.DefaultLogger()
	sipgosip.SetDefaultLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	b.Cleanup(func() { sipgosip.SetDefaultLogger(prev) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := Listen(ctx, Options{Listen: "127.0.0.1:0", PollUDP: pollUDP, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

// benchSDP is about the size of the offer media.Offer builds.
var benchSDP = []byte("v=0\r\no=ringproof 4611686018427387904 4611686018427387904 IN IP4 127.0.0.1\r\ns=ringproof\r\n" +
	"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 16384 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n")

func benchCall(carrier string) Call {
	return Call{
		Trunk: Trunk{Name: "bench", Address: carrier, Transport: "udp"},
		From:  "+442079461234", To: "+447911123456", SDP: benchSDP,
	}
}

func BenchmarkNewInvite(b *testing.B) {
	e := benchEndpoint(b, false)
	c := benchCall("127.0.0.1:5070")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.newInvite(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewCancel(b *testing.B) {
	e := benchEndpoint(b, false)
	invite, err := e.newInvite(benchCall("127.0.0.1:5070"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		newCancel(invite)
	}
}

// BenchmarkInviteWire is what the UDP transport does with the INVITE
// before the write: serialise it into a buffer.
func BenchmarkInviteWire(b *testing.B) {
	e := benchEndpoint(b, false)
	invite, err := e.newInvite(benchCall("127.0.0.1:5070"))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer // sipgo's UDP transport uses a pooled bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		invite.StringWrite(&buf)
	}
	b.ReportMetric(float64(buf.Len()), "bytes/INVITE")
}

// BenchmarkFlash places flash calls to SIPp (uas_ring_cancel.xml) and
// reports SIPp's 180→CANCEL reaction: one call at a time ("serial", pure
// latency) or 32 at a time ("parallel", throughput; ns/op is then the
// inverse of the call rate). "store=5ms" blocks the report callback for
// 5 ms on the dialing event, as a store write made from the callback does
// (verify.Service.recordEvent): a 180 that arrives meanwhile waits in the
// transaction until the callback returns.
func BenchmarkFlash(b *testing.B) {
	for _, bc := range []struct {
		name     string
		parallel bool
		delay    time.Duration
		pollUDP  bool // sip.udp_reader: poller
	}{
		{"serial/store=none", false, 0, false},
		{"serial/store=none/reader=poller", false, 0, true},
		{"serial/store=5ms", false, 5 * time.Millisecond, false},
		{"parallel/store=none", true, 0, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := benchEndpoint(b, bc.pollUDP)
			carrier := sipptest.Start(context.Background(), b, sipptest.Options{
				Scenario: "uas_ring_cancel.xml", NoMessageTrace: true,
				Timeout: 5 * time.Minute, ExtraArgs: []string{"-max_socket", "10000", "-buff_size", "4194304"},
			})
			report := func(ev Event) {
				if ev.Kind == EventDialing && bc.delay > 0 {
					time.Sleep(bc.delay)
				}
			}
			c := benchCall(carrier.Addr)
			flash := func() {
				if ev := e.Flash(context.Background(), c, FlashOptions{Timeout: 10 * time.Second}, report); ev.Kind != EventCancelled {
					b.Errorf("call ended %s %d %s, want cancelled", ev.Kind, ev.Status, ev.Reason)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			if bc.parallel {
				b.SetParallelism(16) // 32 callers on 2 CPUs
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						flash()
					}
				})
			} else {
				for range b.N {
					flash()
				}
			}
			b.StopTimer()
			reportReaction(b, carrier)
		})
	}
}

// reportReaction adds SIPp's 180→CANCEL p50 and p99 to the results.
func reportReaction(b *testing.B, carrier *sipptest.Proc) {
	b.Helper()
	// The last lines may still be on their way: read again every 20 ms,
	// for a second at most.
	var recs []sipptest.Record
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Second)
	for {
		var err error
		if recs, err = carrier.Log(); err != nil {
			b.Fatal(err)
		}
		if len(recs) >= b.N {
			break
		}
		select {
		case <-tick.C:
			continue
		case <-deadline:
		}
		break
	}
	var rt []time.Duration
	for _, r := range recs {
		if r.Cancelled && !r.ProvAt.IsZero() {
			rt = append(rt, r.Reaction())
		}
	}
	if len(rt) == 0 {
		return
	}
	slices.Sort(rt)
	b.ReportMetric(float64(rt[len(rt)/2].Microseconds()), "p50-react-µs")
	b.ReportMetric(float64(rt[len(rt)*99/100].Microseconds()), "p99-react-µs")
}

// BenchmarkInFlightHeap holds 500 calls in progress against a carrier that
// answers 100 Trying and nothing else (uas_silent.xml), and reports the
// heap and goroutine stack they hold per call: the SIP side of the
// "≤ 50 KB heap per in-flight call" target. Each iteration is one batch.
func BenchmarkInFlightHeap(b *testing.B) {
	const calls = 500
	e := benchEndpoint(b, false)
	carrier := sipptest.Start(context.Background(), b, sipptest.Options{
		Scenario: "uas_silent.xml", NoMessageTrace: true,
		Timeout: 5 * time.Minute, ExtraArgs: []string{"-max_socket", "10000", "-buff_size", "4194304"},
	})
	c := benchCall(carrier.Addr)
	var heap, stack float64
	n := 0
	trying := e.fast.responses[1].Load()
	for b.Loop() {
		b.StopTimer()
		var before, during runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()

		ctx, hangup := context.WithCancel(context.Background())
		var dialing, wg sync.WaitGroup
		dialing.Add(calls)
		for range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var once sync.Once
				e.Flash(ctx, c, FlashOptions{Timeout: time.Minute}, func(ev Event) {
					once.Do(dialing.Done) // the INVITE is out
				})
			}()
		}
		dialing.Wait()
		waitResponses(b, e, 1, trying+calls) // every call's 100 Trying is in
		trying += calls

		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&during)
		heap += float64(int64(during.HeapAlloc)-int64(before.HeapAlloc)) / calls
		stack += float64(int64(during.StackInuse)-int64(before.StackInuse)) / calls
		n++
		b.StartTimer()

		hangup() // CANCEL each call; SIPp answers 200 and 487
		wg.Wait()
	}
	b.ReportMetric(heap/float64(n), "heap-B/call")
	b.ReportMetric(stack/float64(n), "stack-B/call")
}

// waitResponses waits until e has read n UDP responses of class (1 for
// 1xx...), failing b after 10 s.
func waitResponses(b *testing.B, e *Endpoint, class int, n int64) {
	b.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for e.fast.responses[class].Load() < n {
		select {
		case <-tick.C:
		case <-deadline.C:
			b.Fatalf("%d of %d %dxx responses read in 10 s", e.fast.responses[class].Load(), n, class)
		}
	}
}

// BenchmarkSendText sends texts (SIP MESSAGE) to SIPp taking them with
// 202, one at a time and from 32 senders: the carrier-facing cost and rate
// of the sms method.
func BenchmarkSendText(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			e := benchEndpoint(b, false)
			carrier := sipptest.Start(context.Background(), b, sipptest.Options{
				Scenario: "uas_message.xml", NoMessageTrace: true,
				Timeout: 5 * time.Minute, ExtraArgs: []string{"-max_socket", "10000", "-buff_size", "4194304"},
			})
			m := Text{Trunk: Trunk{Name: "bench", Address: carrier.Addr}, From: "+442079460000", To: "+447911123456", Body: "Your verification code is 4821"}
			send := func() {
				if ev := e.SendText(context.Background(), m, 10*time.Second); ev.Kind != EventSent {
					b.Errorf("text ended %s %d %s, want sent", ev.Kind, ev.Status, ev.Reason)
				}
			}
			b.ReportAllocs()
			if parallel {
				b.SetParallelism(16) // 32 senders on 2 CPUs
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						send()
					}
				})
				return
			}
			for b.Loop() {
				send()
			}
		})
	}
}
