package verify

import (
	"context"
	"strings"

	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/number"
)

// Test numbers (test_numbers) are numbers developers verify in their own
// CI. A create for one, whatever its method, places no call and sends no
// text; the configured code verifies it; it counts against no rate limit
// (the number's, the fraud guard's, the pumping guard) and no destination
// rule. Its record says so (record.Test), and so does the API (test:
// true). It never falls back: no call or text fails.

// testNumber is the method a test number's verification follows in place
// of its own: what its own method is (its traits), without its work.
type testNumber struct{ method }

func (testNumber) prepare(context.Context, *Service, *record) error { return nil }

// start does nothing: nothing is dialled or texted.
func (testNumber) start(*Service, *record) error { return nil }

// code is the configured code, which newRecord put in the record.
func (testNumber) code(r *record) string { return r.Code }

// unlimited stands in for the per-number limiter for test numbers.
var unlimited = limit.New(nil, "", limit.Rate{})

// parseNumber reads a create request's number into E.164 and returns, if it
// is a test number, its code. A test number given in E.164 is taken as
// written, whether or not libphonenumber knows it: nothing is dialled.
func (s *Service) parseNumber(service, raw, region string) (e164, testCode string, err error) {
	if code, ok := s.testCode(service, strings.TrimSpace(raw)); ok {
		return strings.TrimSpace(raw), code, nil
	}
	n, err := number.Parse(raw, region)
	if err != nil {
		return "", "", err
	}
	code, _ := s.testCode(service, n)
	return n, code, nil
}
