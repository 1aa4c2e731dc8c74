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
// and the change's number).

// change is a change of status noted on the record, for its
// verification.updated event.
type change struct {
	// Seq numbers the record's changes from 1: a receiver keeps the
	// highest it got.
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

// noteChange notes on r a change of its status (or of its next link's
// id) since the last change noted, or since it was created pending. A
// write that applies several call events at once notes it after each
// (notedEvent), so that a ringing followed at once by its cancel is two
// changes, as it is two events.
func (r *record) noteChange(at time.Time) {
	last := change{Status: StatusPending}
	if n := len(r.Changes); n > 0 {
		last = r.Changes[n-1]
	}
	if r.Status == last.Status && r.NextID == last.NextID {
		return
	}
	r.Changes = append(r.Changes, change{Seq: int64(len(r.Changes) + 1), Status: r.Status, Reason: r.Reason, NextID: r.NextID, At: at.UTC()})
}

// expiryLag is how long after its expires_at a verification that was
// left alone is announced expired: longer than the history of a change
// made just before (a right code) takes to reach the queue and cancel it,
// even through another node's outbox sweep.
const expiryLag = time.Minute

// deliveries returns the webhook deliveries of r's changes so far and of
// its expiry: while r may still expire untouched, a delivery of expired
// is scheduled for expiryLag after its expires_at (the API shows it
// expired at once, but no write records it); once r ends otherwise, that
// delivery is cancelled. A recorded expiry (a check after expires_at) is
// the same delivery, so it is sent once.
func (s *Service) deliveries(r *record) ([]history.Delivery, error) {
	if s.cfg.Webhooks == nil {
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
		occurrence := r.ID + "/" + strconv.FormatInt(c.Seq, 10)
		if c.Status == StatusExpired {
			occurrence = expiryOccurrence(r)
		}
		ds, err := s.cfg.Webhooks.Deliveries(subs, conf.EventVerificationUpdated, occurrence, c.At, data)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	if r.Status == StatusExpired {
		return out, nil
	}
	data := webhookData{
		ID: r.ID, Status: StatusExpired, Reason: ReasonExpired, Method: r.Method, Seq: int64(len(r.Changes) + 1), Final: true,
		CreatedAt: r.CreatedAt, UpdatedAt: r.ExpiresAt, ExpiresAt: r.ExpiresAt, NextID: r.NextID, PreviousID: r.PreviousID,
	}
	ds, err := s.cfg.Webhooks.Deliveries(subs, conf.EventVerificationUpdated, expiryOccurrence(r), r.ExpiresAt, data)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		if r.Status.Final() {
			ds[i].Cancelled = true
		} else {
			ds[i].Scheduled, ds[i].NextAt = true, r.ExpiresAt.Add(expiryLag)
		}
	}
	return append(out, ds...), nil
}

// expiryOccurrence names r's expiry, scheduled or recorded.
func expiryOccurrence(r *record) string { return r.ID + "/expired" }

// subscriptions are the webhooks r's events go to.
func (s *Service) subscriptions(r *record) []conf.Webhook {
	if s.cfg.Subscriptions == nil {
		return nil
	}
	return s.cfg.Subscriptions(r.view(s.now()))
}
