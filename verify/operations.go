package verify

import (
	"cmp"
	"context"
	"fmt"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/privacy"
)

// The operations of the API: create, get, check, hang up and cancel a
// verification.

// Create validates req, leases what the method needs, stores the
// verification and starts its call. The call goes on after Create returns.
//
// The record, its history entry, its number's data key, the rate-limit
// count and what the method leases (a caller ID, a dial number) are
// written in one store transaction.
func (s *Service) Create(ctx context.Context, req CreateRequest) (*Verification, error) {
	service := serviceOf(ctx)
	if err := s.allowMethods(service, req); err != nil {
		return nil, err
	}
	rec, err := s.newRecord(req, service)
	if err != nil {
		return nil, err
	}
	return s.create(ctx, rec)
}

// create stores the new record rec and starts its method.
func (s *Service) create(ctx context.Context, rec *record) (*Verification, error) {
	m := methods[rec.Method]
	guard := s.cfg.Guard
	if rec.Test {
		m, guard = testNumber{m}, noGuard{}
	}
	if err := m.prepare(ctx, s, rec); err != nil {
		return nil, err
	}
	done, err := guard.Admit(ctx, rec.Number)
	if err != nil {
		return nil, err
	}
	err = s.save(ctx, rec, m)
	done(err == nil)
	if err != nil {
		return nil, err
	}
	s.stats.add(&s.stats.s.Created, string(rec.Method))
	s.stats.add(&s.stats.s.ServiceCreated, cmp.Or(rec.Service, api.DefaultService)+" "+string(rec.Method))
	s.log.Info("verification created", "id", rec.ID, "method", rec.Method, "number", privacy.Mask(rec.Number))
	if err := m.start(s, rec); err != nil {
		return nil, err
	}
	v := rec.view(s.now())
	if m.traits().showsCode {
		// The web page shows this code; it is never returned again.
		v.Code = rec.Code
	}
	// Only the creator learns the watch token: the store keeps its hash.
	v.WatchToken = rec.WatchToken
	return v, nil
}

// Get returns the verification id as of now.
func (s *Service) Get(ctx context.Context, id string) (*Verification, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	v := r.view(s.now())
	v.ResultToken = s.resultToken(v)
	return v, nil
}

// CheckResult is the answer to a check.
type CheckResult struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Valid is true when the code given is the verification's and the
	// verification is verified (by this check or an earlier one); false
	// for a wrong code, HANGUP, or any verification not verified.
	Valid        bool `json:"valid"`
	AttemptsLeft int  `json:"attempts_left"`
	// ResultToken is set when the verification is verified
	// (resulttoken.go).
	ResultToken string `json:"result_token,omitempty"`
}

// HangupCode is the code an application sends, in CheckMobi's manner, when
// no call came: the call is hung up instead of a code being checked.
const HangupCode = "HANGUP"

// Check compares code with the verification's code. A right code verifies
// it (and hangs up a call still ringing); a wrong one uses an attempt, and
// the last attempt fails it. Final verifications are not changed. Code
// HANGUP hangs up the call instead and uses no attempt.
func (s *Service) Check(ctx context.Context, id, code string) (*CheckResult, error) {
	if code == HangupCode {
		if err := s.cfg.Guard.Check(ctx); err != nil {
			return nil, err
		}
		v, err := s.Hangup(ctx, id)
		if err != nil {
			return nil, err
		}
		return &CheckResult{ID: v.ID, Status: v.Status, AttemptsLeft: v.AttemptsLeft}, nil
	}
	// The record is looked at before the guard is asked, so that checks
	// of test numbers count against no limit; the update starts from it.
	stored, rev, test, err := s.peek(ctx, id)
	if err != nil {
		return nil, err
	}
	if !test {
		if err := s.cfg.Guard.Check(ctx); err != nil {
			return nil, err
		}
	}
	var (
		result outcome
		valid  bool
	)
	r, err := s.updateFrom(ctx, id, stored, rev, func(r *record) error {
		if r.CodeHash == "" {
			return &api.InputError{Field: "code", Code: "not_applicable",
				Message: fmt.Sprintf("a %s verification has no code: the call itself verifies it", r.Method)}
		}
		if !validCode(code, r.CodeLength) {
			return &api.InputError{Field: "code", Code: "invalid", Message: fmt.Sprintf("code must be %d digits", r.CodeLength)}
		}
		given := s.codeHash(id, code)
		result = r.applyCheck(given, s.now())
		valid = r.checkValid(given, result)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.stats.add(&s.stats.s.Checks, outcomeName(result))
	s.stats.add(&s.stats.s.ServiceChecks, cmp.Or(r.Service, api.DefaultService)+" "+outcomeName(result))
	switch result {
	case outcomeMatch:
		s.hangupAnywhere(ctx, r)
		s.log.Info("verification verified", "id", id)
	case outcomeLockout:
		s.hangupAnywhere(ctx, r)
		s.log.Info("verification failed: attempts exhausted", "id", id)
	}
	v := r.view(s.now())
	return &CheckResult{ID: v.ID, Status: v.Status, Valid: valid, AttemptsLeft: v.AttemptsLeft, ResultToken: s.resultToken(v)}, nil
}

// Hangup records that the application asked to hang up (no call or text
// came: applyHangup) and ends the verification's call if it is still in
// progress. The status stays checkable; with fallbacks, the chain moves on
// once the call or text is over. It does not change a final verification
// and is harmless when there is no call.
func (s *Service) Hangup(ctx context.Context, id string) (*Verification, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	r, err := s.update(ctx, id, func(r *record) error {
		r.applyHangup(s.now())
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.hangupAnywhere(ctx, r)
	return r.view(s.now()), nil
}

// Cancel makes the verification final canceled (applyCancel) and hangs up
// its call if it is still in progress: no code verifies it afterwards, and
// no fallback follows. Canceling a canceled verification returns it as it
// is; one verified, failed or expired is refused with a *FinalError.
func (s *Service) Cancel(ctx context.Context, id string) (*Verification, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	cur, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.statusAt(s.now()) == StatusCanceled {
		return cur.view(s.now()), nil // nothing to write
	}
	r, err := s.updateFrom(ctx, id, cur.stored, cur.rev, func(r *record) error { return r.applyCancel(s.now()) })
	if err != nil {
		return nil, err
	}
	s.hangupAnywhere(ctx, r)
	s.log.Info("verification canceled", "id", id)
	return r.view(s.now()), nil
}
