package verify

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/store"
)

// dialNumbers hands out the system numbers users call, in turn, so that
// concurrent verifications spread across them.
type dialNumbers struct {
	ranges []conf.NumberRange
	size   uint64
	next   atomic.Uint64
}

func newDialNumbers(ranges []conf.NumberRange) *dialNumbers {
	d := &dialNumbers{ranges: ranges}
	for _, r := range ranges {
		d.size += r.Size()
	}
	return d
}

// Len is how many numbers there are.
func (d *dialNumbers) Len() uint64 { return d.size }

// at returns the i-th number, i < Len.
func (d *dialNumbers) at(i uint64) string {
	for _, r := range d.ranges {
		if i < r.Size() {
			return r.Format(r.Start + i)
		}
		i -= r.Size()
	}
	return ""
}

// take returns the next number in turn, and the position it was taken at
// so that callers can try the ones after it.
func (d *dialNumbers) take() uint64 {
	return (d.next.Add(1) - 1) % d.size
}

// match returns the system number that dialled (the Request-URI user, as
// a carrier sends it: E.164, international digits, or national in region)
// stands for, or "" if it is none of them. System numbers need not be
// assigned in the numbering plan (test and drama ranges are fine), so only
// the syntax is read here, not validity.
func (d *dialNumbers) match(dialled, region string) string {
	if d == nil || d.size == 0 {
		return ""
	}
	dialled = strings.TrimPrefix(strings.TrimSpace(dialled), "tel:")
	candidates := []string{dialled, "+" + dialled}
	if region != "" && !strings.HasPrefix(dialled, "+") {
		if n, err := phonenumbers.Parse(dialled, region); err == nil {
			candidates = append(candidates, phonenumbers.Format(n, phonenumbers.E164))
		}
	}
	for _, c := range candidates {
		if d.contains(c) {
			return c
		}
	}
	return ""
}

// contains reports whether e164 is one of the numbers.
func (d *dialNumbers) contains(e164 string) bool {
	for _, r := range d.ranges {
		if len(e164) != r.Digits+1 || e164[0] != '+' {
			continue
		}
		var n uint64
		for i := 1; i < len(e164); i++ {
			c := e164[i]
			if c < '0' || c > '9' {
				return false
			}
			n = n*10 + uint64(c-'0')
		}
		if r.Contains(n) {
			return true
		}
	}
	return false
}

// dialTries bounds how many dial numbers a record tries before it takes
// over one.
const dialTries = 8

// needDialNumbers fails unless inbound numbers are configured.
func (s *Service) needDialNumbers(r *record) error {
	if s.dial == nil || s.dial.Len() == 0 {
		return &api.InputError{Field: "method", Code: "unsupported", Message: string(r.Method) + " needs inbound.numbers in the configuration"}
	}
	return nil
}

// dialNumbered is embedded by the inbound methods: their records lease a
// dial number.
type dialNumbered struct{}

// leases offers the dial numbers in turn, from the next one, so
// that an INVITE finds the record with one read of its (dial number,
// number) index key. A dial number is free when no other pending
// verification of the same number waits on it; when the first dialTries
// are all taken, the newest verification takes over the first.
func (dialNumbered) leases(s *Service, r *record) func() (lease, error) {
	n := s.dial.Len()
	first, tries, i := s.dial.take(), min(dialTries, n), uint64(0)
	return func() (lease, error) {
		force := false
		var number string
		switch {
		case i < tries:
			number = s.dial.at((first + i) % n)
		case i == tries:
			number, force = s.dial.at(first), true
		default:
			return lease{}, fmt.Errorf("verify: dial number: %w", store.ErrConflict)
		}
		i++
		r.DialNumber = number
		return lease{key: inboundKey(number, r.NumberKey), val: []byte(r.ID), ttl: s.cfg.Expiry, force: force}, nil
	}
}
