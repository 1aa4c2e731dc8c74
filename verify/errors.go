package verify

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Errors the service returns; test with errors.Is.
var (
	// ErrNotFound: no verification has that id (or it has been removed
	// after its expiry).
	ErrNotFound = errors.New("verify: verification not found")
	// ErrRateLimited: too many verifications of this number lately.
	ErrRateLimited = errors.New("verify: too many verifications for this number")
	// ErrNoCallerID: every caller ID is leased to this number already.
	ErrNoCallerID = errors.New("verify: no caller ID free for this number")
	// ErrErasing: the number's data is being erased right now; a new
	// verification may start in a few seconds.
	ErrErasing = errors.New("verify: the number is being erased; try again in a few seconds")
	// ErrFinal: the verification is final already, and the request would
	// change it (FinalError says how it ended).
	ErrFinal = errors.New("verify: the verification is final already")
)

// FinalError is a cancel refused because the verification had ended
// otherwise (verified, failed or expired). It matches ErrFinal; the API
// answers it 409 already_final with the status as error.reason.
type FinalError struct {
	Status Status
}

func (e *FinalError) Error() string {
	return fmt.Sprintf("the verification is %s already; a final status never changes", e.Status)
}

// Is matches ErrFinal.
func (e *FinalError) Is(target error) bool { return target == ErrFinal }

// Refusal says how the API answers e (api.Refused).
func (e *FinalError) Refusal() (status int, code, reason string, retryAfter time.Duration) {
	return http.StatusConflict, "already_final", string(e.Status), 0
}

// NumberLimitError is a create refused because its number had
// MaxPerNumberPerHour verifications within the last hour (a sliding
// window: the generic cell rate algorithm, package limit). It matches
// ErrRateLimited, and the API answers it 429 with error.limit
// "per_number" and the true Retry-After.
type NumberLimitError struct {
	// RetryAfter is how long until a create of the number would be
	// accepted, if nothing else took its budget meanwhile.
	RetryAfter time.Duration
}

func (e *NumberLimitError) Error() string {
	return "too many verifications for this number; try again later"
}

// Is matches ErrRateLimited.
func (e *NumberLimitError) Is(target error) bool { return target == ErrRateLimited }

// Refusal says how the API answers e (api.Refused).
func (e *NumberLimitError) Refusal() (status int, code, reason string, retryAfter time.Duration) {
	return http.StatusTooManyRequests, "rate_limited", "per_number", e.RetryAfter
}
