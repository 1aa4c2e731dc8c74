package sip

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// A peer decides how often sipgo logs about its messages, and with what:
// every datagram that does not parse is an error line holding the whole
// datagram (up to 64 KiB). Left alone, anyone who can reach the SIP port
// can fill the operator's disk and bury every other line. libFlood keeps
// what sipgo logs bounded: each string attribute is cut to
// maxLibAttrBytes, and each message (sipgo's are fixed strings, "failed
// to parse") is logged at most once per libLogEvery; the next line of
// that message logged says how many were left out since.

// maxLibAttrBytes is as much of a string attribute (a message that did not
// parse) as a line keeps: its start line and first headers, which say what
// the peer sent.
const maxLibAttrBytes = 512

// libLogEvery is how often each of sipgo's messages may be logged.
const libLogEvery = time.Second

// maxLibMessages bounds the messages libFlood tracks; sipgo has a few
// dozen.
const maxLibMessages = 256

// libFlood is a slog.Handler in front of sipgo's log (see SetLibraryLogger).
// Debug lines pass unlimited: they are written only when an operator asks
// for them.
type libFlood struct {
	slog.Handler
	seen *libSeen
}

// libSeen is when each message was last logged, shared by a libFlood and
// the handlers derived from it (WithAttrs), since sipgo's transports each
// add their own attributes to one logger.
type libSeen struct {
	mu   sync.Mutex
	msgs map[string]*libMessage
}

type libMessage struct {
	last    time.Time
	dropped int
}

func newLibFlood(h slog.Handler) libFlood {
	return libFlood{Handler: h, seen: &libSeen{msgs: map[string]*libMessage{}}}
}

func (h libFlood) Handle(ctx context.Context, r slog.Record) error {
	dropped := 0
	if r.Level > slog.LevelDebug {
		var ok bool
		if dropped, ok = h.seen.admit(r.Message, r.Time); !ok {
			return nil
		}
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(capAttr(a))
		return true
	})
	if dropped > 0 {
		out.AddAttrs(slog.Int("suppressed", dropped))
	}
	return h.Handler.Handle(ctx, out)
}

func (h libFlood) WithAttrs(as []slog.Attr) slog.Handler {
	capped := make([]slog.Attr, len(as))
	for i, a := range as {
		capped[i] = capAttr(a)
	}
	return libFlood{Handler: h.Handler.WithAttrs(capped), seen: h.seen}
}

func (h libFlood) WithGroup(name string) slog.Handler {
	return libFlood{Handler: h.Handler.WithGroup(name), seen: h.seen}
}

// admit reports whether msg, at time at, may be logged, and if so how many
// lines of it were left out since it last was.
func (s *libSeen) admit(msg string, at time.Time) (dropped int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msgs[msg]
	if m == nil {
		if len(s.msgs) >= maxLibMessages {
			clear(s.msgs)
		}
		s.msgs[msg] = &libMessage{last: at}
		return 0, true
	}
	if at.Sub(m.last) < libLogEvery {
		m.dropped++
		return 0, false
	}
	dropped, m.dropped, m.last = m.dropped, 0, at
	return dropped, true
}

// capAttr cuts a string attribute to maxLibAttrBytes, saying how long it
// was.
func capAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() != slog.KindString || len(v.String()) <= maxLibAttrBytes {
		return slog.Attr{Key: a.Key, Value: v}
	}
	s := v.String()
	return slog.Group(a.Key, slog.String("start", s[:maxLibAttrBytes]), slog.Int("bytes", len(s)))
}
