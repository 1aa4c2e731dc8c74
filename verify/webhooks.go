package verify

import (
	"strconv"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/history"
)

// Webhooks: every change of a verification's status (and the naming of
// the fallback link that takes over) is noted on the record (change), and
// each write of the record carries the webhook deliveries of all its
// changes so far with its history entry, through privacy's outbox, to the
// history store's queue: a change is never lost with a node, and the
// queue takes each delivery once (its id comes from the verification's id
// and the write that made the change).

// change is a change of status noted on the record, for its
// verification.updated event.
type change struct {
	// Seq is the record's write that made it.
	Seq    int64     `json:"seq"`
	Status Status    `json:"status"`
	Reason string    `json:"reason,omitempty"`
	NextID string    `json:"next_id,omitempty"`
	At     time.Time `json:"at"`
}

// webhookData is a verification as a verification.updated event shows
// it, as the change left it: never its number, code or reference.
type webhookData struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	Reason string `json:"reason,omitempty"`
	Method Method `json:"method"`
	// Seq orders the events of one verification: a receiver that gets
	// them out of order keeps the highest.
	Seq        int64     `json:"seq"`
	Final      bool      `json:"final"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	NextID     string    `json:"next_id,omitempty"`
	PreviousID string    `json:"previous_id,omitempty"`
}

// noteChange records on r what its update changed since before (status
// before, and the next link's id), if anything.
func (r *record) noteChange(before Status, beforeNext string, at time.Time) {
	if r.Status == before && r.NextID == beforeNext {
		return
	}
	r.Changes = append(r.Changes, change{Seq: r.Seq, Status: r.Status, Reason: r.Reason, NextID: r.NextID, At: at.UTC()})
}

// deliveries returns the webhook deliveries of r's changes so far.
func (s *Service) deliveries(r *record) ([]history.Delivery, error) {
	if s.cfg.Webhooks == nil || len(r.Changes) == 0 {
		return nil, nil
	}
	subs := s.subscriptions(r)
	if len(subs) == 0 {
		return nil, nil
	}
	var out []history.Delivery
	for _, c := range r.Changes {
		data := webhookData{
			ID: r.ID, Status: c.Status, Reason: c.Reason, Method: r.Method, Seq: c.Seq, Final: c.Status.Final(),
			CreatedAt: r.CreatedAt, UpdatedAt: c.At, ExpiresAt: r.ExpiresAt, NextID: c.NextID, PreviousID: r.PreviousID,
		}
		ds, err := s.cfg.Webhooks.Deliveries(subs, conf.EventVerificationUpdated, r.ID+"/"+strconv.FormatInt(c.Seq, 10), c.At, data)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	return out, nil
}

// subscriptions are the webhooks r's events go to.
func (s *Service) subscriptions(r *record) []conf.Webhook {
	if s.cfg.Subscriptions == nil {
		return nil
	}
	return s.cfg.Subscriptions(r.view(s.now()))
}
