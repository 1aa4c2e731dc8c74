// Package dialer places outbound calls and owns the flash-call caller-ID
// pool: which number a verification call is presented from, and so which
// code the user sees.
package dialer

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ringproof/ringproof/conf"
)

// maxDigits is the longest E.164 number: 15 digits after '+'.
const maxDigits = 15

// leaseTries bounds how many caller IDs Lease draws before it gives up.
const leaseTries = 8

var (
	// ErrInvalidPool is wrapped by every error NewPool returns.
	ErrInvalidPool = errors.New("invalid caller-ID pool")
	// ErrPoolExhausted is returned by Lease when every caller ID it drew was
	// already leased to the same number.
	ErrPoolExhausted = errors.New("caller-ID pool exhausted")
)

// Pool is a set of caller IDs for flash calls, drawn uniformly at random.
// The last codeLength digits of a caller ID are the verification code.
// A Pool is immutable after NewPool and safe for concurrent use.
type Pool struct {
	ranges     []poolRange // sorted by (digits, start); disjoint
	size       uint64
	codeLength int
	// reject is 2^64 mod size: Pick rejects a 64-bit draw whose low product
	// word is below it, so every index is equally likely (Lemire's method).
	reject   uint64
	warnings []string
}

// poolRange is a conf.NumberRange with the pool index just past its last
// number, so an index maps to a range by binary search.
type poolRange struct {
	start, end uint64
	digits     int
	cumEnd     uint64
}

// NewPool returns a pool of every number in ranges, for codes of
// codeLength digits. It fails, with an error wrapping ErrInvalidPool, if
// ranges is empty, if two ranges share a number, if a range is malformed
// (Start > End, more than 15 digits, or End too long for Digits), or if a
// range's numbers have codeLength digits or fewer: a caller ID must be
// longer than its code.
//
// A pool that is valid but makes codes easier to guess is accepted; its
// Warnings say why.
func NewPool(ranges []conf.NumberRange, codeLength int) (*Pool, error) {
	if codeLength < 1 {
		return nil, fmt.Errorf("%w: code length %d, want at least 1", ErrInvalidPool, codeLength)
	}
	if len(ranges) == 0 {
		return nil, fmt.Errorf("%w: no numbers", ErrInvalidPool)
	}
	rs := make([]poolRange, 0, len(ranges))
	for _, r := range ranges {
		switch {
		case r.Digits < 1 || r.Digits > maxDigits:
			return nil, fmt.Errorf("%w: range %s: %d digits, want 1 to %d",
				ErrInvalidPool, rangeString(r), r.Digits, maxDigits)
		case r.Start > r.End:
			return nil, fmt.Errorf("%w: range %s: start after end", ErrInvalidPool, rangeString(r))
		case r.End >= pow10(r.Digits):
			return nil, fmt.Errorf("%w: range %s: end has more than %d digits",
				ErrInvalidPool, rangeString(r), r.Digits)
		case r.Digits <= codeLength:
			return nil, fmt.Errorf("%w: range %s: %d digits, want more than the code length %d",
				ErrInvalidPool, rangeString(r), r.Digits, codeLength)
		}
		rs = append(rs, poolRange{start: r.Start, end: r.End, digits: r.Digits})
	}
	slices.SortFunc(rs, func(a, b poolRange) int {
		return cmp.Or(cmp.Compare(a.digits, b.digits), cmp.Compare(a.start, b.start))
	})
	var size uint64
	for i := range rs {
		if i > 0 && rs[i].digits == rs[i-1].digits && rs[i].start <= rs[i-1].end {
			return nil, fmt.Errorf("%w: ranges %s and %s overlap",
				ErrInvalidPool, rs[i-1], rs[i])
		}
		// Cannot overflow: at most 10^15 numbers of each of 15 lengths.
		size += rs[i].end - rs[i].start + 1
		rs[i].cumEnd = size
	}
	p := &Pool{
		ranges:     rs,
		size:       size,
		codeLength: codeLength,
		reject:     -size % size,
	}
	p.warnings = warnings(rs, size, codeLength)
	return p, nil
}

// Size returns how many distinct caller IDs the pool holds.
func (p *Pool) Size() uint64 { return p.size }

// Pick returns a caller ID, "+" and its digits, drawn from crypto/rand so
// that every number in the pool is equally likely, whichever range holds
// it. It fails only if the system's random source does.
func (p *Pool) Pick() (string, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("pick caller ID: %w", err)
		}
		hi, lo := bits.Mul64(binary.LittleEndian.Uint64(b[:]), p.size)
		if lo >= p.reject {
			return p.at(hi), nil
		}
	}
}

// at returns the caller ID at index i, 0 <= i < p.size.
func (p *Pool) at(i uint64) string {
	k := sort.Search(len(p.ranges), func(k int) bool { return i < p.ranges[k].cumEnd })
	r := p.ranges[k]
	return formatNumber(r.end-(r.cumEnd-1-i), r.digits)
}

// Warnings returns human-readable reasons, meant for the log at start-up,
// why the pool makes codes easier to guess than 1 in 10^codeLength: too few
// numbers, or code suffixes that are not all equally likely. It returns nil
// for a pool without such weaknesses.
func (p *Pool) Warnings() []string { return slices.Clone(p.warnings) }

// Code returns the verification code a caller ID carries: its last
// codeLength digits. callerID is as Pick returns it; if it has codeLength
// digits or fewer, or codeLength < 1, Code returns "".
func Code(callerID string, codeLength int) string {
	digits := strings.TrimPrefix(callerID, "+")
	if codeLength < 1 || len(digits) <= codeLength {
		return ""
	}
	return digits[len(digits)-codeLength:]
}

// LeasePrefix is where caller-ID leases live: LeasePrefix + number key +
// "/" + the caller ID's name (Dialer.NameLeases), never the caller ID
// itself: its last digits are a flash call's code.
const LeasePrefix = "callerid/"

// leaseKey is where the lease of the caller ID named name for numberKey
// lives.
func leaseKey(numberKey, name string) string { return LeasePrefix + numberKey + "/" + name }

// randomLeaseNames names caller IDs by HMAC-SHA256 under a random key.
func randomLeaseNames() func(string) string {
	key := make([]byte, 32)
	rand.Read(key)
	return func(callerID string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(callerID))
		return hex.EncodeToString(m.Sum(nil)[:16])
	}
}

// Leaser leases keys: short-lived, exclusive holds; the state store
// implements it.
type Leaser interface {
	// Take leases key for ttl if nobody holds it, and reports whether it
	// did: false, with a nil error, means someone else holds key now. An
	// error means the lease's outcome is unknown.
	Take(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// Lease picks a caller ID and leases it, for ttl, for the number that
// numberKey stands for, so that no two live verifications of one number are
// presented from the same caller ID; different numbers may share one.
// numberKey is an opaque key for the number (a keyed hash, never the number
// itself), and name names a caller ID as opaquely (nil: by the caller ID
// itself); the lease's key is "callerid/" + numberKey + "/" +
// name(callerID). ttl should cover the call and a cooldown after it:
// nothing else ends a lease.
//
// Lease draws up to 8 caller IDs; if every one is already leased to the
// number it returns an error wrapping ErrPoolExhausted. It returns ctx's
// error if ctx ends, and wraps the Leaser's error if a lease fails.
func (p *Pool) Lease(ctx context.Context, l Leaser, numberKey string, name func(callerID string) string, ttl time.Duration) (callerID string, err error) {
	if name == nil {
		name = func(id string) string { return id }
	}
	for range leaseTries {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("lease caller ID: %w", err)
		}
		id, err := p.Pick()
		if err != nil {
			return "", fmt.Errorf("lease caller ID: %w", err)
		}
		ok, err := l.Take(ctx, leaseKey(numberKey, name(id)), ttl)
		if err != nil {
			return "", fmt.Errorf("lease caller ID: %w", err)
		}
		if ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("lease caller ID: %w: %d draws from %d numbers all taken",
		ErrPoolExhausted, leaseTries, p.size)
}

// warnings computes Pool.Warnings for the sorted, disjoint ranges rs.
func warnings(rs []poolRange, size uint64, codeLength int) []string {
	m := pow10(codeLength)
	if size < m {
		return []string{fmt.Sprintf("caller-ID pool has %d numbers: only %d of %d codes possible",
			size, size, m)}
	}
	lo, hi := suffixCounts(rs, m)
	if lo == hi {
		return nil
	}
	return []string{fmt.Sprintf("caller-ID pool of %d numbers is not whole aligned blocks of %d: "+
		"some %d-digit codes come from %d numbers, others from %d, so a guess wins 1 in %d, not 1 in %d",
		size, m, codeLength, hi, lo, size/hi, m)}
}

// suffixCounts returns the least and greatest number of pool numbers that
// end in any one of the m suffixes 0..m-1, without enumerating the ranges.
//
// A range of n numbers covers every suffix n/m times, plus once more for
// the n%m suffixes on the cyclic interval that starts at its start's
// suffix. The counts are then a constant plus the coverage of those
// intervals, which a sweep over their ends finds.
func suffixCounts(rs []poolRange, m uint64) (lo, hi uint64) {
	type event struct {
		at    uint64
		delta int64
	}
	var base uint64
	events := make([]event, 0, 4*len(rs))
	for _, r := range rs {
		n := r.end - r.start + 1
		base += n / m
		rest := n % m
		if rest == 0 {
			continue
		}
		a := r.start % m
		if a+rest <= m {
			events = append(events, event{a, 1}, event{a + rest, -1})
		} else {
			events = append(events, event{a, 1}, event{m, -1}, event{0, 1}, event{a + rest - m, -1})
		}
	}
	slices.SortFunc(events, func(x, y event) int { return cmp.Compare(x.at, y.at) })

	lo, hi = math.MaxUint64, 0
	var cover int64
	var pos uint64 // start of the segment whose coverage is cover
	for i := 0; i <= len(events); i++ {
		next := m
		if i < len(events) {
			next = events[i].at
		}
		if next > pos {
			lo, hi = min(lo, uint64(cover)), max(hi, uint64(cover))
			pos = next
		}
		if i < len(events) {
			cover += events[i].delta
		}
	}
	return base + lo, base + hi
}

// formatNumber returns "+" and n zero-padded to digits digits.
func formatNumber(n uint64, digits int) string {
	var b [1 + maxDigits]byte
	b[0] = '+'
	for i := digits; i >= 1; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[:1+digits])
}

// pow10 returns 10^n for 0 <= n <= 19.
func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

func (r poolRange) String() string {
	return rangeString(conf.NumberRange{Start: r.start, End: r.end, Digits: r.digits})
}

// rangeString formats r as it is written in config.
func rangeString(r conf.NumberRange) string {
	if r.Start == r.End {
		return fmt.Sprintf("+%0*d", r.Digits, r.Start)
	}
	return fmt.Sprintf("+%0*d-+%0*d", r.Digits, r.Start, r.Digits, r.End)
}
