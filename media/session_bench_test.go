package media

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPromptStreams plays a prompt on N concurrent sessions over
// loopback, as N answered voice-OTP calls would, into one socket that
// drains them all. One op is one 20 ms frame on every stream, so ns/op
// stays at 20 ms unless pacing drifts. Streams start spread over one frame,
// as calls do. Metrics: how late packets leave against their schedule
// (p50, p99, max), and the process's CPU time (senders and the draining
// receiver) per stream, in percent of one core.
func BenchmarkPromptStreams(b *testing.B) {
	for _, n := range []int{100, 500} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) { benchmarkStreams(b, n) })
	}
}

func benchmarkStreams(b *testing.B, n int) {
	prompts, err := LoadPrompts("")
	if err != nil {
		b.Fatal(err)
	}
	sentence, err := prompts.Sequence("en", CodecPCMU, PromptCodeIs, "4", "0", "7", "1", PromptAgain, "4", "0", "7", "1")
	if err != nil {
		b.Fatal(err)
	}

	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	sink.SetReadBuffer(8 << 20) //nolint:errcheck // best effort
	sent := int64(n * b.N)
	var received atomic.Int64
	drained, gotAll := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 2048)
		for {
			if _, _, err := sink.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			if received.Add(1) == sent {
				close(gotAll)
			}
		}
	}()

	lateness := make([][]time.Duration, n)
	sessions := make([]*Session, n)
	for i := range sessions {
		s, err := Listen(context.Background(), loopback, PortRange{Min: 23000, Max: 26998})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		lateness[i] = make([]time.Duration, 0, b.N)
		record := func(d time.Duration) { lateness[i] = append(lateness[i], d) }
		neg := Negotiated{Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: CodecPCMU}
		if err := s.Start(neg, WithNoMediaTimeout(0), withLateness(record)); err != nil {
			b.Fatal(err)
		}
		sessions[i] = s
	}
	audio := make([]byte, 0, b.N*FrameSamples)
	for len(audio) < b.N*FrameSamples {
		audio = append(audio, sentence[:min(len(sentence), b.N*FrameSamples-len(audio))]...)
	}

	var wg sync.WaitGroup
	errs := make(chan error, n)
	cpu0 := cpuTime(b)
	begin := time.Now()
	b.ResetTimer()
	for i, s := range sessions {
		wg.Go(func() {
			// Spread the streams' schedules over one frame.
			t := time.NewTimer(time.Until(begin.Add(frameDuration * time.Duration(i) / time.Duration(n))))
			<-t.C
			if err := s.Play(context.Background(), audio); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	wall := time.Since(begin)
	cpu := cpuTime(b) - cpu0
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	// Let the sink catch up on what is still queued, within reason.
	select {
	case <-gotAll:
	case <-time.After(time.Second):
	}
	sink.Close()
	<-drained

	all := slices.Concat(lateness...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "late-p50-µs")
	b.ReportMetric(pct(0.99), "late-p99-µs")
	b.ReportMetric(float64(all[len(all)-1].Microseconds()), "late-max-µs")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/float64(n), "%cpu/stream")
	b.ReportMetric(100*float64(sent-received.Load())/float64(sent), "%lost")
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(errors.Join(errors.New("getrusage"), err))
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
