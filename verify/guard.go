package verify

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Guard protects the server's owner from fraud and abuse before anything
// is dialled, texted or stored (fraud.Guard). Config.Guard nil means no
// guard.
type Guard interface {
	// Admit decides whether a verification of number (E.164) may be
	// created now, for the client ctx carries (none for a fallback link).
	// Refused, it returns an error: one that is Refused, or a store error.
	// Admitted, done must be called once with whether the verification
	// was stored.
	Admit(ctx context.Context, number string) (done func(created bool), err error)
	// Check decides whether the client ctx carries may check a code now.
	Check(ctx context.Context) error
	// Verified is told that a verification of number, created at created,
	// was verified.
	Verified(number string, created time.Time)
}

// Refused is an error a Guard refuses a request with (fraud.Refusal).
type Refused interface {
	error
	// Refusal says how the HTTP API answers it: the status, error.code,
	// error.reason, and the time to wait before asking again (0: none).
	Refusal() (status int, code, reason string, retryAfter time.Duration)
}

// WriteRefusal answers err if it is Refused, as the verification API does
// ({"error":{"code","reason","limit" (rate limits),"message","field"}} and
// a Retry-After in whole seconds, rounded up), and reports whether it did.
// field names the request field at fault, if any.
func WriteRefusal(w http.ResponseWriter, err error, field string) bool {
	var r Refused
	if !errors.As(err, &r) {
		return false
	}
	status, code, reason, wait := r.Refusal()
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	}
	d := ErrorDetail{Code: code, Reason: reason, Message: r.Error(), Field: field}
	if code == "rate_limited" {
		d.Limit = reason
	}
	writeJSON(w, status, ErrorBody{Error: d})
	return true
}

// noGuard admits everything.
type noGuard struct{}

func (noGuard) Admit(context.Context, string) (func(bool), error) { return func(bool) {}, nil }
func (noGuard) Check(context.Context) error                       { return nil }
func (noGuard) Verified(string, time.Time)                        {}
