package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ErrorBody is the JSON shape of every error the API returns.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong: a stable code, a message for people,
// and the request field at fault when there is one.
type ErrorDetail struct {
	Code string `json:"code"`
	// Reason says why a request was refused to protect the owner
	// (country, number_type, per_key, prefix_suspended...); Limit names
	// the limit of a rate_limited refusal.
	Reason  string `json:"reason,omitempty"`
	Limit   string `json:"limit,omitempty"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// WriteError writes an error response in the API's shape.
func WriteError(w http.ResponseWriter, status int, code, msg, field string) {
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg, Field: field}})
}

// InputError is a request that cannot be served as given. Field names the
// JSON field (or query parameter) at fault; Code is a stable
// machine-readable word (missing, invalid, unsupported, too_long...).
type InputError struct {
	Field   string
	Code    string
	Message string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// WriteInputError answers err with 400 naming its field if it is an
// *InputError, and reports whether it did.
func WriteInputError(w http.ResponseWriter, err error) bool {
	var in *InputError
	if !errors.As(err, &in) {
		return false
	}
	WriteError(w, http.StatusBadRequest, in.Code, in.Message, in.Field)
	return true
}

// Refused is an error a request is refused with to protect the server's
// owner (fraud.Refusal, verify.NumberLimitError).
type Refused interface {
	error
	// Refusal says how the HTTP API answers it: the status, error.code,
	// error.reason, and the time to wait before asking again (0: none).
	Refusal() (status int, code, reason string, retryAfter time.Duration)
}

// WriteRefusal answers err if it is Refused
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
	WriteJSON(w, status, ErrorBody{Error: d})
	return true
}
