package verify

import (
	"bufio"
	"fmt"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store/storetest"
)

// openStream opens GET path on addr as an event stream over a raw
// connection and reads until the first event's data line, within
// deadline. It returns the open connection; the caller closes it.
func openStream(addr, path, key string, deadline time.Time) (net.Conn, string, error) {
	return openStreamFrom("", addr, path, key, deadline)
}

// openStreamFrom is openStream from the local IP address from ("": any).
func openStreamFrom(from, addr, path, key string, deadline time.Time) (net.Conn, string, error) {
	d := net.Dialer{Deadline: deadline}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	conn.SetDeadline(deadline)
	auth := ""
	if key != "" {
		auth = "Authorization: Bearer " + key + "\r\n"
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: ringproof\r\n%s\r\n", path, auth); err != nil {
		conn.Close()
		return nil, "", err
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("status line: %w", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.1 200") {
		// The head of the refusal: status line and headers.
		head := status
		for {
			line, err := br.ReadString('\n')
			if err != nil || strings.TrimSpace(line) == "" {
				break
			}
			head += line
		}
		conn.Close()
		return nil, head, fmt.Errorf("stream refused: %q", strings.TrimSpace(status))
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			conn.Close()
			return nil, "", fmt.Errorf("waiting for the first event: %w", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			conn.SetDeadline(time.Time{})
			return conn, data, nil
		}
	}
}

// waitGoroutines waits until no more than limit goroutines run, and
// returns how many ran last.
func waitGoroutines(limit int, within time.Duration) int {
	deadline := time.Now().Add(within)
	for {
		n := runtime.NumGoroutine()
		if n <= limit || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEventStreamStorm: 2,000 event streams of web pages (watch tokens)
// opened and dropped at once, three times, leave nothing behind: a new
// stream then delivers its first event within a second and the goroutines
// return to where they were. With an etcd watch per stream, the in-process
// etcd client froze after a few hundred closed at once, and every later
// watch of the node with it.
func TestEventStreamStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 6,000 streams")
	}
	const streams, rounds, dialers = 2000, 3, 64
	svc, _ := newTestService(t, Config{})
	h := NewHandler(svc, []string{testKey}, 64<<10, storetest.Logger(t))
	h.LimitEventStreams(streams+10, streams+10)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	v, err := svc.Create(t.Context(), CreateRequest{Number: "+447911123456", Method: "flashcall"})
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/verifications/" + v.ID + "/events?token=" + v.WatchToken

	// The baseline: one stream opened and closed, so that whatever a
	// node keeps for its streams once it has had one is counted.
	conn, _, err := openStream(addr, path, "", time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	baseline := waitGoroutines(0, 200*time.Millisecond)

	for round := range rounds {
		conns := make(chan net.Conn, streams)
		errs := make(chan error, streams)
		work := make(chan struct{}, streams)
		for range streams {
			work <- struct{}{}
		}
		close(work)
		start := time.Now()
		deadline := start.Add(2 * time.Minute)
		var wg sync.WaitGroup
		for range dialers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					c, _, err := openStream(addr, path, "", deadline)
					if err != nil {
						errs <- err
						continue
					}
					conns <- c
				}
			}()
		}
		wg.Wait()
		close(conns)
		close(errs)
		t.Logf("round %d: %d streams opened in %v; dropping them at once", round+1, len(conns), time.Since(start).Round(time.Millisecond))
		n := 0
		for c := range conns {
			c.Close()
			n++
		}
		if err := <-errs; err != nil {
			t.Fatalf("round %d: %d streams opened, then: %v", round+1, n, err)
		}
	}

	// Everything the streams held goes (within a generous deadline: 6,000
	// connections end on a shared machine), and a new stream answers
	// within a second of its request, measured from when it is sent (3 s
	// under the race detector, which slows every step several times).
	if n := waitGoroutines(baseline+10, time.Minute); n > baseline+10 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines remain, %d before the storm:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
	within := time.Second * raceSlowdown
	sent := time.Now()
	conn, data, err := openStream(addr, path, "", sent.Add(within))
	if err != nil {
		t.Fatalf("a new stream after the storm: %v (waited %v)", err, time.Since(sent).Round(time.Millisecond))
	}
	conn.Close()
	if !strings.Contains(data, v.ID) {
		t.Fatalf("first event %q is not the verification's", data)
	}
}

// TestEventStreamLimits: past http.max_event_streams_per_ip a client's
// next stream is refused with 429, past http.max_event_streams any stream
// with 503, both with Retry-After; a stream that ends frees its place.
func TestEventStreamLimits(t *testing.T) {
	svc, _ := newTestService(t, Config{})
	h := NewHandler(svc, []string{testKey}, 64<<10, storetest.Logger(t))
	h.LimitEventStreams(3, 2)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	v, err := svc.Create(t.Context(), CreateRequest{Number: "+447911123456", Method: "flashcall"})
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/verifications/" + v.ID + "/events?token=" + v.WatchToken
	deadline := time.Now().Add(30 * time.Second)

	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	mustOpen := func(from string) {
		t.Helper()
		c, _, err := openStreamFrom(from, addr, path, "", deadline)
		if err != nil {
			t.Fatalf("stream from %s: %v", from, err)
		}
		open = append(open, c)
	}
	refused := func(from, want string) {
		t.Helper()
		c, status, err := openStreamFrom(from, addr, path, "", deadline)
		if err == nil {
			c.Close()
			t.Fatalf("stream from %s opened; want %s", from, want)
		}
		if !strings.HasPrefix(status, "HTTP/1.1 "+want) || !strings.Contains(status, "\r\nRetry-After: ") {
			t.Fatalf("stream from %s: %v %q; want %s with Retry-After", from, err, status, want)
		}
	}
	mustOpen("127.0.0.1")
	mustOpen("127.0.0.1")
	refused("127.0.0.1", "429")
	mustOpen("127.0.0.2")
	refused("127.0.0.3", "503")

	// Closing one frees its place, once the server has seen it go.
	open[0].Close()
	open = open[1:]
	for {
		c, status, err := openStreamFrom("127.0.0.1", addr, path, "", deadline)
		if err == nil {
			open = append(open, c)
			break
		}
		if !strings.HasPrefix(status, "HTTP/1.1 429") && !strings.HasPrefix(status, "HTTP/1.1 503") || time.Now().After(deadline) {
			t.Fatalf("a stream after one closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
