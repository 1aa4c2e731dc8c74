package fraud

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ringproof/ringproof/limit"
)

// Sentinels a *Refusal matches with errors.Is, by its Code.
var (
	// ErrDestinationBlocked: the number is in a country or of a type that
	// fraud.allowed_countries or fraud.blocked_number_types rule out.
	ErrDestinationBlocked = errors.New("fraud: destination blocked")
	// ErrRateLimited: a limit of limits.* is spent for now.
	ErrRateLimited = errors.New("fraud: rate limited")
	// ErrPrefixSuspended: the pumping guard suspended the number's prefix.
	ErrPrefixSuspended = errors.New("fraud: prefix suspended")
)

// Codes of the API's error.code for refusals, and their reasons
// (error.reason; for rate_limited also error.limit).
const (
	CodeDestinationBlocked = "destination_blocked"
	CodeRateLimited        = "rate_limited"
	CodePrefixSuspended    = "prefix_suspended"

	ReasonCountry     = "country"
	ReasonNumberType  = "number_type"
	ReasonPerKey      = "per_key"
	ReasonPerIP       = "per_ip"
	ReasonGlobal      = "global"
	ReasonChecksPerIP = "checks_per_ip"
	ReasonSuspended   = "prefix_suspended"
)

// Refusal is a request refused to protect the server's owner. The HTTP API
// answers it with Status, its Code as error.code and Reason as
// error.reason, and a Retry-After header when RetryAfter is set. It holds
// no number: Country is the destination's region (for metrics), Prefix a
// suspended prefix.
type Refusal struct {
	Status     int
	Code       string
	Reason     string
	Country    string
	Prefix     string
	RetryAfter time.Duration
	Message    string
}

func (r *Refusal) Error() string { return "fraud: " + r.Message }

// Is matches the sentinel of r's Code.
func (r *Refusal) Is(target error) bool {
	switch r.Code {
	case CodeDestinationBlocked:
		return target == ErrDestinationBlocked
	case CodeRateLimited:
		return target == ErrRateLimited
	case CodePrefixSuspended:
		return target == ErrPrefixSuspended
	}
	return false
}

// Refusal returns what the HTTP API answers r with: status, error.code,
// error.reason, and the wait before asking again (0: none). verify and
// masking find it through an interface of their own.
func (r *Refusal) Refusal() (status int, code, reason string, retryAfter time.Duration) {
	return r.Status, r.Code, r.Reason, r.RetryAfter
}

// blocked is the refusal of a destination.
func blocked(reason, country, what string) *Refusal {
	return &Refusal{Status: http.StatusForbidden, Code: CodeDestinationBlocked, Reason: reason, Country: country,
		Message: what + " is not served here (fraud." + map[string]string{ReasonCountry: "allowed_countries", ReasonNumberType: "blocked_number_types"}[reason] + ")"}
}

// limited is the refusal of a spent limit.
func limited(reason string, r limit.Rate, wait time.Duration) *Refusal {
	return &Refusal{Status: http.StatusTooManyRequests, Code: CodeRateLimited, Reason: reason, RetryAfter: wait,
		Message: fmt.Sprintf("%s limit of %s reached; retry in %d s", reason, r, limit.RetryAfterSeconds(wait))}
}

// suspended is the refusal of a suspended prefix.
func suspended(prefix string, wait time.Duration) *Refusal {
	return &Refusal{Status: http.StatusTooManyRequests, Code: CodePrefixSuspended, Reason: ReasonSuspended, Prefix: prefix, RetryAfter: wait,
		Message: fmt.Sprintf("numbers starting +%s are suspended: too many of their verifications were never verified", prefix)}
}
