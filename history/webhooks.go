package history

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// The webhook queue: one row per delivery of an event to one subscriber,
// kept after it is delivered or dropped until its ExpiresAt, so that the
// same delivery enqueued again (a history entry written twice) is not
// sent twice. A node takes due deliveries with a lease (ClaimDeliveries):
// while it holds them no other node takes them; once the lease ends,
// because the node died or hung, any node takes them again. Deliveries
// are at least once: a node that dies after sending and before settling
// leaves the delivery to be sent again, under the same id.

// States of a delivery.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDropped   = "dropped"
)

// Delivery is one webhook delivery: an event's JSON body on its way to one
// subscriber.
type Delivery struct {
	// ID names the delivery: enqueuing an id that is held already (in
	// any state) changes nothing.
	ID string
	// Event is the event's name (verification.updated, …).
	Event string
	// URL is where it goes; SecretID names the secret that signs it
	// (the store never holds the secret).
	URL, SecretID string
	Body          []byte
	CreatedAt     time.Time
	// NextAt is when it is due: first at once, then after each failure
	// when the back-off says.
	NextAt time.Time
	// GiveUpAt is when a delivery that keeps failing is dropped.
	GiveUpAt time.Time
	// ExpiresAt is when Expire removes the row, whatever its state.
	ExpiresAt time.Time
	// Attempts counts the attempts made; LastError says why the last
	// failed.
	Attempts  int
	LastError string

	// Scheduled marks, when enqueuing, a delivery made ahead of its time
	// (a verification's expiry): enqueued again, its body and times are
	// replaced, as long as no attempt was made. Cancelled removes such a
	// delivery (its event will not happen), as long as no attempt was
	// made. Neither is stored.
	Scheduled, Cancelled bool
}

// Settlement is what became of an attempt to deliver.
type Settlement struct {
	// State is DeliveryDelivered, DeliveryDropped, or DeliveryPending to
	// try again at NextAt.
	State     string
	NextAt    time.Time
	Attempts  int
	LastError string
}

const deliveryColumns = `id, event, url, secret_id, body, created_at, next_at, give_up_at, expires_at, attempts, last_error`

// insertDeliveries is the statement that enqueues n deliveries, each
// unless its id is held already.
func (s *sqlStore) insertDeliveries(n int) string {
	q := `WITH v (id, event, url, secret_id, body, created_at, next_at, give_up_at, expires_at) AS (VALUES ` +
		s.values(n, "TEXT", "TEXT", "TEXT", "TEXT", "blob", "BIGINT", "BIGINT", "BIGINT", "BIGINT") + `)
		INSERT INTO history_webhooks (id, event, url, secret_id, body, created_at, next_at, give_up_at, expires_at, attempts, last_error, state, claimed_by, claimed_until)
		SELECT v.id, v.event, v.url, v.secret_id, v.body, v.created_at, v.next_at, v.give_up_at, v.expires_at, 0, '', '` + DeliveryPending + `', '', 0
		FROM v WHERE true
		ON CONFLICT (id) DO NOTHING`
	return s.rebind(q)
}

// replaceScheduled is the statement that enqueues one scheduled
// delivery, or replaces its body and times while it is untried.
const replaceScheduled = `INSERT INTO history_webhooks (id, event, url, secret_id, body, created_at, next_at, give_up_at, expires_at, attempts, last_error, state, claimed_by, claimed_until)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', '` + DeliveryPending + `', '', 0)
	ON CONFLICT (id) DO UPDATE SET body = excluded.body, created_at = excluded.created_at, next_at = excluded.next_at,
		give_up_at = excluded.give_up_at, expires_at = excluded.expires_at
	WHERE history_webhooks.state = '` + DeliveryPending + `' AND history_webhooks.attempts = 0`

// enqueue writes ds in tx, and returns how many were new or replaced.
func (s *sqlStore) enqueue(ctx context.Context, tx *sql.Tx, ds []Delivery) (int, error) {
	total := 0
	var plain []Delivery
	for _, d := range ds {
		switch {
		case d.Cancelled:
			if _, err := execIn(ctx, tx, s.cancelDelivery, s.q.cancelDelivery, d.ID); err != nil {
				return total, err
			}
		case d.Scheduled:
			n, err := rowsAffected(execIn(ctx, tx, s.replaceDelivery, s.q.replaceDelivery,
				d.ID, d.Event, d.URL, d.SecretID, d.Body, ms(d.CreatedAt), ms(d.NextAt), ms(d.GiveUpAt), ms(d.ExpiresAt)))
			if err != nil {
				return total, err
			}
			total += int(n)
		default:
			plain = append(plain, d)
		}
	}
	n, err := s.execRows(ctx, tx, &s.insDeliveries, len(plain), func(args []any, i int) []any {
		d := &plain[i]
		return append(args, d.ID, d.Event, d.URL, d.SecretID, d.Body, ms(d.CreatedAt), ms(d.NextAt), ms(d.GiveUpAt), ms(d.ExpiresAt))
	})
	return total + int(n), err
}

func (s *sqlStore) Enqueue(ctx context.Context, ds ...Delivery) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = s.enqueue(ctx, tx, dedupeDeliveries(ds))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("history: enqueue deliveries: %w", err)
	}
	return n, nil
}

// dedupeDeliveries keeps the first of each id: one statement may not
// write a row twice.
func dedupeDeliveries(ds []Delivery) []Delivery {
	seen := make(map[string]bool, len(ds))
	out := ds[:0:0]
	for _, d := range ds {
		if !seen[d.ID] {
			seen[d.ID] = true
			out = append(out, d)
		}
	}
	return out
}

func (s *sqlStore) ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Delivery, error) {
	// One statement, outside any explicit transaction: on PostgreSQL the
	// rows another node is claiming at this moment are skipped, not
	// waited for; SQLite runs it alone.
	q := s.rebind(`UPDATE history_webhooks SET claimed_by = ?, claimed_until = ?
		WHERE id IN (SELECT id FROM history_webhooks
			WHERE state = '` + DeliveryPending + `' AND next_at <= ? AND claimed_until <= ?
			ORDER BY next_at LIMIT ` + strconv.Itoa(limit) + s.d.skipLocked + `)
		RETURNING ` + deliveryColumns)
	rows, err := s.db.QueryContext(ctx, q, owner, ms(now.Add(lease)), ms(now), ms(now))
	if err != nil {
		return nil, fmt.Errorf("history: claim deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var created, next, giveUp, expires, attempts int64
		if err := rows.Scan(&d.ID, &d.Event, &d.URL, &d.SecretID, &d.Body, &created, &next, &giveUp, &expires, &attempts, &d.LastError); err != nil {
			return nil, fmt.Errorf("history: claim deliveries: %w", err)
		}
		d.CreatedAt, d.NextAt, d.GiveUpAt, d.ExpiresAt, d.Attempts = fromMS(created), fromMS(next), fromMS(giveUp), fromMS(expires), int(attempts)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: claim deliveries: %w", err)
	}
	return out, nil
}

func (s *sqlStore) SettleDelivery(ctx context.Context, id, owner string, st Settlement) (bool, error) {
	q := s.rebind(`UPDATE history_webhooks SET state = ?, next_at = ?, attempts = ?, last_error = ?, claimed_by = '', claimed_until = 0
		WHERE id = ? AND claimed_by = ? AND state = '` + DeliveryPending + `'`)
	r, err := s.db.ExecContext(ctx, q, st.State, ms(st.NextAt), st.Attempts, st.LastError, id, owner)
	if err != nil {
		return false, fmt.Errorf("history: settle delivery %s: %w", id, err)
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}

func (s *sqlStore) Delivery(ctx context.Context, id string) (Delivery, string, error) {
	var d Delivery
	var state string
	var created, next, giveUp, expires, attempts int64
	err := s.rd.QueryRowContext(ctx, s.rebind(`SELECT `+deliveryColumns+`, state FROM history_webhooks WHERE id = ?`), id).
		Scan(&d.ID, &d.Event, &d.URL, &d.SecretID, &d.Body, &created, &next, &giveUp, &expires, &attempts, &d.LastError, &state)
	if err == sql.ErrNoRows {
		return Delivery{}, "", ErrNotFound
	}
	if err != nil {
		return Delivery{}, "", fmt.Errorf("history: delivery %s: %w", id, err)
	}
	d.CreatedAt, d.NextAt, d.GiveUpAt, d.ExpiresAt, d.Attempts = fromMS(created), fromMS(next), fromMS(giveUp), fromMS(expires), int(attempts)
	return d, state, nil
}

func (s *sqlStore) DeliveryStats(ctx context.Context, now time.Time) (KindStats, error) {
	return s.oneStats(ctx, "webhook", s.rebind(`SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM history_webhooks WHERE state = '`+DeliveryPending+`' AND created_at <= ?`), ms(now))
}
