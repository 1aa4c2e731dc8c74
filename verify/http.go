package verify

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ringproof/ringproof/store"
)

// Handler serves the verification API under /v1/verifications. Every
// request must carry "Authorization: Bearer <key>" with one of keys.
type Handler struct {
	svc     *Service
	keys    [][]byte
	maxBody int64
	log     *slog.Logger
	mux     *http.ServeMux
	pub     *publishable // keys for web pages (publishable.go); nil: none
	streams streamCount  // open event streams (sse.go)
}

// NewHandler returns the HTTP API for svc. maxBody caps request bodies.
func NewHandler(svc *Service, keys []string, maxBody int64, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{svc: svc, maxBody: maxBody, log: log, mux: http.NewServeMux()}
	for _, k := range keys {
		h.keys = append(h.keys, []byte(k))
	}
	h.mux.HandleFunc("POST /v1/verifications", h.create)
	h.mux.HandleFunc("GET /v1/verifications/{id}", h.get)
	h.mux.HandleFunc("POST /v1/verifications/{id}/check", h.check)
	h.mux.HandleFunc("POST /v1/verifications/{id}/hangup", h.hangup)
	h.mux.HandleFunc("GET /v1/verifications/{id}/events", h.events)
	h.mux.HandleFunc("/v1/verifications", h.methodNotAllowed)
	h.mux.HandleFunc("/v1/verifications/", h.notFound)
	return h
}

// ServeHTTP authenticates the request and routes it. The event stream
// authenticates itself, since it also takes a watch token.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/events") {
		h.mux.ServeHTTP(w, r)
		return
	}
	if k := h.publishableKey(r); k != nil {
		h.servePublishable(w, r, k)
		return
	}
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ringproof"`)
		WriteError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong API key", "")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// RequireKey wraps h so that it serves only requests bearing one of keys,
// answering others 401 in the API's error shape.
func RequireKey(keys []string, h http.Handler) http.Handler {
	auth := &Handler{}
	for _, k := range keys {
		auth.keys = append(auth.keys, []byte(k))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !auth.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ringproof"`)
			WriteError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong API key", "")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authorized compares the bearer token with every key in constant time.
func (h *Handler) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return false
	}
	match := 0
	for _, k := range h.keys {
		match |= subtle.ConstantTimeCompare(k, []byte(token))
	}
	return match == 1
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	var req CreateRequest
	if !h.decode(w, r, &req) {
		return
	}
	v, err := h.svc.Create(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/verifications/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	v, err := h.svc.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// checkRequest is the body of POST .../check. Pin and UseServerHangup are
// accepted for clients written against CheckMobi's API.
type checkRequest struct {
	Code            string `json:"code"`
	Pin             string `json:"pin"`
	UseServerHangup bool   `json:"use_server_hangup"`
}

func (h *Handler) check(w http.ResponseWriter, r *http.Request) {
	var req checkRequest
	if !h.decode(w, r, &req) {
		return
	}
	code := req.Code
	if code == "" {
		code = req.Pin
	}
	if code == "" {
		WriteError(w, http.StatusBadRequest, "missing", "code is required", "code")
		return
	}
	res, err := h.svc.Check(r.Context(), r.PathValue("id"), code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *Handler) hangup(w http.ResponseWriter, r *http.Request) {
	if !h.drainEmpty(w, r) {
		return
	}
	v, err := h.svc.Hangup(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here", "")
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, http.StatusNotFound, "not_found", "no such resource", "")
}

// decode reads a JSON object body into v, strictly: one object, known
// fields only, within the size cap. The Content-Type is not checked, so
// that a plain curl -d works. On failure it writes a 4xx and returns
// false.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return DecodeBody(w, r, h.maxBody, v)
}

// DecodeBody reads a JSON object body of at most maxBody bytes into v, as
// the verification API does (strictly: one object, known fields only).
// On failure it writes a 4xx naming the field when it can, and returns
// false.
func DecodeBody(w http.ResponseWriter, r *http.Request, maxBody int64, v any) bool {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeDecodeError(w, err)
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeDecodeError(w, err)
			return false
		}
		WriteError(w, http.StatusBadRequest, "invalid_json", "body must hold a single JSON object", "")
		return false
	}
	return true
}

// drainEmpty accepts an empty body or an empty JSON object.
func (h *Handler) drainEmpty(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		writeDecodeError(w, err)
		return false
	}
	if s := strings.TrimSpace(string(body)); s != "" && s != "{}" {
		WriteError(w, http.StatusBadRequest, "invalid_json", "body must be empty or {}", "")
		return false
	}
	return true
}

// writeDecodeError explains a JSON decoding failure, naming the field when
// the decoder knows it.
func writeDecodeError(w http.ResponseWriter, err error) {
	var (
		tooBig    *http.MaxBytesError
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		unknownFx = "json: unknown field "
	)
	switch {
	case errors.As(err, &tooBig):
		WriteError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("body exceeds %d bytes", tooBig.Limit), "")
	case errors.As(err, &syntax):
		WriteError(w, http.StatusBadRequest, "invalid_json", fmt.Sprintf("malformed JSON at byte %d", syntax.Offset), "")
	case errors.As(err, &typeErr):
		WriteError(w, http.StatusBadRequest, "invalid_type", fmt.Sprintf("%s must be a %s", typeErr.Field, typeErr.Type), typeErr.Field)
	case strings.HasPrefix(err.Error(), unknownFx):
		field := strings.Trim(strings.TrimPrefix(err.Error(), unknownFx), `"`)
		WriteError(w, http.StatusBadRequest, "unknown_field", fmt.Sprintf("unknown field %q", field), field)
	case errors.Is(err, io.EOF):
		WriteError(w, http.StatusBadRequest, "invalid_json", "body is empty; a JSON object is required", "")
	case errors.Is(err, io.ErrUnexpectedEOF):
		WriteError(w, http.StatusBadRequest, "invalid_json", "body ends in the middle of a JSON value", "")
	default:
		WriteError(w, http.StatusBadRequest, "invalid_json", "body is not a JSON object", "")
	}
}

// fail maps a service error onto an HTTP answer.
// refusedField is the field a refusal is about: the number, for its own
// rate limit.
func refusedField(err error) string {
	var n *NumberLimitError
	if errors.As(err, &n) {
		return "number"
	}
	return ""
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var in *InputError
	switch {
	case WriteRefusal(w, err, refusedField(err)):
	case errors.As(err, &in):
		WriteError(w, http.StatusBadRequest, in.Code, in.Message, in.Field)
	case errors.Is(err, ErrNotFound):
		WriteError(w, http.StatusNotFound, "not_found", "no verification with that id", "id")
	case errors.Is(err, ErrRateLimited):
		w.Header().Set("Retry-After", "3600")
		WriteError(w, http.StatusTooManyRequests, "rate_limited", "too many verifications for this number; try later", "number")
	case errors.Is(err, ErrErasing):
		w.Header().Set("Retry-After", "5")
		WriteError(w, http.StatusServiceUnavailable, "erasure_in_progress", "this number's data is being erased; try again in a few seconds", "number")
	case errors.Is(err, ErrNoCallerID):
		w.Header().Set("Retry-After", "60")
		WriteError(w, http.StatusServiceUnavailable, "no_caller_id", "no caller ID is free for this number; try later", "")
	case errors.Is(err, store.ErrFull):
		WriteError(w, http.StatusInsufficientStorage, "store_full", "state store full; an operator must free space", "")
		h.log.Error("request failed: the state store is full (etcd NOSPACE): compact and defragment etcd, raise store.quota_bytes or lower verification.grace_s", "path", r.URL.Path, "err", err)
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "2")
		WriteError(w, http.StatusServiceUnavailable, "unavailable", "state store unavailable; retry", "")
		h.log.Warn("request failed: store unavailable", "path", r.URL.Path, "err", err)
	case errors.Is(err, context.Canceled):
		// The client went away.
	default:
		h.log.Error("request failed", "path", r.URL.Path, "err", err)
		WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}

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
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg, Field: field}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
