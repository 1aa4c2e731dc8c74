package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/store"
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

// peek returns record id as this node last wrote it, or else as the store
// holds it, and whether it is a test number's, without opening its
// personal data: an update can start from it.
func (s *Service) peek(ctx context.Context, id string) (stored []byte, rev int64, test bool, err error) {
	stored, rev = s.lastWrites.get(id)
	if rev == 0 {
		stored, rev, err = s.store.Get(ctx, recordKey(id))
		if errors.Is(err, store.ErrNotFound) {
			return nil, 0, false, ErrNotFound
		}
		if err != nil {
			return nil, 0, false, fmt.Errorf("verify: load %s: %w", id, err)
		}
	}
	var r struct {
		Test bool `json:"test"`
	}
	if err := json.Unmarshal(stored, &r); err != nil {
		return nil, 0, false, fmt.Errorf("verify: decode %s: %w", id, err)
	}
	return stored, rev, r.Test, nil
}
