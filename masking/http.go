package masking

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/verify"
)

// CreateRequest is the body of POST /v1/masking/sessions.
type CreateRequest struct {
	// A and B are the two parties, E.164 or national with Region.
	A      string `json:"a"`
	B      string `json:"b"`
	Region string `json:"region,omitempty"`
	// TTLS is how long the session lasts, in seconds.
	TTLS int `json:"ttl_s"`
}

// NewHandler serves the masking API to holders of one of keys:
//
//	POST   /v1/masking/sessions       {"a","b","region"?,"ttl_s"}  201 the session
//	GET    /v1/masking/sessions/{id}                                200 the session
//	DELETE /v1/masking/sessions/{id}                                200 the session, now ended
func NewHandler(s *Service, keys []string, maxBody int64, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/masking/sessions", func(w http.ResponseWriter, r *http.Request) {
		var req CreateRequest
		if !verify.DecodeBody(w, r, maxBody, &req) {
			return
		}
		sess, err := s.Create(r.Context(), req.A, req.B, req.Region, time.Duration(req.TTLS)*time.Second)
		if err != nil {
			fail(w, err, log)
			return
		}
		writeJSON(w, http.StatusCreated, sess)
	})
	mux.HandleFunc("GET /v1/masking/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, err, log)
			return
		}
		writeJSON(w, http.StatusOK, sess)
	})
	mux.HandleFunc("DELETE /v1/masking/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.End(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, err, log)
			return
		}
		writeJSON(w, http.StatusOK, sess)
	})
	mux.HandleFunc("/v1/masking/", func(w http.ResponseWriter, r *http.Request) {
		verify.WriteError(w, http.StatusNotFound, "not_found", "no such resource", "")
	})
	return verify.RequireKey(keys, mux)
}

// fail maps a service error onto an HTTP answer.
func fail(w http.ResponseWriter, err error, log *slog.Logger) {
	var (
		in    *verify.InputError
		party *partyError
	)
	switch {
	case errors.As(err, &party) && verify.WriteRefusal(w, err, party.field):
	case errors.As(err, &in):
		verify.WriteError(w, http.StatusBadRequest, in.Code, in.Message, in.Field)
	case errors.Is(err, ErrNotFound):
		verify.WriteError(w, http.StatusNotFound, "not_found", "no masking session with that id", "id")
	case errors.Is(err, ErrOff):
		verify.WriteError(w, http.StatusNotFound, "masking_off", "masking is off: configure masking.numbers", "")
	case errors.Is(err, ErrNoProxy):
		verify.WriteError(w, http.StatusConflict, "no_proxy_free", "every proxy number is in use by a or b; end a session or add masking.numbers", "")
	case errors.Is(err, store.ErrUnavailable):
		w.Header().Set("Retry-After", "2")
		verify.WriteError(w, http.StatusServiceUnavailable, "store_unavailable", "the store is unavailable; try again", "")
	default:
		log.Error("masking request failed", "err", err)
		verify.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
