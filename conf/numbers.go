package conf

import (
	"fmt"
	"strings"
)

// NumberRange is an inclusive range of E.164 numbers that share a length,
// as written in config: "+442079460000-+442079469999" or a single
// "+442079460000". Start and End are the digits after '+' as integers.
type NumberRange struct {
	Start, End uint64
	// Digits is the count of digits after '+', the same for Start and End.
	Digits int
}

// Limits on the digits after '+' in an E.164 number as this package accepts
// them. E.164 allows at most 15; fewer than 8 is never a routable caller ID.
const (
	minE164Digits = 8
	maxE164Digits = 15
)

// ParseRange parses a caller-ID range as written in config: two E.164
// numbers joined by '-' ("+442079460000-+442079469999"), or one number
// ("+442079460000"), which is a range of one with Start == End. Each number
// is '+' then 8 to 15 ASCII digits, the first not 0; spaces around either
// end are ignored. Both ends must have the same number of digits and Start
// must not be after End. The error names the offending input and why it was
// refused.
func ParseRange(s string) (NumberRange, error) {
	first, last, isRange := strings.Cut(s, "-")
	start, digits, err := parseE164(strings.TrimSpace(first))
	if err != nil {
		return NumberRange{}, err
	}
	if !isRange {
		return NumberRange{Start: start, End: start, Digits: digits}, nil
	}
	end, endDigits, err := parseE164(strings.TrimSpace(last))
	if err != nil {
		return NumberRange{}, err
	}
	if endDigits != digits {
		return NumberRange{}, fmt.Errorf("%q: ends have different lengths (%d and %d digits)", s, digits, endDigits)
	}
	if start > end {
		return NumberRange{}, fmt.Errorf("%q: start is after end", s)
	}
	return NumberRange{Start: start, End: end, Digits: digits}, nil
}

// parseE164 parses "+" and 8 to 15 digits, the first not 0, returning the
// digits as an integer and how many there were.
func parseE164(s string) (n uint64, digits int, err error) {
	bad := func(why string) (uint64, int, error) {
		return 0, 0, fmt.Errorf("%q is not an E.164 number: %s", s, why)
	}
	if s == "" {
		return bad("it is empty")
	}
	if s[0] != '+' {
		return bad("it does not start with '+'")
	}
	ds := s[1:]
	for _, r := range ds {
		if r < '0' || r > '9' {
			return bad(fmt.Sprintf("%q is not a digit", r))
		}
	}
	if len(ds) < minE164Digits || len(ds) > maxE164Digits {
		return bad(fmt.Sprintf("it has %d digits, want %d to %d", len(ds), minE164Digits, maxE164Digits))
	}
	if ds[0] == '0' {
		return bad("the first digit after '+' is 0")
	}
	// At most 15 digits: cannot overflow uint64.
	for i := 0; i < len(ds); i++ {
		n = n*10 + uint64(ds[i]-'0')
	}
	return n, len(ds), nil
}

// ParseRanges parses each element of list with ParseRange, in order. The
// error names the index of the first element that does not parse. It does
// not check that ranges are disjoint; Config.Validate does.
func ParseRanges(list []string) ([]NumberRange, error) {
	out := make([]NumberRange, 0, len(list))
	for i, s := range list {
		r, err := ParseRange(s)
		if err != nil {
			return nil, fmt.Errorf("range %d: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Size returns how many numbers r holds: End-Start+1, at least 1 for a range
// that ParseRange returned.
func (r NumberRange) Size() uint64 {
	return r.End - r.Start + 1
}

// Contains reports whether the number n (the digits after '+' as an
// integer) is in r.
func (r NumberRange) Contains(n uint64) bool {
	return r.Start <= n && n <= r.End
}

// Format writes the number n (the digits after '+' as an integer, not an
// offset into r) as E.164: '+' and n's digits, zero-padded to r.Digits.
// It does not check that n is in r; an n with more than r.Digits digits is
// written in full.
func (r NumberRange) Format(n uint64) string {
	return fmt.Sprintf("+%0*d", r.Digits, n)
}

// String writes r as ParseRange accepts it: "+start-+end", or "+start" for
// a range of one.
func (r NumberRange) String() string {
	if r.Start == r.End {
		return r.Format(r.Start)
	}
	return r.Format(r.Start) + "-" + r.Format(r.End)
}

// CallerRanges returns the parsed Callers. It is meant for a Config that
// passed Validate; for one that did not, it returns nil if any element does
// not parse.
func (c *Config) CallerRanges() []NumberRange {
	rs, err := ParseRanges(c.Callers)
	if err != nil {
		return nil
	}
	return rs
}

// InboundRanges returns the parsed Inbound.Numbers, the system numbers
// that trunks deliver to ringproof. It is meant for a Config that passed
// Validate; for one that did not, it returns nil if any element does not
// parse.
func (c *Config) InboundRanges() []NumberRange {
	rs, err := ParseRanges(c.Inbound.Numbers)
	if err != nil {
		return nil
	}
	return rs
}
