package privacy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode"
)

// Personal is the personal data of one verification. It is kept only
// sealed with the number's data key (Key.SealPersonal): in the
// verification's record while it lives, and in its history entry for the
// retention period.
type Personal struct {
	// Number is the verified number, E.164.
	Number string `json:"number"`
	// CallerID is the caller ID a flash call presented to the number: its
	// last digits are the code.
	CallerID string `json:"caller_id,omitempty"`
	// Code is the code of a method that must say it again on a call any
	// node may answer (inbound voice); other methods keep only its keyed
	// hash. Never in the history entry.
	Code string `json:"code,omitempty"`
	// Reference is the application's own reference for the verification:
	// often a user id, so treated as personal.
	Reference string `json:"reference,omitempty"`
	// Consent is what the application says the person agreed to.
	Consent *Consent `json:"consent,omitempty"`
}

// Consent records the consent an application obtained before verifying a
// number: for what purpose, and when it was given.
type Consent struct {
	Purpose string    `json:"purpose"`
	GivenAt time.Time `json:"given_at"`
}

// MaxPurpose is the longest consent purpose accepted, in bytes.
const MaxPurpose = 256

// Check reports what is wrong with c as of now: the JSON field at fault
// ("consent.purpose", "consent.given_at") and why, or "", "" when nothing
// is. A consent must name its purpose (at most 256 bytes of printable
// text) and when it was given (not in the future, within a minute's clock
// skew).
func (c *Consent) Check(now time.Time) (field, problem string) {
	switch {
	case strings.TrimSpace(c.Purpose) == "":
		return "consent.purpose", "consent.purpose is required"
	case len(c.Purpose) > MaxPurpose:
		return "consent.purpose", "consent.purpose is at most 256 bytes"
	case strings.ContainsFunc(c.Purpose, func(r rune) bool { return !unicode.IsPrint(r) }):
		return "consent.purpose", "consent.purpose must be printable text"
	case c.GivenAt.IsZero():
		return "consent.given_at", "consent.given_at is required (RFC 3339 time)"
	case c.GivenAt.After(now.Add(time.Minute)):
		return "consent.given_at", "consent.given_at is in the future"
	}
	return "", ""
}

// Entry is what the history keeps about one verification of a number, for
// the retention period: everything an export returns once the
// verification's own record has expired. Its writer (package verify) puts
// it in the outbox in the same transaction as every change to the record,
// so the two agree; only Sealed holds personal data, sealed with the
// number's data key (Key.SealPersonal), without the code.
type Entry struct {
	ID     string `json:"id"`
	Method string `json:"method"`
	Status string `json:"status"`
	// Final says Status can no longer change; a verification not final by
	// ExpiresAt has expired.
	Final       bool      `json:"final,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	CodeLength  int       `json:"code_length,omitempty"`
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts"`
	DialNumber  string    `json:"dial_number,omitempty"`
	Platform    string    `json:"platform,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	// Events is the verification's event list, as its API shows it.
	Events json.RawMessage `json:"events,omitempty"`
	// Keys are the state store keys that hold this verification while it
	// lives, by kind ("verifications": its record, "inbound_index": ...):
	// Erase deletes them and counts them under that kind.
	Keys map[string]string `json:"keys,omitempty"`
	// Sealed is the verification's Personal data, sealed.
	Sealed []byte `json:"sealed"`
	// LegalBasis says, in clear, on what ground the verification's
	// personal data is held when the application said so:
	// LegalBasisConsent when the request carried a consent (itself
	// sealed). The holdings report counts it.
	LegalBasis string `json:"legal_basis,omitempty"`
	// NextID and PreviousID are the verification's links in a fallback
	// chain; Test marks a test number's. For listings.
	NextID     string `json:"next_id,omitempty"`
	PreviousID string `json:"previous_id,omitempty"`
	Test       bool   `json:"test,omitempty"`
}

// LegalBasisConsent is Entry.LegalBasis of a verification made with the
// person's consent.
const LegalBasisConsent = "consent"

// Place is where another package keeps keys named by a number key, so that
// Export shows them and Erase deletes them. With Last false the keys are
// Prefix + number key + "/" + anything (found by prefix); with Last true
// they are Prefix + anything + "/" + number key (found by listing every key
// under Prefix: keep such places small).
type Place struct {
	// Kind names these keys in exports and erasure counts, such as
	// "caller_id_leases".
	Kind   string
	Prefix string
	Last   bool
	// Counter marks keys that count by their version (store.IfFewer): an
	// export shows the count as the value. Only with Last false.
	Counter bool
	// Refs marks keys whose value is a JSON list of other store keys that
	// hold the number too (another party's route to it, say): Erase
	// deletes those with them, and Export shows only the keys' names.
	// Only with Last false.
	Refs bool
}

// Kinds of data the vault itself keeps, as export and erasure count them.
const (
	KindDataKeys = "data_keys"
	KindHistory  = "history"
	KindOutbox   = "outbox"
)

// State store layout of the vault, relative to the store prefix. Every key
// but the tombstones' and the guards' is named by the number key <nk>.
const (
	dataKeyPrefix = "datakey/" // datakey/<nk>: the live copy of the wrapped data key
	erasedPrefix  = "erased/"  // erased/<random>: an erasure tombstone
	guardPrefix   = "erasing/" // erasing/<digest of nk>: a number being erased
)

func dataKeyKey(nk string) string { return dataKeyPrefix + nk }

// guardKey is the key that marks nk as being erased: under a digest of the
// number key, not the key itself, so that it names nothing once the
// erasure is over.
func guardKey(nk string) string {
	sum := sha256.Sum256([]byte("ringproof erasing\x00" + nk))
	return guardPrefix + hex.EncodeToString(sum[:16])
}

// RouteEntry is what the history keeps about one of a number's masking
// routes: the session, its proxy number (ringproof's own) and its times;
// never the other party.
type RouteEntry struct {
	Session   string    `json:"session"`
	Proxy     string    `json:"proxy_number"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// EndedAt is when the session was ended before its expiry, if it was.
	EndedAt *time.Time `json:"ended_at,omitempty"`
}
