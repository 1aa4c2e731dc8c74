package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/sip/sipptest"
)

// The test handset (ringproof phone) against a running server, for both
// methods: what a newcomer does in the README's walkthrough.

// runPhone runs "ringproof phone args..." in the background and returns
// its output lines as they come.
func runPhone(t *testing.T, args ...string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	exited := make(chan int, 1)
	go func() {
		// What it says on stderr is its reason when it stops early (a
		// port taken in the meantime): it goes to the lines then, last.
		var stderr logBuffer
		code := run(ctx, append([]string{"phone"}, args...), pw, &stderr)
		if code != 0 && ctx.Err() == nil {
			fmt.Fprintf(pw, "phone exited with status %d: %s\n", code, strings.Join(strings.Fields(stderr.String()), " "))
		}
		exited <- code
		pw.Close()
	}()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		pr.Close()
		<-exited
	})
	return lines
}

// phoneCarrier runs the test handset as the carrier for count calls or
// texts and returns its output lines, once it listens, and its address.
func phoneCarrier(t *testing.T, count int) (lines <-chan string, addr string) {
	t.Helper()
	addr = fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	lines = runPhone(t, "--listen", addr, "--count", strconv.Itoa(count))
	nextLine(t, lines, regexp.MustCompile(`^phone: listening on`))
	return lines, addr
}

// nextLine returns the next line matching re, failing after a deadline.
func nextLine(t *testing.T, lines <-chan string, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	last := ""
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("phone exited before printing %v; its last line: %q", re, last)
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
			last = l
		case <-deadline:
			t.Fatalf("phone never printed %v; its last line: %q", re, last)
		}
	}
}

func TestPhoneTakesAFlashCall(t *testing.T) {
	t.Parallel()
	lines, carrier := phoneCarrier(t, 1)
	srv := startServer(t, testConfig(t, carrier))
	id := srv.create(testNumber)
	if ring := nextLine(t, lines, regexp.MustCompile(`^phone: ringing: call from \+\d+ to \+\d+$`)); strings.Contains(ring[0], "code") {
		t.Fatalf("the phone showed a code while it rang: %q", ring[0])
	}
	// Hung up unanswered: the missed call's caller ID carries the code.
	m := nextLine(t, lines, regexp.MustCompile(`^phone: cancelled: call from (\+\d+) to (\+\d+) after .* \(flash-call code (\d{4})\)$`))
	callerID, to, code := m[1], m[2], m[3]
	if to != testNumber || !inPool(callerID) {
		t.Fatalf("phone saw a call from %s to %s", callerID, to)
	}
	srv.waitFor(id, "rang", status("rang"))
	if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`); c["status"] != "verified" {
		t.Fatalf("the code the phone showed did not verify: %v", c)
	}
}

func TestPhoneCallsInForAMissedCall(t *testing.T) {
	t.Parallel()
	srv := startServer(t, inboundConfig(t))
	id, dial := srv.createInbound(testNumber)
	var out bytes.Buffer
	code := run(context.Background(), []string{"phone", "call", "--from", testNumber, "--to", dial, "--server", srv.SIPAddr().String(), "--timeout", "10s"}, &out, io.Discard)
	if code != 0 || !strings.Contains(out.String(), "phone: rejected: 603 Decline") {
		t.Fatalf("phone call: exit %d\n%s", code, out.String())
	}
	if _, v := srv.call("GET", "/v1/verifications/"+id, ""); v["status"] != "verified" {
		t.Fatalf("after the phone's call: %v", v)
	}
	// A withheld caller ID proves nothing.
	id2, dial2 := srv.createInbound("+447911123457")
	out.Reset()
	run(context.Background(), []string{"phone", "call", "--anonymous", "--from", "+447911123457", "--to", dial2, "--server", srv.SIPAddr().String()}, &out, io.Discard)
	if !strings.Contains(out.String(), "rejected: 603") {
		t.Fatalf("anonymous call: %s", out.String())
	}
	if _, v := srv.call("GET", "/v1/verifications/"+id2, ""); v["status"] != "pending" {
		t.Fatalf("anonymous call verified: %v", v)
	}
}

func TestFlashCallEventStream(t *testing.T) {
	t.Parallel()
	_, carrier := phoneCarrier(t, 1)
	c := testConfig(t, carrier)
	c.FlashCall.RingMS = 300 // ring long enough for the stream to see it
	srv := startServer(t, c)
	id := srv.create(testNumber)
	events := srv.stream(id)
	var statuses []string
	for v := range events {
		if s := v["status"].(string); len(statuses) == 0 || statuses[len(statuses)-1] != s {
			statuses = append(statuses, s)
		}
		if v["status"] == "rang" {
			break
		}
	}
	if strings.Join(statuses, ",") != "pending,ringing,rang" && strings.Join(statuses, ",") != "ringing,rang" {
		t.Fatalf("stream statuses %v", statuses)
	}
}
