package conf

import (
	"strings"
	"testing"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		in      string
		want    NumberRange
		wantErr string // substring; "" means success
	}{
		{in: "+442079460000-+442079469999", want: NumberRange{Start: 442079460000, End: 442079469999, Digits: 12}},
		{in: "+442079460000", want: NumberRange{Start: 442079460000, End: 442079460000, Digits: 12}},
		{in: " +12025550100 - +12025550199 ", want: NumberRange{Start: 12025550100, End: 12025550199, Digits: 11}},
		{in: "+12345678", want: NumberRange{Start: 12345678, End: 12345678, Digits: 8}},
		{in: "+999999999999999", want: NumberRange{Start: 999999999999999, End: 999999999999999, Digits: 15}},
		{in: "+442079460000-+442079460000", want: NumberRange{Start: 442079460000, End: 442079460000, Digits: 12}},

		{in: "", wantErr: `"" is not an E.164 number: it is empty`},
		{in: "442079460000", wantErr: `"442079460000" is not an E.164 number: it does not start with '+'`},
		{in: "+4420x", wantErr: `"+4420x" is not an E.164 number: 'x' is not a digit`},
		{in: "+44 20 7946 0000", wantErr: `' ' is not a digit`},
		{in: "+1234567", wantErr: "it has 7 digits, want 8 to 15"},
		{in: "+1234567890123456", wantErr: "it has 16 digits, want 8 to 15"},
		{in: "+", wantErr: "it has 0 digits"},
		{in: "+0442079460000", wantErr: "the first digit after '+' is 0"},
		{in: "+٤٤٢٠٧٩٤٦٠٠٠٠", wantErr: `'٤' is not a digit`},
		{in: "+442079460000-", wantErr: `"" is not an E.164 number`},
		{in: "-+442079460000", wantErr: `"" is not an E.164 number`},
		{in: "+442079460000-442079469999", wantErr: `"442079469999" is not an E.164 number`},
		{in: "+442079460000-+44207946999", wantErr: "ends have different lengths (12 and 11 digits)"},
		{in: "+442079469999-+442079460000", wantErr: "start is after end"},
		{in: "+442079460000-+442079460001-+442079460002", wantErr: `'-' is not a digit`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRange(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRange(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRange(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNumberRangeSizeFormatString(t *testing.T) {
	tests := []struct {
		in       string
		size     uint64
		first    string
		last     string
		asString string
	}{
		{"+442079460000-+442079469999", 10000, "+442079460000", "+442079469999", "+442079460000-+442079469999"},
		{"+442079460000", 1, "+442079460000", "+442079460000", "+442079460000"},
		{"+10000000-+99999999", 90000000, "+10000000", "+99999999", "+10000000-+99999999"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRange(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Size(); got != tt.size {
				t.Errorf("Size() = %d, want %d", got, tt.size)
			}
			if got := r.Format(r.Start); got != tt.first {
				t.Errorf("Format(Start) = %q, want %q", got, tt.first)
			}
			if got := r.Format(r.End); got != tt.last {
				t.Errorf("Format(End) = %q, want %q", got, tt.last)
			}
			if got := r.String(); got != tt.asString {
				t.Errorf("String() = %q, want %q", got, tt.asString)
			}
			if !r.Contains(r.Start) || !r.Contains(r.End) || r.Contains(r.End+1) || r.Contains(r.Start-1) {
				t.Errorf("Contains is wrong at the edges of %v", r)
			}
		})
	}
}

func TestFormatZeroPads(t *testing.T) {
	r := NumberRange{Start: 12345678, End: 12345678, Digits: 10}
	if got, want := r.Format(42), "+0000000042"; got != want {
		t.Errorf("Format(42) = %q, want %q", got, want)
	}
}

func TestParseRanges(t *testing.T) {
	got, err := ParseRanges([]string{"+442079460000-+442079460009", "+12025550100"})
	if err != nil {
		t.Fatal(err)
	}
	want := []NumberRange{
		{Start: 442079460000, End: 442079460009, Digits: 12},
		{Start: 12025550100, End: 12025550100, Digits: 11},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ParseRanges = %+v, want %+v", got, want)
	}

	_, err = ParseRanges([]string{"+442079460000", "+4420x"})
	if err == nil || !strings.Contains(err.Error(), `range 1: "+4420x" is not an E.164 number`) {
		t.Errorf("ParseRanges with a bad second element: err = %v", err)
	}
}

func TestCallerRanges(t *testing.T) {
	c := Default()
	if got := c.CallerRanges(); len(got) != 1 || got[0].Size() != 10000 {
		t.Errorf("Default().CallerRanges() = %+v", got)
	}
	c.Callers = []string{"+4420x"}
	if got := c.CallerRanges(); got != nil {
		t.Errorf("CallerRanges of an invalid config = %+v, want nil", got)
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"+442079460000-+442079469999", "+442079460000", "+4420x", "", "+", "-",
		"+12345678-+12345678", "+999999999999999-+999999999999999", "+0123456789",
		" +12025550100 - +12025550199 ", "+442079469999-+442079460000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			if r != (NumberRange{}) {
				t.Fatalf("ParseRange(%q) returned %+v with error %v", s, r, err)
			}
			return
		}
		if r.Start > r.End || r.Digits < minE164Digits || r.Digits > maxE164Digits || r.Size() < 1 {
			t.Fatalf("ParseRange(%q) = %+v breaks an invariant", s, r)
		}
		for _, n := range []uint64{r.Start, r.End} {
			if got := r.Format(n); len(got) != 1+r.Digits {
				t.Fatalf("Format(%d) = %q, want %d digits", n, got, r.Digits)
			}
		}
		again, err := ParseRange(r.String())
		if err != nil || again != r {
			t.Fatalf("ParseRange(%q) = %+v, %v; want it to round-trip %+v", r.String(), again, err, r)
		}
	})
}
