// Package webhook pushes events to the applications' servers: each
// delivery is a POST of a JSON event, signed with the subscription's
// secret (Ringproof-Signature, signature.go), retried with exponential
// back-off for a day (backoff.go), and delivered at least once even when
// the node that queued it dies: the queue lives in the history store,
// which every node shares, and a node takes deliveries under a lease that
// another node inherits when it ends (dispatcher.go). Each delivery has an
// id for the receiver to drop repeats.
//
// Deliveries are made (Hooks.Deliveries) where the event is recorded, so
// that they reach the queue with it: a verification's status change goes
// with its history entry through privacy's outbox; a masked call's end is
// enqueued when the call ends.
package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/history"
)

// Event is what a delivery's body holds.
type Event struct {
	// ID names the event: the same for every subscriber it goes to.
	ID   string    `json:"id"`
	Type string    `json:"type"`
	At   time.Time `json:"created_at"`
	// Data is the event's subject as it stood: a verification, a masked
	// call. Never a phone number or a code.
	Data json.RawMessage `json:"data"`
}

// keep is how long a delivery's row outlives its last retry, so that an
// entry written again late does not enqueue it twice.
const keep = 24 * time.Hour

// Hooks makes deliveries of events to subscriptions.
type Hooks struct {
	// secretID names a secret without holding it (a keyed hash): what the
	// queue keeps to find the secret again when it sends.
	secretID func(secret string) string
}

// NewHooks returns Hooks whose deliveries name their secrets by secretID,
// a keyed one-way hash.
func NewHooks(secretID func(secret string) string) *Hooks { return &Hooks{secretID: secretID} }

// Deliveries returns the deliveries of one event to the subscriptions of
// subs that want it. occurrence names the event uniquely and for good
// (a verification's id and the write that changed its status): making
// the deliveries of one occurrence again gives the same ids, which the
// queue takes once. data is the event's subject, marshalled as JSON.
func (h *Hooks) Deliveries(subs []conf.Webhook, event, occurrence string, at time.Time, data any) ([]history.Delivery, error) {
	if h == nil {
		return nil, nil
	}
	var out []history.Delivery
	var body []byte
	eventID := "evt_" + digest("event", occurrence)
	for _, s := range subs {
		if !s.Wants(event) {
			continue
		}
		if body == nil {
			raw, err := json.Marshal(data)
			if err != nil {
				return nil, fmt.Errorf("webhook: %s: %w", event, err)
			}
			if body, err = json.Marshal(Event{ID: eventID, Type: event, At: at.UTC(), Data: raw}); err != nil {
				return nil, fmt.Errorf("webhook: %s: %w", event, err)
			}
		}
		sid := h.secretID(s.Secret)
		out = append(out, history.Delivery{
			ID:    "whd_" + digest("delivery", occurrence, s.URL, sid),
			Event: event, URL: s.URL, SecretID: sid, Body: body,
			CreatedAt: at, NextAt: at, GiveUpAt: at.Add(RetryFor), ExpiresAt: at.Add(RetryFor + keep),
		})
	}
	return out, nil
}

// digest is 32 hex digits naming parts, under a domain.
func digest(domain string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte("ringproof webhook " + domain))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
