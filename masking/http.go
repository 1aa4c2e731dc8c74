package masking

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/store"
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
//	GET    /v1/masking/sessions?number=&created_after=&limit=&cursor=  200 {"sessions","next_cursor"?}
//	GET    /v1/masking/sessions/{id}                                200 the session
//	DELETE /v1/masking/sessions/{id}                                200 the session, now ended
func NewHandler(s *Service, keys []string, maxBody int64, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/masking/sessions", func(w http.ResponseWriter, r *http.Request) {
		var req CreateRequest
		if !api.DecodeBody(w, r, maxBody, &req) {
			return
		}
		sess, err := s.Create(r.Context(), req.A, req.B, req.Region, time.Duration(req.TTLS)*time.Second)
		if err != nil {
			fail(w, err, log)
			return
		}
		api.WriteJSON(w, http.StatusCreated, sess)
	})
	mux.HandleFunc("GET /v1/masking/sessions", list(s, log))
	mux.HandleFunc("GET /v1/masking/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, err, log)
			return
		}
		api.WriteJSON(w, http.StatusOK, sess)
	})
	mux.HandleFunc("DELETE /v1/masking/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.End(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, err, log)
			return
		}
		api.WriteJSON(w, http.StatusOK, sess)
	})
	mux.HandleFunc("/v1/masking/", func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such resource", "")
	})
	return api.RequireKey(keys, mux)
}

// fail maps a service error onto an HTTP answer.
func fail(w http.ResponseWriter, err error, log *slog.Logger) {
	var party *partyError
	switch {
	case errors.As(err, &party) && api.WriteRefusal(w, err, party.field):
	case api.WriteInputError(w, err):
	case errors.Is(err, ErrNotFound):
		api.WriteError(w, http.StatusNotFound, "not_found", "no masking session with that id", "id")
	case errors.Is(err, ErrOff):
		api.WriteError(w, http.StatusNotFound, "masking_off", "masking is off: configure masking.numbers", "")
	case errors.Is(err, ErrNoProxy):
		api.WriteError(w, http.StatusConflict, "no_proxy_free", "every proxy number is in use by a or b; end a session or add masking.numbers", "")
	case errors.Is(err, store.ErrFull):
		api.WriteError(w, http.StatusInsufficientStorage, "store_full", "state store full; an operator must free space", "")
		log.Error("masking request failed: "+store.FullAdvice, "err", err)
	case errors.Is(err, store.ErrUnavailable):
		w.Header().Set("Retry-After", "2")
		api.WriteError(w, http.StatusServiceUnavailable, "store_unavailable", "the store is unavailable; try again", "")
	default:
		log.Error("masking request failed", "err", err)
		api.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}
