package number

import (
	"errors"
	"strings"
	"testing"

	"github.com/ringproof/ringproof/api"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, region string
		want       string
		field      string // the field the error names; "" for success
	}{
		{"+447911123456", "", "+447911123456", ""},
		{" +44 7911 123456 ", "", "+447911123456", ""},
		{"07911123456", "GB", "+447911123456", ""},
		{"07911123456", "gb", "+447911123456", ""},
		{"004915123456789", "GB", "+4915123456789", ""},
		{"004915123456789", "", "", "number"},
		{"+1 415 555 2671", "", "+14155552671", ""},
		{"07911123456", "", "", "number"},
		{"12345", "US", "", "number"},
		{"+447700900123", "", "", "number"}, // UK drama range: not a real number
		{"not a number", "GB", "", "number"},
		{"", "", "", "number"},
		{"+44" + strings.Repeat("1", 80), "", "", "number"},
		{"07911123456", "XX", "", "region"},
		{"+447911128101x", "", "", "number"}, // trailing junk the parser would drop
		{"+447911128101;ext=1", "", "", "number"},
		{"+44 7911 128101 ext. 5", "", "", "number"},
		{"44+7911128101", "GB", "", "number"},
		{"(07911) 128-101", "GB", "+447911128101", ""},
		{"+44.7911.128101", "", "+447911128101", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in+"/"+tt.region, func(t *testing.T) {
			got, err := Parse(tt.in, tt.region)
			if tt.field == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var in *api.InputError
			if !errors.As(err, &in) || in.Field != tt.field {
				t.Fatalf("got %q, %v; want an InputError on %q", got, err, tt.field)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"+447911123456", "07911123456", "", "+", "00", "+1 (415) 555-2671 ext. 5"} {
		f.Add(s, "GB")
	}
	f.Fuzz(func(t *testing.T, s, region string) {
		got, err := Parse(s, region)
		if err == nil && (!strings.HasPrefix(got, "+") || len(got) > 16) {
			t.Fatalf("Parse(%q, %q) = %q: not E.164", s, region, got)
		}
		var in *api.InputError
		if err != nil && !errors.As(err, &in) {
			t.Fatalf("error is not an InputError: %v", err)
		}
	})
}

func TestNormaliseCallerID(t *testing.T) {
	tests := []struct {
		raw, region, want string
	}{
		{"+447911123456", "", "+447911123456"},
		{"tel:+447911123456", "", "+447911123456"},
		{"07911123456", "GB", "+447911123456"},
		{"447911123456", "", "+447911123456"},
		{"447911123456", "US", "+447911123456"}, // not national in US: international digits
		{" ", "GB", ""},
		{"tel:+447911128101;npdi", "", "+447911128101"}, // user parameters
		{"anonymous", "GB", ""},
		{"anonymous", "GB", ""},
	}
	for _, tt := range tests {
		got, err := NormaliseCallerID(tt.raw, tt.region)
		if (err != nil) != (tt.want == "") || got != tt.want {
			t.Errorf("NormaliseCallerID(%q, %q) = %q, %v; want %q", tt.raw, tt.region, got, err, tt.want)
		}
	}
}
