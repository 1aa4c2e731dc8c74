package privacy

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// RedactHandler wraps a slog.Handler so that no phone number reaches the
// log even by accident (a library that prints a SIP message, an error that
// quotes a Request-URI): every run of 7 or more digits, with or without a
// leading '+', in the message and in string attributes is masked with Mask.
// Code that knows it is logging a number should still call Mask itself.
func RedactHandler(h slog.Handler) slog.Handler { return redactHandler{h} }

type redactHandler struct{ next slog.Handler }

func (h redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return redactHandler{h.next.WithAttrs(red)}
}

func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{h.next.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = redactAttr(ga)
		}
		return slog.Group(a.Key, red...)
	case slog.KindInt64, slog.KindUint64:
		// A number stored as an integer is still a number.
		if str := v.String(); hasDigitRun(str) {
			return slog.String(a.Key, Redact(str))
		}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, Redact(err.Error()))
		}
		if s, ok := v.Any().(interface{ String() string }); ok {
			return slog.String(a.Key, Redact(s.String()))
		}
		// Anything else (a slice, a map, a struct) is printed by the
		// next handler as it likes; if its text holds a number, it is
		// logged as that text, redacted.
		if str := fmt.Sprint(v.Any()); hasDigitRun(str) {
			return slog.String(a.Key, Redact(str))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// redactMinDigits is the shortest digit run Redact treats as a number.
const redactMinDigits = 7

// Redact masks, as Mask does, every run of 7 or more digits in s (with its
// leading '+', if any) that stands as a word of its own: a run glued to
// letters, such as inside a hex identifier, is not a phone number and is
// left alone.
func Redact(s string) string {
	if !hasDigitRun(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if !isAlnum(s[i]) && s[i] != '+' || (i > 0 && isAlnum(s[i-1])) {
			// Not the start of a word: copy up to the next boundary.
			j := i + 1
			for j < len(s) && isAlnum(s[j]) && isAlnum(s[j-1]) {
				j++
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		j := i
		if s[j] == '+' {
			j++
		}
		k := j
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k-j >= redactMinDigits && (k == len(s) || !isLetter(s[k])) {
			b.WriteString(Mask(s[i:k]))
			i = k
			continue
		}
		// A word that is not a number: copy it whole.
		if k == i {
			k = i + 1
		}
		for k < len(s) && isAlnum(s[k]) {
			k++
		}
		b.WriteString(s[i:k])
		i = k
	}
	return b.String()
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

// hasDigitRun is the fast path of Redact: most log lines hold no number.
func hasDigitRun(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			run++
			if run >= redactMinDigits {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
