package privacy

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ringproof/ringproof/history"
)

// Actor is who asks for an export or an erasure, as the audit trail
// records it.
type Actor struct {
	// Operator names the person: --operator, $USER or $LOGNAME on the
	// command line; on the API, the admin key's name (http.admin_keys),
	// or its place ("admin_keys[0]") when it has none.
	Operator string
	// Via is "cli" or "api".
	Via string
}

// ErrNoOperator means an export or erasure was asked for without saying
// who asks: the audit trail must name someone.
var ErrNoOperator = errors.New("privacy: no operator: the audit trail must name who acts")

// CheckOperator reports what keeps name from being recorded as an
// operator: empty, over 128 bytes, or holding a control character or
// invalid UTF-8.
func CheckOperator(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return ErrNoOperator
	case len(name) > maxOperator:
		return fmt.Errorf("privacy: operator name is %d bytes; at most %d", len(name), maxOperator)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return errors.New("privacy: operator name holds a control character or invalid UTF-8")
	}
	return nil
}

// AuditEntry records one export or erasure (or retention removing old
// entries of the trail). It is kept in the history store for
// privacy.audit_retention_days, as a link of the audit chain, and holds no
// personal data: the number appears only as its audit Subject.
type AuditEntry struct {
	ID       string    `json:"id"`
	At       time.Time `json:"at"`
	Action   string    `json:"action"` // "export", "erase" or "expire"
	DryRun   bool      `json:"dry_run,omitempty"`
	Operator string    `json:"operator"`
	Via      string    `json:"via"`
	// Subject is Index.Subject of the number.
	Subject string `json:"subject"`
	// Counts are what was found (export) or deleted (erase), by kind.
	Counts map[string]int64 `json:"counts"`
	// Receipt is an erasure's signed receipt.
	Receipt *Receipt `json:"receipt,omitempty"`
	// Through is, for "expire", the place of the last entry removed.
	Through int64 `json:"through,omitempty"`

	// Seq and Hash are the entry's place and hash in the chain (not part
	// of what is stored: the chain holds them).
	Seq  int64  `json:"seq,omitempty"`
	Hash string `json:"hash,omitempty"`
}

// maxOperator bounds the operator name kept in the audit trail.
const maxOperator = 128

// sealDomain is what audit seals sign under.
const sealDomain = "ringproof audit seal v1"

// newAuditID returns a new entry id, ordered by time.
func (v *Vault) newAuditID(at time.Time) string {
	var r [4]byte
	mustRandom(r[:])
	return fmt.Sprintf("%020d-%s", at.UnixNano(), hex.EncodeToString(r[:]))
}

// audit appends an entry to the chain, sealed with the vault's signing
// key. e.ID and e.At are set unless already. Any run of digits long
// enough to be a number is masked out of the operator's name.
func (v *Vault) audit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	if e.At.IsZero() {
		e.At = v.now().UTC()
	}
	if e.ID == "" {
		e.ID = v.newAuditID(e.At)
	}
	e.Operator = Redact(strings.ToValidUTF8(e.Operator, "?"))
	if len(e.Operator) > maxOperator {
		e.Operator = e.Operator[:maxOperator]
	}
	if e.Operator == "" {
		return e, ErrNoOperator
	}
	e.Seq, e.Hash = 0, ""
	val, err := json.Marshal(e)
	if err != nil {
		return e, err
	}
	rec, err := v.hist.AppendAuditSealed(ctx, history.AuditRecord{ID: e.ID, At: e.At, Subject: e.Subject, Body: val,
		ExpiresAt: e.At.Add(v.auditRetention)}, v.seal)
	if err != nil {
		return e, fmt.Errorf("privacy: audit: %w", err)
	}
	e.Seq, e.Hash = rec.Seq, hex.EncodeToString(rec.Hash)
	return e, nil
}

// seal signs an audit entry's chain hash: the signing key's id (8 bytes)
// then the Ed25519 signature.
func (v *Vault) seal(hash []byte) []byte {
	id, _ := hex.DecodeString(v.signer.Verifier().KeyID())
	return append(id, v.signer.sign(sealDomain, hash)...)
}

// checkSeal checks an audit record's seal with key.
func checkSeal(key Verifier, r history.AuditRecord) error {
	if len(r.Seal) != keyIDLen+64 {
		return fmt.Errorf("a seal is %d bytes, not %d", keyIDLen+64, len(r.Seal))
	}
	if id := hex.EncodeToString(r.Seal[:keyIDLen]); id != key.KeyID() {
		return fmt.Errorf("sealed by the key %s, not the configured privacy.signing_key (%s)", id, key.KeyID())
	}
	return key.verify(sealDomain, r.Hash, r.Seal[keyIDLen:])
}

// Audit returns the audit trail, in chain order: every entry when number
// is "", else the entries about number (E.164).
func (v *Vault) Audit(ctx context.Context, number string) ([]AuditEntry, error) {
	subject := ""
	if number != "" {
		subject = v.idx.Subject(number)
	}
	recs, err := v.hist.Audit(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("privacy: audit: %w", err)
	}
	out := make([]AuditEntry, 0, len(recs))
	for _, r := range recs {
		var e AuditEntry
		if err := json.Unmarshal(r.Body, &e); err != nil {
			return nil, fmt.Errorf("privacy: audit entry %s: %w", r.ID, err)
		}
		e.Seq, e.Hash = r.Seq, hex.EncodeToString(r.Hash)
		out = append(out, e)
	}
	return out, nil
}

// AuditCheck is what VerifyAudit found.
type AuditCheck struct {
	// OK says the chain holds from its anchor to its end.
	OK bool `json:"ok"`
	// Entries counts the entries checked; First and Last are their
	// places.
	Entries int64 `json:"entries"`
	First   int64 `json:"first,omitempty"`
	Last    int64 `json:"last,omitempty"`
	// Head is the hash of the last entry. Keep it: a later check whose
	// chain no longer passes through it shows that entries were cut off
	// the end, which the chain alone cannot show.
	Head string `json:"head,omitempty"`
	// Anchor is where the retained chain starts, when retention removed
	// its beginning: the place and hash of the last entry removed.
	Anchor *AuditAnchor `json:"anchor,omitempty"`
	// Unsealed counts the first entries, written before entries were
	// sealed.
	Unsealed int64 `json:"unsealed,omitempty"`
	// KeyID is the id of the public key seals were checked with.
	KeyID string `json:"key_id"`
	// Broken is the first broken link.
	Broken *BrokenLink `json:"broken,omitempty"`
}

// AuditAnchor is where the retained chain starts.
type AuditAnchor struct {
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	At   time.Time `json:"at"`
}

// BrokenLink is the first entry where the chain does not hold.
type BrokenLink struct {
	Seq     int64     `json:"seq"`
	ID      string    `json:"id,omitempty"`
	At      time.Time `json:"at,omitzero"`
	Problem string    `json:"problem"`
}

// VerifyAudit walks the whole audit chain and checks every link: each
// entry's hash against its content, its link to the entry before, its
// place, and its seal against the vault's signing key. It reports the
// first broken link; an error means the trail could not be read.
func (v *Vault) VerifyAudit(ctx context.Context) (*AuditCheck, error) {
	key := v.Verifier()
	c, err := history.CheckAuditChain(ctx, v.hist, func(r history.AuditRecord) error { return checkSeal(key, r) })
	if err != nil {
		return nil, fmt.Errorf("privacy: audit: %w", err)
	}
	out := &AuditCheck{OK: c.Broken == nil, Entries: c.Entries, First: c.First, Last: c.Last,
		Unsealed: c.Unsealed, KeyID: key.KeyID()}
	if len(c.Head) > 0 {
		out.Head = hex.EncodeToString(c.Head)
	}
	if c.Anchor.Seq > 0 {
		out.Anchor = &AuditAnchor{Seq: c.Anchor.Seq, Hash: hex.EncodeToString(c.Anchor.Hash), At: c.Anchor.At}
	}
	if b := c.Broken; b != nil {
		out.Broken = &BrokenLink{Seq: b.Seq, ID: b.ID, At: b.At, Problem: b.Problem}
	}
	return out, nil
}

// Expire removes from the history store what retention no longer keeps
// (history.Store.Expire) and, when that took entries from the start of
// the audit trail, records it in the trail: an "expire" entry naming the
// last place removed.
func (v *Vault) Expire(ctx context.Context, now time.Time) (history.Expired, error) {
	x, err := v.hist.Expire(ctx, now)
	if err != nil || x.Audit == 0 {
		return x, err
	}
	_, err = v.audit(ctx, AuditEntry{Action: "expire", Operator: "ringproof", Via: "retention",
		Counts: map[string]int64{"audit": x.Audit}, Through: x.AuditThrough})
	return x, err
}
