package checkmobi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/verify"
)

// CheckMobi's error codes, which its clients switch on.
const (
	codeInvalidKey       = 1  // invalid or expired API secret key
	codeInvalidNumber    = 2  // invalid phone number
	codeInvalidID        = 3  // invalid request id
	codeInvalidType      = 4  // invalid validation type
	codeInvalidPayload   = 7  // invalid request payload
	codeNotAvailable     = 8  // validation method not available
	codeInvalidCallback  = 9  // invalid notification URL
	codeLimitExceeded    = 12 // the account exceeded one of its limits
	codeDestinationBlock = 13 // destination blocked by the application's restrictions
	codeNumberBlocked    = 14 // number blocked for a while: too many attempts
)

// Conditions CheckMobi has no code for take the HTTP status as their
// code, beyond CheckMobi's range.
const (
	codeNotFound         = http.StatusNotFound
	codeMethodNotAllowed = http.StatusMethodNotAllowed
	codeInternal         = http.StatusInternalServerError
	codeUnavailable      = http.StatusServiceUnavailable
	codeStoreFull        = http.StatusInsufficientStorage
)

// ErrorBody is CheckMobi's error shape. Field, ringproof's, names the
// request field at fault when there is one.
type ErrorBody struct {
	Code  int    `json:"code"`
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, status, code int, msg, field string) {
	api.WriteJSON(w, status, ErrorBody{Code: code, Error: msg, Field: field})
}

// retryAfter sets Retry-After to wait, in whole seconds rounded up.
func retryAfter(w http.ResponseWriter, wait time.Duration) {
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	}
}

// fields renames the fields of ringproof's requests to CheckMobi's.
var fields = map[string]string{"method": "type", "code": "pin", "locale": "language"}

// writeBodyError answers a request body that could not be read.
func writeBodyError(w http.ResponseWriter, e *api.BodyError) {
	writeError(w, e.Status, codeInvalidPayload, e.Message, e.Field)
}

// fail answers err, an error of the Verifier, in CheckMobi's terms.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		in      *api.InputError
		refused api.Refused
		method  *verify.MethodError
	)
	switch {
	case errors.As(err, &method):
		// The key's service may not use the type's method.
		writeError(w, http.StatusForbidden, codeNotAvailable, method.Message, "type")
	case errors.As(err, &in):
		field := in.Field
		if f, ok := fields[field]; ok {
			field = f
		}
		code := codeInvalidPayload
		switch {
		case field == "number":
			code = codeInvalidNumber
		case field == "type" && in.Code == "unsupported":
			code = codeNotAvailable
		case field == "type":
			code = codeInvalidType
		}
		writeError(w, http.StatusBadRequest, code, fmt.Sprintf("%s: %s", field, in.Message), field)
	case errors.As(err, &refused):
		status, kind, reason, wait := refused.Refusal()
		code := codeLimitExceeded
		switch {
		case kind == "rate_limited" && reason == "per_number":
			code = codeNumberBlocked
		case kind == "destination_blocked", kind == "prefix_suspended":
			code = codeDestinationBlock
		}
		field := ""
		if code != codeLimitExceeded {
			field = "number"
		}
		retryAfter(w, wait)
		writeError(w, status, code, refused.Error(), field)
	case errors.Is(err, verify.ErrNotFound):
		writeError(w, http.StatusNotFound, codeInvalidID, "Invalid request id: no validation has that id", "id")
	case errors.Is(err, verify.ErrRateLimited):
		retryAfter(w, time.Hour)
		writeError(w, http.StatusTooManyRequests, codeNumberBlocked, "too many validations of this number; try later", "number")
	case errors.Is(err, verify.ErrErasing):
		retryAfter(w, 5*time.Second)
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "this number's data is being erased; try again in a few seconds", "number")
	case errors.Is(err, verify.ErrNoCallerID):
		retryAfter(w, time.Minute)
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "no caller ID is free for this number; try later", "")
	case errors.Is(err, store.ErrFull):
		writeError(w, http.StatusInsufficientStorage, codeStoreFull, "state store full; an operator must free space", "")
		h.log.Error("request failed: "+store.FullAdvice, "path", r.URL.Path, "err", err)
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		retryAfter(w, 2*time.Second)
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "state store unavailable; retry", "")
		h.log.Warn("request failed: store unavailable", "path", r.URL.Path, "err", err)
	case errors.Is(err, context.Canceled):
		// The client went away.
	default:
		h.log.Error("request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "internal error", "")
	}
}
