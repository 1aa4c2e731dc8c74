// Package checkmobi serves CheckMobi's validation API over ringproof's
// verifications, so that an application written against CheckMobi
// switches by changing its base URL:
//
//   - POST /v1/validation/request starts a verification: type reverse_cli
//     is a flash call (the code is the caller ID's last 4 digits), cli an
//     inbound missed call, sms a texted code, ivr a spoken one;
//   - POST /v1/validation/verify checks a pin, or with pin HANGUP ends the
//     call because none came;
//   - GET /v1/validation/status/{id} says whether it is validated.
//
// Requests bear one of the API keys as CheckMobi's secret key, the whole
// value of the Authorization header ("Bearer <key>" is accepted too).
// Answers take CheckMobi's shapes, HTTP statuses and numeric error codes
// ({"code": 2, "error": "..."}); docs/checkmobi.md lists what maps onto
// what, and what does not.
package checkmobi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/verify"
)

// Verifier is what the API needs of verifications (verify.Service).
type Verifier interface {
	Create(ctx context.Context, req verify.CreateRequest) (*verify.Verification, error)
	Get(ctx context.Context, id string) (*verify.Verification, error)
	Check(ctx context.Context, id, code string) (*verify.CheckResult, error)
	Hangup(ctx context.Context, id string) (*verify.Verification, error)
}

// Handler serves CheckMobi's validation API under /v1/validation/.
type Handler struct {
	v       Verifier
	keys    api.Keys
	maxBody int64
	log     *slog.Logger
	mux     *http.ServeMux
}

// NewHandler returns the API for v, admitting requests that bear one of
// keys. maxBody caps request bodies.
func NewHandler(v Verifier, keys []string, maxBody int64, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{v: v, keys: api.NewKeys(keys), maxBody: maxBody, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /v1/validation/request", h.request)
	h.mux.HandleFunc("POST /v1/validation/verify", h.verify)
	h.mux.HandleFunc("GET /v1/validation/status/{id}", h.status)
	h.mux.HandleFunc("/v1/validation/request", h.methodNotAllowed("POST"))
	h.mux.HandleFunc("/v1/validation/verify", h.methodNotAllowed("POST"))
	h.mux.HandleFunc("/v1/validation/status/{id}", h.methodNotAllowed("GET"))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "no such resource", "")
	})
	return h
}

// ServeHTTP authenticates the request and routes it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.keys.MatchToken(SecretKey(r)) < 0 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ringproof"`)
		writeError(w, http.StatusUnauthorized, codeInvalidKey, "Invalid or expired API secret key", "")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// SecretKey returns the key r bears as CheckMobi's clients send it, the
// whole value of its Authorization header, or as ringproof's do, after
// "Bearer ".
func SecretKey(r *http.Request) string {
	if token := api.Bearer(r); token != "" {
		return token
	}
	return strings.TrimSpace(r.Header.Get("Authorization"))
}

func (h *Handler) methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed here; use "+allow, "")
	}
}
