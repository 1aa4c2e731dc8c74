package verify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/store"
)

// Handler serves the verification API under /v1/verifications. Every
// request must carry "Authorization: Bearer <key>" with one of keys.
type Handler struct {
	svc     *Service
	keys    api.Keys
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
	h := &Handler{svc: svc, keys: api.NewKeys(keys), maxBody: maxBody, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /v1/verifications", h.create)
	h.mux.HandleFunc("GET /v1/verifications", h.list)
	h.mux.HandleFunc("GET /v1/verifications/{id}", h.get)
	h.mux.HandleFunc("POST /v1/verifications/{id}/check", h.check)
	h.mux.HandleFunc("POST /v1/verifications/{id}/hangup", h.hangup)
	h.mux.HandleFunc("POST /v1/verifications/{id}/cancel", h.cancel)
	h.mux.HandleFunc("GET /v1/verifications/{id}/events", h.events)
	h.mux.HandleFunc("/v1/verifications", h.methodNotAllowed)
	h.mux.HandleFunc("/v1/verifications/", h.notFound)
	// The server mounts the handler on all of /v1/: what no route takes
	// gets a JSON 404, not the mux's text.
	h.mux.HandleFunc("/", h.notFound)
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
		api.WriteUnauthorized(w, "ringproof", "missing or wrong API key")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// authorized reports whether r bears one of the API keys.
func (h *Handler) authorized(r *http.Request) bool { return h.keys.Match(r) >= 0 }

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
	api.WriteJSON(w, http.StatusCreated, v)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	v, err := h.svc.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
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
		api.WriteError(w, http.StatusBadRequest, "missing", "code is required", "code")
		return
	}
	res, err := h.svc.Check(r.Context(), r.PathValue("id"), code)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, res)
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
	api.WriteJSON(w, http.StatusOK, v)
}

func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) {
	if !h.drainEmpty(w, r) {
		return
	}
	v, err := h.svc.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}

func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	api.WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here", "")
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	api.WriteError(w, http.StatusNotFound, "not_found", "no such resource", "")
}

// decode reads a JSON object body into v (api.DecodeBody); on failure it
// writes a 4xx and returns false.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return api.DecodeBody(w, r, h.maxBody, v)
}

// drainEmpty accepts an empty body or an empty JSON object.
func (h *Handler) drainEmpty(w http.ResponseWriter, r *http.Request) bool {
	return api.DecodeEmpty(w, r, h.maxBody)
}

// refusedField is the field a refusal is about: the number, for its own
// rate limit.
func refusedField(err error) string {
	var n *NumberLimitError
	if errors.As(err, &n) {
		return "number"
	}
	return ""
}

// fail maps a service error onto an HTTP answer.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var methodErr *MethodError
	switch {
	case api.WriteRefusal(w, err, refusedField(err)):
	case api.WriteInputError(w, err):
	case errors.As(err, &methodErr):
		api.WriteError(w, http.StatusForbidden, "method_not_allowed", methodErr.Message, methodErr.Field)
	case errors.Is(err, ErrNotFound):
		api.WriteError(w, http.StatusNotFound, "not_found", "no verification with that id", "id")
	case errors.Is(err, ErrRateLimited):
		w.Header().Set("Retry-After", "3600")
		api.WriteError(w, http.StatusTooManyRequests, "rate_limited", "too many verifications for this number; try later", "number")
	case errors.Is(err, ErrErasing):
		w.Header().Set("Retry-After", "5")
		api.WriteError(w, http.StatusServiceUnavailable, "erasure_in_progress", "this number's data is being erased; try again in a few seconds", "number")
	case errors.Is(err, ErrNoCallerID):
		w.Header().Set("Retry-After", "60")
		api.WriteError(w, http.StatusServiceUnavailable, "no_caller_id", "no caller ID is free for this number; try later", "")
	case errors.Is(err, store.ErrFull):
		api.WriteError(w, http.StatusInsufficientStorage, "store_full", "state store full; an operator must free space", "")
		h.log.Error("request failed: "+store.FullAdvice, "path", r.URL.Path, "err", err)
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "2")
		api.WriteError(w, http.StatusServiceUnavailable, "unavailable", "state store unavailable; retry", "")
		h.log.Warn("request failed: store unavailable", "path", r.URL.Path, "err", err)
	case errors.Is(err, context.Canceled):
		// The client went away.
	default:
		h.log.Error("request failed", "path", r.URL.Path, "err", err)
		api.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}
