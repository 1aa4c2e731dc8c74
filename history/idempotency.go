package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Answers kept for idempotency keys: the first request with a key claims
// it (ClaimIdempotency) and, once answered, keeps its answer
// (CompleteIdempotency) until the row expires; a later request with the
// same key finds the row and replays the answer, or learns that the
// first is still in flight.

// IdempotencyClaim is a request's claim on an idempotency key.
type IdempotencyClaim struct {
	// Key is the row's key: a keyed hash of who asked and the
	// Idempotency-Key they sent, never the key itself.
	Key string
	// BodyHash is a digest of the request's body.
	BodyHash []byte
	At       time.Time
	// LockedUntil is when a claim never completed (its node died) may be
	// taken over by a request with the same body.
	LockedUntil time.Time
	// ExpiresAt is when the row, and the answer it keeps, go.
	ExpiresAt time.Time
}

// Idempotency is the row of an idempotency key.
type Idempotency struct {
	Key      string
	BodyHash []byte
	// Status is the kept answer's HTTP status, 0 while the request that
	// claimed the key is in flight; Response is the answer, opaque to the
	// store (the caller seals it).
	Status                            int
	Response                          []byte
	CreatedAt, LockedUntil, ExpiresAt time.Time
}

func (s *sqlStore) ClaimIdempotency(ctx context.Context, c IdempotencyClaim) (Idempotency, bool, error) {
	claim := s.rebind(`INSERT INTO history_idempotency (idem_key, body_hash, status, response, created_at, locked_until, expires_at)
		VALUES (?, ?, 0, NULL, ?, ?, ?)
		ON CONFLICT (idem_key) DO UPDATE SET body_hash = excluded.body_hash, status = 0, response = NULL,
			created_at = excluded.created_at, locked_until = excluded.locked_until, expires_at = excluded.expires_at
		WHERE history_idempotency.expires_at <= excluded.created_at
			OR (history_idempotency.status = 0 AND history_idempotency.locked_until <= excluded.created_at
				AND history_idempotency.body_hash = excluded.body_hash)`)
	read := s.rebind(`SELECT idem_key, body_hash, status, response, created_at, locked_until, expires_at FROM history_idempotency WHERE idem_key = ?`)
	var row Idempotency
	var claimed bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.exec(ctx, tx, claim, []any{c.Key, c.BodyHash, ms(c.At), ms(c.LockedUntil), ms(c.ExpiresAt)})
		if err != nil {
			return err
		}
		if claimed = n > 0; claimed {
			row = Idempotency{Key: c.Key, BodyHash: c.BodyHash, CreatedAt: c.At, LockedUntil: c.LockedUntil, ExpiresAt: c.ExpiresAt}
			return nil
		}
		var status, created, locked, expires int64
		row = Idempotency{}
		if err := tx.QueryRowContext(ctx, read, c.Key).Scan(&row.Key, &row.BodyHash, &status, &row.Response, &created, &locked, &expires); err != nil {
			return err
		}
		row.Status = int(status)
		row.CreatedAt, row.LockedUntil, row.ExpiresAt = fromMS(created), fromMS(locked), fromMS(expires)
		return nil
	})
	if err != nil {
		return Idempotency{}, false, fmt.Errorf("history: claim idempotency key: %w", err)
	}
	return row, claimed, nil
}

func (s *sqlStore) CompleteIdempotency(ctx context.Context, key string, status int, response []byte) error {
	if status <= 0 {
		return errors.New("history: complete idempotency key: status must be positive")
	}
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE history_idempotency SET status = ?, response = ? WHERE idem_key = ? AND status = 0`), status, response, key)
	if err != nil {
		return fmt.Errorf("history: complete idempotency key: %w", err)
	}
	return nil
}

func (s *sqlStore) ReleaseIdempotency(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM history_idempotency WHERE idem_key = ? AND status = 0`), key)
	if err != nil {
		return fmt.Errorf("history: release idempotency key: %w", err)
	}
	return nil
}
