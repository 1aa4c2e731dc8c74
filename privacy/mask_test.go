package privacy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMask(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"+447911123456", "+44*******456"},
		{"07911123456", "07******456"},
		{"+12025550123", "+12******123"},
		{"2025550123", "20*****123"},
		{"+123456789012345", "+12**********345"},
		{"+202555012", "+*********"},
		{"123456789", "*********"},
		{"1234", "****"},
		{"+1234", "+****"},
		{"1", "*"},
		{"", ""},
		{"+", "*"},
		{"++447911123456", "**************"},
		{"+44 7911 123456", "***************"},
		{"(202) 555-0123", "**************"},
		{"sip:+447911123456@example.com", "*****************************"},
		{"+44791112345x", "*************"},
		{"０７９１１１２３４５６", "***********"}, // full-width digits are not ASCII digits
		{"alice", "*****"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskCode(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"1234", "****"},
		{"123456", "******"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := MaskCode(tt.in); got != tt.want {
			t.Errorf("MaskCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"+447911123456", "07911123456", "1234", "", "+", "+44 7911 123456", "12345678901234567890", "\xff123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Mask(in)
		if n, m := utf8.RuneCountInString(in), utf8.RuneCountInString(out); n != m {
			t.Errorf("Mask(%q) = %q: %d characters, want %d", in, out, m, n)
		}
		revealed := 0
		for i := 0; i < len(out); i++ {
			if isDigit(out[i]) {
				revealed++
			}
		}
		if revealed > 5 {
			t.Errorf("Mask(%q) = %q reveals %d digits", in, out, revealed)
		}
		for i := 0; i+6 <= len(in); i++ {
			run := in[i : i+6]
			if isDigits(run) && strings.Contains(out, run) {
				t.Errorf("Mask(%q) = %q contains the input's digits %q", in, out, run)
			}
		}
	})
}
