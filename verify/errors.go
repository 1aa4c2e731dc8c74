package verify

import (
	"errors"
	"fmt"
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
)

// InputError is a request that cannot be served as given. Field names the
// JSON field at fault; Code is a stable machine-readable word.
type InputError struct {
	Field   string
	Code    string
	Message string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}
