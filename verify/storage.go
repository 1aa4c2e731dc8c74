package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/store"
)

// Records in the store. A new record is written in one transaction with
// what comes with it (save); every later change is a compare-and-swap
// that can start from the record as this node last wrote it (updateFrom).
// The personal data is sealed with the number's data key, the code kept
// only as a keyed hash, and every write carries the record's history entry
// to privacy's outbox.

// load reads one record. The result holds what it read and its revision
// (record.stored, record.rev), from which an update can start without
// reading again (updateFrom).
func (s *Service) load(ctx context.Context, id string) (*record, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	val, rev, err := s.store.Get(ctx, recordKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("verify: load %s: %w", id, err)
	}
	r, err := s.decode(ctx, val)
	if err != nil {
		return nil, err
	}
	if !visible(ctx, r) {
		return nil, ErrNotFound
	}
	r.stored, r.rev = val, rev
	return r, nil
}

// update applies fn to the stored record atomically (compare-and-swap), so
// that nodes racing on one verification never lose a change. The record's
// history entry is written in the same transaction. An error from fn
// aborts the update and is returned as is. If this node wrote the record
// recently, the update starts from that write instead of reading it.
func (s *Service) update(ctx context.Context, id string, fn func(*record) error) (*record, error) {
	return s.updateFrom(ctx, id, nil, 0, fn)
}

// updateFrom is update starting from the record as this node last wrote it
// (cur at store revision rev), which saves a read when nothing else changed
// it; with rev 0 it reads first. It waits for any other update of the
// record on this node to end, and starts from the later of that one's
// write and cur. The result holds what it wrote and its revision
// (record.stored, record.rev) for the next update.
func (s *Service) updateFrom(ctx context.Context, id string, cur []byte, rev int64, fn func(*record) error) (*record, error) {
	return s.updateWith(ctx, id, cur, rev, func(r *record) ([]store.Op, error) { return nil, fn(r) })
}

// updateWith is updateFrom whose fn may add operations to the update's
// transaction, so that they are done if and only if the record is
// changed.
func (s *Service) updateWith(ctx context.Context, id string, cur []byte, rev int64, fn func(*record) ([]store.Op, error)) (*record, error) {
	release, err := s.lastWrites.acquire(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("verify: update %s: %w", id, err)
	}
	defer release()
	if last, lastRev := s.lastWrites.get(id); lastRev > rev {
		cur, rev = last, lastRev
	}
	var (
		out    record
		opened *record      // the personal data, decrypted once: it never changes
		key    *privacy.Key // the number's data key, which sealed it
		due    bool         // the chain moves on after this update (fallback.go)
		queued privacy.Queued
		// verified: this update verified it (for the pumping guard)
		verified bool
	)
	next, rev, err := s.store.UpdateWithFrom(ctx, recordKey(id), cur, rev, func(cur []byte) ([]byte, []store.Op, error) {
		out = record{}
		if err := json.Unmarshal(cur, &out); err != nil {
			return nil, nil, fmt.Errorf("verify: decode %s: %w", id, err)
		}
		if !visible(ctx, &out) {
			return nil, nil, ErrNotFound
		}
		if opened == nil || !bytes.Equal(opened.Sealed, out.Sealed) {
			k, err := s.open(ctx, &out)
			if err != nil {
				return nil, nil, err
			}
			opened, key = &record{Sealed: out.Sealed}, k
			opened.copyPersonal(&out)
		}
		out.copyPersonal(opened)
		before := out.Status
		ops, err := fn(&out)
		if err != nil {
			return nil, nil, err
		}
		out.Seq++
		out.noteChange(s.now())
		verified = out.Status == StatusVerified && before != StatusVerified
		due = out.fallbackDue()
		next, err := json.Marshal(&out)
		if err != nil {
			return nil, nil, err
		}
		op, q, err := s.outboxOp(key, &out)
		if err != nil {
			return nil, nil, err
		}
		queued = q
		return next, append(ops, op), nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		var (
			in  *api.InputError
			fin *FinalError
		)
		switch {
		case errors.As(err, &in):
			return nil, in
		case errors.As(err, &fin):
			return nil, fin
		}
		return nil, fmt.Errorf("verify: update %s: %w", id, err)
	}
	out.stored, out.rev = next, rev
	s.lastWrites.put(id, next, rev)
	s.vault.Queue(rev, queued)
	if verified && !out.Test {
		s.cfg.Guard.Verified(out.Number, out.CreatedAt)
	}
	if due {
		s.goFallback(&out)
	}
	return &out, nil
}

// save stores a new record in one transaction with its history entry (in
// the outbox, for the history store), its number's data key, one event
// taken from the number's rate limit (MaxPerNumberPerHour, in a sliding
// hour), and m's lease if it has one. The personal data (number, reference, consent, caller ID) is sealed
// with the data key and the code hashed: the stored record holds neither
// in clear. A lease that is held already is tried again with the
// next one m offers; nothing is written when the rate limit is reached.
func (s *Service) save(ctx context.Context, rec *record, m method) error {
	live := s.cfg.Expiry + s.cfg.Grace
	budget := numberSubject(rec.NumberKey)
	var next func() (lease, error)
	if l, ok := m.(leaser); ok {
		next = l.leases(s, rec)
	}
	held, stale := lease{}, false
	perNumber := s.perNumber
	if rec.Test {
		perNumber = unlimited // a test number counts against no limit
	}
	for {
		budgetRes, err := perNumber.Reserve(ctx, budget)
		if err != nil {
			return fmt.Errorf("verify: save %s: %w", rec.ID, err)
		}
		if !budgetRes.OK() {
			return &NumberLimitError{RetryAfter: budgetRes.RetryAfter()}
		}
		if next != nil && !stale {
			if held, err = next(); err != nil {
				return err
			}
		}
		if code := m.code(rec); code != "" {
			rec.CodeHash = s.codeHash(rec.ID, code)
		}
		var queued privacy.Queued
		res, err := s.vault.Write(ctx, rec.NumberKey, live, func(k *privacy.Key) (store.Txn, error) {
			personal := privacy.Personal{Number: rec.Number, Reference: rec.Reference, Consent: rec.Consent, CallerID: rec.CallerID}
			if m.traits().sealsCode {
				// Whichever node answers the user's call speaks the code.
				personal.Code = rec.Code
			}
			sealed, err := k.SealPersonal(rec.ID, personal)
			if err != nil {
				return store.Txn{}, err
			}
			rec.Sealed, rec.Seq = sealed, 1
			if rec.stored, err = json.Marshal(rec); err != nil {
				return store.Txn{}, err
			}
			op, q, err := s.outboxOp(k, rec)
			if err != nil {
				return store.Txn{}, err
			}
			queued = q
			t := store.Txn{
				If: []store.Cmp{store.IfAbsent(recordKey(rec.ID))},
				Then: []store.Op{
					store.OpPut(recordKey(rec.ID), rec.stored, live),
					op,
				},
			}
			budgetRes.AddTo(&t)
			if held.key != "" {
				if !held.force {
					t.If = append(t.If, store.IfAbsent(held.key))
					t.Read = append(t.Read, held.key)
				}
				t.Then = append(t.Then, store.OpPut(held.key, held.val, held.ttl))
			}
			return t, nil
		})
		if errors.Is(err, privacy.ErrErasing) {
			return ErrErasing
		}
		if err != nil {
			return fmt.Errorf("verify: save %s: %w", rec.ID, err)
		}
		if stale = budgetRes.Settle(res); stale {
			continue // another create of the number took from its budget: decide again
		}
		if res.OK {
			rec.rev = res.Rev
			s.lastWrites.put(rec.ID, rec.stored, rec.rev)
			s.vault.Queue(res.Rev, queued)
			return nil
		}
		if _, taken := res.Read[held.key]; held.key != "" && taken {
			continue // leased already: take the next one
		}
		return fmt.Errorf("verify: save %s: %w", rec.ID, store.ErrConflict)
	}
}

// numberSubject is the per-number rate limit's subject for a number key:
// its state lives at RateLimitPrefix + number key + "/n", a key that
// privacy export shows and erasure deletes (NumberKeyPlaces).
func numberSubject(nk string) string { return nk + "/n" }

// decode reads a stored record and decrypts its personal data.
func (s *Service) decode(ctx context.Context, val []byte) (*record, error) {
	var r record
	if err := json.Unmarshal(val, &r); err != nil {
		return nil, fmt.Errorf("verify: decode: %w", err)
	}
	if _, err := s.open(ctx, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// open decrypts r's sealed personal data into its fields, and returns the
// number's data key that sealed it.
func (s *Service) open(ctx context.Context, r *record) (*privacy.Key, error) {
	k, err := s.vault.Key(ctx, r.NumberKey, false)
	if err != nil {
		return nil, fmt.Errorf("verify: %s: %w", r.ID, err)
	}
	p, err := k.OpenPersonal(r.ID, r.Sealed)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	r.Number, r.Reference, r.Consent, r.CallerID, r.Code = p.Number, p.Reference, p.Consent, p.CallerID, p.Code
	return k, nil
}

// codeHash is the keyed hash of a verification's code that its record
// keeps, bound to its id.
func (s *Service) codeHash(id, code string) string { return s.vault.Index().CodeHash(id, code) }

// outboxOp puts r's history entry in the outbox, on its way to the history
// store: the record's state without its secrets (code, watch token), its
// personal data sealed with k (without the code), and the keys that hold
// the verification while it lives, for erasure.
func (s *Service) outboxOp(k *privacy.Key, r *record) (store.Op, privacy.Queued, error) {
	events, err := json.Marshal(r.Events)
	if err != nil {
		return store.Op{}, privacy.Queued{}, err
	}
	sealed := r.Sealed
	if r.Code != "" && traitsOf(r.Method).sealsCode {
		// The record's sealed data holds the code: the history's must not.
		if sealed, err = k.SealPersonal(r.ID, privacy.Personal{Number: r.Number, Reference: r.Reference, Consent: r.Consent, CallerID: r.CallerID}); err != nil {
			return store.Op{}, privacy.Queued{}, err
		}
	}
	e := privacy.Entry{
		ID: r.ID, Method: string(r.Method), Status: string(r.Status), Final: r.Status.Final(),
		Reason: r.Reason, CodeLength: r.CodeLength, Attempts: r.Attempts, MaxAttempts: r.MaxAttempts,
		DialNumber: r.DialNumber, Platform: r.Platform,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt,
		Events: events, Sealed: sealed,
		Keys:   map[string]string{"verifications": recordKey(r.ID)},
		NextID: r.NextID, PreviousID: r.PreviousID, Test: r.Test,
	}
	if r.DialNumber != "" {
		e.Keys["inbound_index"] = inboundKey(r.DialNumber, r.NumberKey)
	}
	if r.Consent != nil {
		e.LegalBasis = privacy.LegalBasisConsent
	}
	val, err := json.Marshal(&e)
	if err != nil {
		return store.Op{}, privacy.Queued{}, err
	}
	hooks, err := s.deliveries(r)
	if err != nil {
		return store.Op{}, privacy.Queued{}, err
	}
	return s.vault.ScopedOutbox(k, history.KindVerification, r.Service, r.ID, r.CreatedAt, r.Seq, r.Status.Final(), val, hooks...)
}

// RateLimitPrefix is where per-number rate limits live: RateLimitPrefix +
// number key + "/n", holding the number's theoretical arrival time (package
// limit), leased to expire when its budget is full again.
const RateLimitPrefix = "ratelimit/number/"

// NumberKeyPlaces lists the store keys, besides records and history, that
// verifications name by number key: what a privacy export shows and an
// erasure deletes. The caller-ID leases a flash call's record writes are
// the dialer's keys, listed by serve.
func NumberKeyPlaces() []privacy.Place {
	return []privacy.Place{
		{Kind: "rate_limit_counters", Prefix: RateLimitPrefix},
		{Kind: "inbound_index", Prefix: inboundPrefix, Last: true},
	}
}

// recordKey is where a verification lives in the store.
func recordKey(id string) string { return "v/" + id }
