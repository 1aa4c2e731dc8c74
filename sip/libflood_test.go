package sip

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLibraryLogStaysBounded: a flood of datagrams that do not parse, each
// of which sipgo logs whole, makes one short line a second, and the next
// line says how many were left out.
func TestLibraryLogStaysBounded(t *testing.T) {
	var buf bytes.Buffer
	h := newLibFlood(slog.NewTextHandler(&buf, nil)).WithAttrs([]slog.Attr{slog.String("caller", "Transport<UDP>")})
	junk := "INVITE sip:x SIP/2.0\r\nVia: " + strings.Repeat("A", 64<<10)
	start := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	logAt := func(at time.Time, level slog.Level, msg string, args ...any) {
		r := slog.NewRecord(at, level, msg, 0)
		r.Add(args...)
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}

	for i := range 1000 {
		logAt(start.Add(time.Duration(i)*time.Millisecond), slog.LevelError, "failed to parse", "data", junk, "error", "EOF on reading line")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("1,000 bad datagrams in a second made %d lines, want 1", len(lines))
	}
	if len(lines[0]) > 2*maxLibAttrBytes || !strings.Contains(lines[0], "data.bytes=65563") || !strings.Contains(lines[0], "INVITE sip:x") {
		t.Fatalf("the line is %d bytes, want the datagram's start and its length: %.300q", len(lines[0]), lines[0])
	}

	// Another of sipgo's messages is not held back by the first's flood.
	buf.Reset()
	logAt(start.Add(1500*time.Millisecond), slog.LevelError, "Client tx failed to handle response", "error", "no tx")
	if !strings.Contains(buf.String(), "Client tx failed") {
		t.Fatalf("another message was held back: %q", buf.String())
	}

	// A second on, the message is logged again, with the count left out.
	buf.Reset()
	logAt(start.Add(2*time.Second), slog.LevelError, "failed to parse", "data", "x", "error", "EOF")
	if got := buf.String(); !strings.Contains(got, "suppressed=999") {
		t.Fatalf("the next line %q does not count the 999 left out", got)
	}

	// Debug lines, written only when asked for, are not limited.
	var dbg bytes.Buffer
	d := newLibFlood(slog.NewTextHandler(&dbg, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for range 10 {
		r := slog.NewRecord(start, slog.LevelDebug, "New connection", 0)
		if err := d.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(dbg.String(), "New connection"); n != 10 {
		t.Fatalf("%d of 10 debug lines logged", n)
	}
}
