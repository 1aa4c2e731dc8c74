package privacy

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no numbers here", "no numbers here"},
		{"port 5060 and id 123456", "port 5060 and id 123456"},
		{"INVITE sip:+447911123456@10.0.0.1 SIP/2.0", "INVITE sip:+44*******456@10.0.0.1 SIP/2.0"},
		{"from 07911123456.", "from 07******456."},
		{"two +447911123456,+14155550123", "two +44*******456,+14******123"},
		{"+1234567", "+*******"},
		{"", ""},
		{"id=vfcc7000a89d1c762a6c51b11f5024836", "id=vfcc7000a89d1c762a6c51b11f5024836"},
		{"x=1234567y", "x=1234567y"},
		{"447911123456 ok", "44*******456 ok"},
		{"a+447911123456", "a+44*******456"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactHandlerMasksMessageAndAttrs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(RedactHandler(slog.NewTextHandler(&buf, nil)))
	log.With("peer", "sip:+447911123456@x").Info("call to +447911123456",
		"err", errors.New("dial +447911123456: 486"),
		slog.Group("g", "n", "447911123456"),
		"count", 447911123456)
	out := buf.String()
	if strings.Contains(out, "7911123") {
		t.Fatalf("log holds a number: %s", out)
	}
	if !strings.Contains(out, "+44*******456") {
		t.Fatalf("log lost the masked form: %s", out)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("call +447911123456 now")
	f.Add("0000000")
	f.Fuzz(func(t *testing.T, s string) {
		out := Redact(s)
		// No run of 7+ digits standing as a word of its own survives.
		for i := 0; i < len(out); {
			if !isDigit(out[i]) {
				i++
				continue
			}
			j := i
			for j < len(out) && isDigit(out[j]) {
				j++
			}
			standalone := (i == 0 || !isAlnum(out[i-1])) && (j == len(out) || !isLetter(out[j]))
			if standalone && j-i >= redactMinDigits {
				t.Fatalf("Redact(%q) = %q keeps the number %q", s, out, out[i:j])
			}
			i = j
		}
		if len(out) != len(s) {
			t.Fatalf("Redact changed the length: %q -> %q", s, out)
		}
	})
}
