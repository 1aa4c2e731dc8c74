package dialer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
)

// rng builds a conf.NumberRange of digits-digit numbers.
func rng(start, end uint64, digits int) conf.NumberRange {
	return conf.NumberRange{Start: start, End: end, Digits: digits}
}

func mustPool(t testing.TB, codeLength int, ranges ...conf.NumberRange) *Pool {
	t.Helper()
	p, err := NewPool(ranges, codeLength)
	if err != nil {
		t.Fatalf("NewPool(%v, %d): %v", ranges, codeLength, err)
	}
	return p
}

// parse returns the digits of a caller ID as a number and their count.
func parse(t *testing.T, id string) (uint64, int) {
	t.Helper()
	digits, ok := strings.CutPrefix(id, "+")
	if !ok {
		t.Fatalf("caller ID %q: no leading '+'", id)
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		t.Fatalf("caller ID %q: %v", id, err)
	}
	return n, len(digits)
}

func TestNewPoolRejects(t *testing.T) {
	tests := []struct {
		name       string
		ranges     []conf.NumberRange
		codeLength int
	}{
		{"empty", nil, 4},
		{"overlapping", []conf.NumberRange{rng(442079460000, 442079460999, 12), rng(442079460500, 442079461999, 12)}, 4},
		{"overlapping single number", []conf.NumberRange{rng(442079460000, 442079460999, 12), rng(442079460999, 442079460999, 12)}, 4},
		{"duplicate", []conf.NumberRange{rng(442079460000, 442079460999, 12), rng(442079460000, 442079460999, 12)}, 4},
		{"digits equal to code length", []conf.NumberRange{rng(1000, 9999, 4)}, 4},
		{"digits below code length", []conf.NumberRange{rng(100, 999, 3)}, 4},
		{"start after end", []conf.NumberRange{rng(442079469999, 442079460000, 12)}, 4},
		{"end longer than digits", []conf.NumberRange{rng(99999, 100000, 5)}, 4},
		{"more than 15 digits", []conf.NumberRange{rng(1234567890123456, 1234567890123456, 16)}, 4},
		{"zero code length", []conf.NumberRange{rng(442079460000, 442079469999, 12)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPool(tt.ranges, tt.codeLength)
			if !errors.Is(err, ErrInvalidPool) {
				t.Fatalf("NewPool = %v, %v; want error wrapping ErrInvalidPool", p, err)
			}
		})
	}
}

func TestNewPoolAccepts(t *testing.T) {
	tests := []struct {
		name   string
		ranges []conf.NumberRange
		size   uint64
	}{
		{"one block", []conf.NumberRange{rng(442079460000, 442079469999, 12)}, 10000},
		{"single number", []conf.NumberRange{rng(442079460000, 442079460000, 12)}, 1},
		{"adjacent", []conf.NumberRange{rng(442079460000, 442079460999, 12), rng(442079461000, 442079461999, 12)}, 2000},
		{"same integers, different lengths", []conf.NumberRange{rng(12345, 12345, 5), rng(12345, 12345, 6)}, 2},
		{"unsorted", []conf.NumberRange{rng(33140000000, 33140000099, 11), rng(442079460000, 442079460009, 12), rng(12025550100, 12025550199, 11)}, 210},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustPool(t, 4, tt.ranges...).Size(); got != tt.size {
				t.Errorf("Size() = %d, want %d", got, tt.size)
			}
		})
	}
}

func TestPickStaysInRanges(t *testing.T) {
	ranges := []conf.NumberRange{
		rng(442079460000, 442079460099, 12),
		rng(12025550100, 12025550149, 11),
		rng(7, 7, 6), // "+000007": leading zeros are digits too
	}
	p := mustPool(t, 4, ranges...)
	seen := map[string]bool{}
	for range 20000 {
		id, err := p.Pick()
		if err != nil {
			t.Fatal(err)
		}
		n, digits := parse(t, id)
		in := false
		for _, r := range ranges {
			in = in || (digits == r.Digits && r.Start <= n && n <= r.End)
		}
		if !in {
			t.Fatalf("Pick() = %q, outside every range", id)
		}
		seen[id] = true
	}
	// 151 numbers, 20000 draws: each is missed with probability ~1e-57.
	if uint64(len(seen)) != p.Size() {
		t.Errorf("drew %d distinct caller IDs, want all %d", len(seen), p.Size())
	}
	if !seen["+000007"] {
		t.Errorf("never drew +000007")
	}
}

// chiSquareCritical returns a value that a chi-square statistic with df
// degrees of freedom exceeds with probability below about 1e-7, by the
// Wilson–Hilferty approximation with z = 5.2.
func chiSquareCritical(df int) float64 {
	const z = 5.2
	k := float64(df)
	c := 1 - 2/(9*k) + z*math.Sqrt(2/(9*k))
	return k * c * c * c
}

func chiSquare(counts []int, expected []float64) float64 {
	var s float64
	for i, c := range counts {
		d := float64(c) - expected[i]
		s += d * d / expected[i]
	}
	return s
}

func TestPickSuffixesUniform(t *testing.T) {
	const (
		codeLength = 4
		draws      = 200000
	)
	// Ten aligned blocks of 10^4 in two ranges: every code equally likely.
	p := mustPool(t, codeLength,
		rng(442079460000, 442079489999, 12),
		rng(12025550000, 12025619999, 11))
	if w := p.Warnings(); w != nil {
		t.Fatalf("aligned pool: Warnings() = %q", w)
	}
	counts := make([]int, 10000)
	for range draws {
		id, err := p.Pick()
		if err != nil {
			t.Fatal(err)
		}
		c, err := strconv.Atoi(Code(id, codeLength))
		if err != nil {
			t.Fatal(err)
		}
		counts[c]++
	}
	expected := make([]float64, len(counts))
	for i := range expected {
		expected[i] = draws / float64(len(counts))
	}
	stat, limit := chiSquare(counts, expected), chiSquareCritical(len(counts)-1)
	t.Logf("chi-square %.0f over %d codes, limit %.0f", stat, len(counts), limit)
	if stat > limit {
		t.Errorf("code suffixes not uniform: chi-square %.0f > %.0f", stat, limit)
	}
}

func TestPickWeightsRangesBySize(t *testing.T) {
	const draws = 100000
	// 1000 numbers against 9000: each number, not each range, is equally likely.
	p := mustPool(t, 3,
		rng(442079460000, 442079460999, 12),
		rng(12025550000, 12025558999, 11))
	var small int
	for range draws {
		id, err := p.Pick()
		if err != nil {
			t.Fatal(err)
		}
		if _, digits := parse(t, id); digits == 12 {
			small++
		}
	}
	counts := []int{small, draws - small}
	expected := []float64{draws * 0.1, draws * 0.9}
	if stat, limit := chiSquare(counts, expected), chiSquareCritical(1); stat > limit {
		t.Errorf("drew the 1000-number range %d times in %d, want about %d (chi-square %.1f > %.1f)",
			small, draws, draws/10, stat, limit)
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name       string
		ranges     []conf.NumberRange
		codeLength int
		want       string // substring of the only warning; "" for none
	}{
		{"aligned block", []conf.NumberRange{rng(442079460000, 442079469999, 12)}, 4, ""},
		{"aligned blocks of 3 digits", []conf.NumberRange{rng(442079460000, 442079460999, 12)}, 3, ""},
		{"two aligned blocks", []conf.NumberRange{rng(442079460000, 442079469999, 12), rng(12025550000, 12025559999, 11)}, 4, ""},
		{"misaligned block", []conf.NumberRange{rng(442079465000, 442079474999, 12)}, 4, ""},
		{"misaligned ranges that tile", []conf.NumberRange{rng(442079460000, 442079464999, 12), rng(12025555000, 12025559999, 11)}, 4, ""},
		{"wrapping ranges that tile", []conf.NumberRange{rng(442079467000, 442079471999, 12), rng(12025552000, 12025556999, 11)}, 4, ""},
		{"small", []conf.NumberRange{rng(442079460000, 442079460499, 12)}, 4, "pool has 500 numbers: only 500 of 10000 codes possible"},
		{"small across ranges", []conf.NumberRange{rng(442079460000, 442079460499, 12), rng(12025550000, 12025550499, 11)}, 4, "pool has 1000 numbers: only 1000 of 10000 codes possible"},
		{"block and a half", []conf.NumberRange{rng(442079460000, 442079474999, 12)}, 4, "others from 1, so a guess wins 1 in 7500, not 1 in 10000"},
		{"half block twice", []conf.NumberRange{rng(442079460000, 442079464999, 12), rng(12025550000, 12025554999, 11)}, 4, "others from 0, so a guess wins 1 in 5000, not 1 in 10000"},
		{"one extra number", []conf.NumberRange{rng(442079460000, 442079470000, 12)}, 4, "some 4-digit codes come from 2 numbers, others from 1"},
		{"single numbers", []conf.NumberRange{rng(442079460000, 442079460000, 12), rng(442079470000, 442079470000, 12)}, 1, "pool has 2 numbers: only 2 of 10 codes possible"},
		{"huge aligned", []conf.NumberRange{rng(100000000000000, 999999999999999, 15)}, 6, ""},
		{"huge misaligned", []conf.NumberRange{rng(100000000000001, 999999999999999, 15)}, 6, "others from 899999999, so"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustPool(t, tt.codeLength, tt.ranges...).Warnings()
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("Warnings() = %q, want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("Warnings() = %q, want one containing %q", got, tt.want)
			}
		})
	}
}

// TestSuffixCountsMatchEnumeration checks the sweep against counting every
// number's suffix, for pools small enough to enumerate.
func TestSuffixCountsMatchEnumeration(t *testing.T) {
	tests := [][]conf.NumberRange{
		{rng(1000, 1999, 6)},
		{rng(1003, 1017, 6), rng(1023, 1023, 6), rng(1029, 1112, 6)},
		{rng(999, 1001, 6), rng(999, 1001, 7)},
		{rng(5, 5, 6), rng(15, 15, 6), rng(25, 25, 6)},
		{rng(7, 36, 6), rng(48, 51, 6), rng(100, 173, 6)},
	}
	const m = 10
	for i, ranges := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			p := mustPool(t, 1, ranges...)
			counts := make([]uint64, m)
			for _, r := range ranges {
				for n := r.Start; n <= r.End; n++ {
					counts[n%m]++
				}
			}
			wantLo, wantHi := counts[0], counts[0]
			for _, c := range counts {
				wantLo, wantHi = min(wantLo, c), max(wantHi, c)
			}
			if lo, hi := suffixCounts(p.ranges, m); lo != wantLo || hi != wantHi {
				t.Errorf("suffixCounts = %d, %d; want %d, %d (counts %v)", lo, hi, wantLo, wantHi, counts)
			}
		})
	}
}

func TestCode(t *testing.T) {
	tests := []struct {
		callerID   string
		codeLength int
		want       string
	}{
		{"+442079461234", 4, "1234"},
		{"+442079461234", 3, "234"},
		{"+442079460012", 4, "0012"},
		{"+12345", 4, "2345"},
		{"+1234", 4, ""},
		{"", 4, ""},
		{"+442079461234", 0, ""},
	}
	for _, tt := range tests {
		if got := Code(tt.callerID, tt.codeLength); got != tt.want {
			t.Errorf("Code(%q, %d) = %q, want %q", tt.callerID, tt.codeLength, got, tt.want)
		}
	}
}

// fakeLeaser is an in-memory Leaser; leases never expire.
type fakeLeaser struct {
	mu    sync.Mutex
	held  map[string]bool
	takes int
	err   error
}

func (f *fakeLeaser) Take(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.takes++
	if f.err != nil {
		return false, f.err
	}
	if f.held == nil {
		f.held = map[string]bool{}
	}
	if f.held[key] {
		return false, nil
	}
	f.held[key] = true
	return true, nil
}

func TestLeaseSkipsLeasedCallerIDs(t *testing.T) {
	p := mustPool(t, 3, rng(442079460000, 442079460999, 12))
	l := &fakeLeaser{held: map[string]bool{}}
	// Someone holds a tenth of the pool for this number: a lease draws
	// 8 taken IDs with probability 1e-8.
	taken := map[string]bool{}
	for n := 442079460000; n < 442079460100; n++ {
		id := fmt.Sprintf("+%d", n)
		taken[id] = true
		l.held["callerid/num-a/"+id] = true
	}
	for range 200 {
		id, err := p.Lease(t.Context(), l, "num-a", nil, time.Minute)
		if err != nil {
			t.Fatalf("Lease: %v", err)
		}
		if taken[id] {
			t.Fatalf("Lease returned %s, already leased to this number", id)
		}
		taken[id] = true
	}
}

func TestLeaseExhausted(t *testing.T) {
	p := mustPool(t, 4, rng(4420794600, 4420794602, 10))
	l := &fakeLeaser{held: map[string]bool{}}
	for _, id := range []string{"+4420794600", "+4420794601", "+4420794602"} {
		l.held["callerid/num-a/"+id] = true
	}
	id, err := p.Lease(t.Context(), l, "num-a", nil, time.Minute)
	if !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("Lease = %q, %v; want ErrPoolExhausted", id, err)
	}
	if l.takes != leaseTries {
		t.Errorf("made %d leases, want %d", l.takes, leaseTries)
	}
}

func TestLeaseSharesCallerIDsAcrossNumbers(t *testing.T) {
	p := mustPool(t, 4, rng(442079460000, 442079460000, 12))
	l := &fakeLeaser{}
	for _, key := range []string{"num-a", "num-b", "num-c"} {
		id, err := p.Lease(t.Context(), l, key, nil, time.Minute)
		if err != nil || id != "+442079460000" {
			t.Fatalf("Lease(%q) = %q, %v; want +442079460000", key, id, err)
		}
	}
	if _, err := p.Lease(t.Context(), l, "num-a", nil, time.Minute); !errors.Is(err, ErrPoolExhausted) {
		t.Errorf("second Lease(num-a) error = %v, want ErrPoolExhausted", err)
	}
}

func TestLeaseErrors(t *testing.T) {
	p := mustPool(t, 4, rng(442079460000, 442079469999, 12))
	errStore := errors.New("etcd unavailable")
	if _, err := p.Lease(t.Context(), &fakeLeaser{err: errStore}, "num-a", nil, time.Minute); !errors.Is(err, errStore) {
		t.Errorf("Lease with failing Leaser: error = %v, want %v", err, errStore)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	l := &fakeLeaser{}
	if _, err := p.Lease(ctx, l, "num-a", nil, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Lease with cancelled ctx: error = %v, want context.Canceled", err)
	}
	if l.takes != 0 {
		t.Errorf("Lease with cancelled ctx made %d leases", l.takes)
	}
}

func BenchmarkPick(b *testing.B) {
	p := mustPool(b, 4,
		rng(442079460000, 442079469999, 12),
		rng(12025550000, 12025550999, 11),
		rng(33140000000, 33149999999, 11))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Pick(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCode(b *testing.B) {
	b.ReportAllocs()
	var code string
	for b.Loop() {
		code = Code("+442079461234", 4)
	}
	if code != "1234" {
		b.Fatalf("Code = %q", code)
	}
}
