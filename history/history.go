// Package history keeps what must outlive a verification's short life in
// the state store: each number's history of verifications and masking
// routes, the per-number data keys that seal their personal data, the
// marks of erasures, and the compliance audit trail. It is made for volume
// and retention, where etcd is made for coordination.
//
// One interface, Store, has two backends that pass one test suite: an
// embedded SQLite database in store.data_dir (pure Go, the default), and
// PostgreSQL for clusters (history.postgres_url). Both hold the same
// schema (schema.go).
//
// The store never sees a phone number: rows are found by the number's
// index key (an HMAC), and their personal parts arrive sealed with the
// number's data key (package privacy does the sealing).
package history

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound means no row matched.
var ErrNotFound = errors.New("history: not found")

// Kinds of entries.
const (
	KindVerification = "verification"
	KindMaskingRoute = "masking_route"
)

// Entry is one item of a number's history, as its writer made it.
type Entry struct {
	// ID names the entry: a verification id, or a masking route's.
	ID string
	// NumberKey is the index key of the number the entry is about.
	NumberKey string
	// Kind is KindVerification or KindMaskingRoute.
	Kind string
	// Scope is what the entry is listed under (List): a verification's
	// service. Empty means DefaultScope.
	Scope string
	// CreatedAt is when the entry's subject began.
	CreatedAt time.Time
	// ExpiresAt is when retention ends and Expire removes the entry.
	ExpiresAt time.Time
	// Version orders the writes of one entry: a write with a version not
	// above the stored one changes nothing, so that a late or repeated
	// write never undoes a newer one.
	Version int64
	// Body is the entry itself, opaque to the store (JSON, personal parts
	// sealed).
	Body []byte
}

// DataKey is a number's data key, wrapped by the deployment's encryption
// key: destroying it (erasure, or the end of retention) makes everything
// sealed with it unreadable.
type DataKey struct {
	NumberKey string
	Wrapped   []byte
	// ExpiresAt is when retention of the number's data ends: a write with
	// a later time extends it, an earlier one never shortens it.
	ExpiresAt time.Time
	// Since is when the key was first used (the CreatedAt of the oldest
	// entry it came with); an erasure of the number after Since refuses it.
	Since time.Time
}

// Batch is what one Write stores, atomically.
type Batch struct {
	DataKeys []DataKey
	Entries  []Entry
	// Deliveries are webhook deliveries to enqueue with the entries that
	// announce them (webhooks.go); one whose id is held already is
	// skipped, so that writing a batch again enqueues nothing twice.
	Deliveries []Delivery
}

// Written says what a Write did.
type Written struct {
	// Entries and DataKeys count the rows inserted or changed.
	Entries, DataKeys int
	// Refused counts the items dropped because their number was erased
	// after they were made.
	Refused int
	// Deliveries counts the webhook deliveries enqueued (new ids only).
	Deliveries int
}

// Erasure marks that a number's data was erased at At: a later Write of
// anything the number's data made before At is refused, so that a writer
// that read it before the erasure cannot bring it back. The mark is kept a
// day, under a one-way digest of the number key (not the key itself).
type Erasure struct {
	NumberKey string
	At        time.Time
	// DryRun counts what would go and changes nothing.
	DryRun bool
}

// Erased is what an erasure removed (or, dry, would remove).
type Erased struct {
	// Entries are the entries removed, their bodies included, so that the
	// caller can delete what they name elsewhere.
	Entries []Entry
	// DataKeys counts the data keys removed (0 or 1).
	DataKeys int64
}

// AuditRecord is one entry of the compliance audit trail: opaque to the
// store but for its id, times and subject. The trail is one hash chain
// (per database, so per cluster): each record carries the hash of the one
// before it, so that a record edited, removed or slipped in breaks the
// chain (CheckAuditChain).
type AuditRecord struct {
	ID string
	At time.Time
	// Subject is the audit subject of the number (never its index key),
	// or "" for entries about no one number.
	Subject string
	Body    []byte
	// ExpiresAt is when retention ends for the record; zero: never.
	// Expire removes records from the start of the chain only, up to the
	// first one still retained.
	ExpiresAt time.Time

	// Set by the store when the record is appended:

	// Seq is the record's place in the chain, from 1.
	Seq int64
	// Prev is the Hash of the record before it (32 zero bytes for the
	// first record ever; the anchor's hash after retention).
	Prev []byte
	// Hash is AuditHash of the record.
	Hash []byte
	// Seal is what the appender's seal function made of Hash (a
	// signature), opaque to the store; empty for records appended
	// without one.
	Seal []byte
}

// AuditAnchor is where the retained audit chain starts: the place and
// hash of the last record that retention removed (Seq 0 and 32 zero bytes
// when none was).
type AuditAnchor struct {
	Seq  int64
	Hash []byte
	// At is when retention last moved the anchor.
	At time.Time
}

// Expired counts what one Expire removed.
type Expired struct {
	Entries, DataKeys, Erasures int64
	// Webhooks counts the webhook deliveries removed (delivered, dropped,
	// or past their expiry), Idempotency the idempotency keys.
	Webhooks, Idempotency int64
	// Audit counts the audit records removed from the start of the chain,
	// and AuditThrough is the place of the last of them (the new anchor).
	Audit, AuditThrough int64
}

// KindStats describes what is held of one kind.
type KindStats struct {
	Kind           string
	Count          int64
	Oldest, Newest time.Time // zero when Count is 0
}

// DefaultScope is the scope of entries written without one.
const DefaultScope = "default"

// scopeOf is e's scope, DefaultScope when it has none.
func scopeOf(e Entry) string {
	if e.Scope == "" {
		return DefaultScope
	}
	return e.Scope
}

// Position is a place in a listing: entries are listed newest first, by
// CreatedAt then ID (both descending).
type Position struct {
	CreatedAt time.Time
	ID        string
}

// IsZero reports whether p is the zero position: the start of a listing.
func (p Position) IsZero() bool { return p.ID == "" && p.CreatedAt.IsZero() }

// Before reports whether an entry at p comes after one at q in a listing,
// newest first (p is older).
func (p Position) Before(q Position) bool {
	if c := ms(p.CreatedAt) - ms(q.CreatedAt); c != 0 {
		return c < 0
	}
	return p.ID < q.ID
}

// PositionOf returns where e stands in a listing.
func PositionOf(e Entry) Position { return Position{CreatedAt: e.CreatedAt, ID: e.ID} }

// ListQuery says which entries List returns.
type ListQuery struct {
	// Kind and Scope select the entries (Scope empty: DefaultScope).
	Kind, Scope string
	// NumberKey, if set, selects one number's entries.
	NumberKey string
	// After, if set, keeps only entries created after it.
	After time.Time
	// From, if set, starts the listing after this position.
	From Position
	// Limit bounds the entries returned; at least 1.
	Limit int
}

// Store is the history store. Implementations are safe for concurrent use,
// also by several processes (a server and the privacy commands) or nodes
// sharing one database.
type Store interface {
	// Write stores b in one transaction: data keys are inserted, or
	// extended to the later expiry; entries are inserted, or replaced by a
	// higher version. Items of a number erased after they were made (an
	// entry's CreatedAt, a key's Since, before the erasure's At) are
	// refused.
	Write(ctx context.Context, b Batch) (Written, error)
	// Entries returns numberKey's entries, oldest first.
	Entries(ctx context.Context, numberKey string) ([]Entry, error)
	// List returns up to q.Limit entries that q selects, newest first (by
	// CreatedAt, then ID, both descending), from q.From on.
	List(ctx context.Context, q ListQuery) ([]Entry, error)
	// DataKey returns numberKey's data key, or ErrNotFound.
	DataKey(ctx context.Context, numberKey string) (DataKey, error)
	// RangeDataKeys calls fn with every data key, in no set order, until
	// fn returns an error (which it returns).
	RangeDataKeys(ctx context.Context, fn func(DataKey) error) error
	// SwapDataKey replaces numberKey's wrapped key old with new, keeping
	// its expiry; false if it is no longer old.
	SwapDataKey(ctx context.Context, numberKey string, old, new []byte) (bool, error)
	// Erase removes numberKey's entries and data key and marks the
	// erasure, in one transaction; dry, it only counts.
	Erase(ctx context.Context, e Erasure) (Erased, error)
	// Expire removes, in bulk, entries, data keys, webhook deliveries and
	// idempotency keys whose retention ended before now, erasure marks
	// older than a day, and the audit records
	// at the start of the chain whose retention ended (moving the
	// chain's anchor to the last of them, in the same transaction).
	Expire(ctx context.Context, now time.Time) (Expired, error)
	// AppendAudit adds one audit record at the end of the chain, without
	// a seal.
	AppendAudit(ctx context.Context, r AuditRecord) error
	// AppendAuditSealed adds r at the end of the chain, in one
	// transaction that reads the chain's last record: r gets the next
	// Seq, Prev and Hash, and Seal = seal(Hash) (seal may be nil). Nodes
	// and processes appending at once still make one chain. It returns r
	// as stored.
	AppendAuditSealed(ctx context.Context, r AuditRecord, seal func(hash []byte) []byte) (AuditRecord, error)
	// Audit returns the audit trail about subject, or all of it when
	// subject is "", in chain order.
	Audit(ctx context.Context, subject string) ([]AuditRecord, error)
	// AuditChain returns up to limit records of the chain after place
	// after, in chain order.
	AuditChain(ctx context.Context, after int64, limit int) ([]AuditRecord, error)
	// AuditAnchor returns where the retained chain starts.
	AuditAnchor(ctx context.Context) (AuditAnchor, error)
	// Stats describes what is held, by kind of entry.
	Stats(ctx context.Context) ([]KindStats, error)
	// StatsMatching describes the entries of kind whose body holds
	// marker (a field the writer put in clear, such as a legal basis).
	StatsMatching(ctx context.Context, kind string, marker []byte) (KindStats, error)
	// DataKeyStats describes the data keys held, by first use (Since).
	DataKeyStats(ctx context.Context) (KindStats, error)
	// AuditStats describes the audit trail, by the records' times.
	AuditStats(ctx context.Context) (KindStats, error)

	// Enqueue adds webhook deliveries to the queue, each unless its id is
	// held already, and returns how many were new.
	Enqueue(ctx context.Context, ds ...Delivery) (int, error)
	// ClaimDeliveries takes up to limit deliveries due at now that no one
	// holds, for owner, until now+lease: no other owner gets them until
	// then, unless the lease ends unsettled.
	ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// SettleDelivery records what became of a delivery owner claimed, and
	// releases it; false if owner no longer holds it (its lease ended and
	// another took it, or it was settled).
	SettleDelivery(ctx context.Context, id, owner string, s Settlement) (bool, error)
	// Delivery returns the delivery id and its state, or ErrNotFound.
	Delivery(ctx context.Context, id string) (Delivery, string, error)
	// DeliveryStats describes the deliveries pending whose event happened
	// by now (not those scheduled ahead), by the event's time.
	DeliveryStats(ctx context.Context, now time.Time) (KindStats, error)

	// ClaimIdempotency claims c.Key for a request: true if it is the
	// first (or the key's row expired, or its claim was left in flight
	// past its lock with the same body), false with the row that holds
	// the key otherwise.
	ClaimIdempotency(ctx context.Context, c IdempotencyClaim) (Idempotency, bool, error)
	// CompleteIdempotency keeps the answer to the request that claimed
	// key.
	CompleteIdempotency(ctx context.Context, key string, status int, response []byte) error
	// ReleaseIdempotency gives up a claim still in flight, so that the
	// next request with the key runs again.
	ReleaseIdempotency(ctx context.Context, key string) error

	// Backend names the backend: "embedded" or "postgres".
	Backend() string
	// Close releases the store.
	Close() error
}

// Cursor encodes p for a client to hand back (a listing's next_cursor):
// opaque, URL-safe.
func (p Position) Cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(ms(p.CreatedAt), 10) + "." + p.ID))
}

// ErrBadCursor means a cursor is not one Cursor made.
var ErrBadCursor = errors.New("history: not a cursor this server made")

// ParseCursor reads what Position.Cursor made; "" is the zero position.
func ParseCursor(s string) (Position, error) {
	if s == "" {
		return Position{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Position{}, ErrBadCursor
	}
	at, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" || len(id) > 64 {
		return Position{}, ErrBadCursor
	}
	return Position{CreatedAt: time.UnixMilli(n).UTC(), ID: id}, nil
}
