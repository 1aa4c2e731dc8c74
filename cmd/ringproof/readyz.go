package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/ringproof/ringproof/dialer"
	"github.com/ringproof/ringproof/store"
)

// readiness is the body of GET /readyz.
type readiness struct {
	Status string `json:"status"` // ready, or unavailable
	// Reason says why the node is not ready: store_unavailable,
	// store_full, sip_listener_down (a TCP or TLS listener cannot accept),
	// no_route (no route has a trunk up).
	Reason string `json:"reason,omitempty"`
	// Message says more about Reason, when there is more to say.
	Message string `json:"message,omitempty"`
	// Trunks is every trunk's state: up, down or unregistered.
	Trunks map[string]dialer.TrunkState `json:"trunks"`
}

// readyz answers whether the node can take verifications: 200 when the
// store answers and takes writes, the SIP listeners accept and some route
// has a trunk up, else 503 (with Retry-After but for a full store). The
// body names every trunk's state either way.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	body := readiness{Status: "ready", Trunks: s.dial.TrunkStates()}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	switch err := s.store.Ready(ctx); {
	case errors.Is(err, store.ErrFull):
		// An operator must free space: retrying soon will not help.
		body.Status, body.Reason = "unavailable", "store_full"
	case err != nil:
		body.Status, body.Reason = "unavailable", "store_unavailable"
		w.Header().Set("Retry-After", "2")
	case s.sip.Ready() != nil:
		body.Status, body.Reason, body.Message = "unavailable", "sip_listener_down", s.sip.Ready().Error()
		w.Header().Set("Retry-After", "2")
	case !s.dial.Routable():
		body.Status, body.Reason = "unavailable", dialer.ReasonNoRoute
		w.Header().Set("Retry-After", "5")
	}
	status := http.StatusOK
	if body.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
