package fraud

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/store"
)

// SuspendedPrefix is a suspended prefix as GET /v1/fraud/prefixes shows
// it: the figures that suspended it, and the prefix's counts in the
// window now.
type SuspendedPrefix struct {
	Suspension
	// Window holds the prefix's verifications created in the window now,
	// and how many of them were verified.
	Window struct {
		Attempts int `json:"attempts"`
		Verified int `json:"verified"`
	} `json:"window"`
}

// NewHandler serves the pumping guard's admin API. Wrap it in the admin
// keys' authentication (api.RequireKey):
//
//	GET    /v1/fraud/prefixes             200 {"prefixes":[…]} the suspended prefixes
//	DELETE /v1/fraud/prefixes/{prefix}    200 the suspension lifted; 404 if none
//
// A prefix is its digits without '+'.
func NewHandler(g *Guard, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/fraud/prefixes", func(w http.ResponseWriter, r *http.Request) {
		list := g.pump.suspensions()
		slices.SortFunc(list, func(a, b Suspension) int { return strings.Compare(a.Prefix, b.Prefix) })
		out := make([]SuspendedPrefix, len(list))
		for i, s := range list {
			out[i].Suspension = s
			out[i].Window.Attempts, out[i].Window.Verified = g.pump.figures(s.Prefix)
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"prefixes": out})
	})
	mux.HandleFunc("DELETE /v1/fraud/prefixes/{prefix}", func(w http.ResponseWriter, r *http.Request) {
		prefix := r.PathValue("prefix")
		if !validPrefix(prefix) {
			api.WriteError(w, http.StatusBadRequest, "invalid", "prefix is 1 to 15 digits, without '+'", "prefix")
			return
		}
		s, err := g.pump.lift(r.Context(), prefix)
		switch {
		case errors.Is(err, ErrNotSuspended):
			api.WriteError(w, http.StatusNotFound, "not_found", "prefix +"+prefix+" is not suspended", "prefix")
		case errors.Is(err, store.ErrUnavailable):
			w.Header().Set("Retry-After", "2")
			api.WriteError(w, http.StatusServiceUnavailable, "unavailable", "state store unavailable; retry", "")
		case err != nil:
			log.Error("fraud: lift", "prefix", prefix, "err", err)
			api.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
		default:
			log.Info("pumping guard: suspension lifted", "prefix", prefix)
			api.WriteJSON(w, http.StatusOK, map[string]any{"prefix": s.Prefix, "lifted_at": time.Now().UTC(), "suspension": s})
		}
	})
	mux.HandleFunc("/v1/fraud/", func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such resource", "")
	})
	return mux
}

// validPrefix reports whether s is 1 to 15 digits.
func validPrefix(s string) bool {
	if len(s) < 1 || len(s) > 15 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
