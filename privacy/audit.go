package privacy

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// AuditEntry records one export or erasure. It is kept in the history
// store (audit entries are never removed by ringproof) and holds no
// personal data: the number appears only as its audit Subject.
type AuditEntry struct {
	ID       string    `json:"id"`
	At       time.Time `json:"at"`
	Action   string    `json:"action"` // "export" or "erase"
	DryRun   bool      `json:"dry_run,omitempty"`
	Operator string    `json:"operator"`
	Via      string    `json:"via"`
	// Subject is Index.Subject of the number.
	Subject string `json:"subject"`
	// Counts are what was found (export) or deleted (erase), by kind.
	Counts map[string]int64 `json:"counts"`
}

// maxOperator bounds the operator name kept in the audit trail.
const maxOperator = 128

// audit appends an entry to the trail. Any run of digits long enough to be
// a number is masked out of the operator's name.
func (v *Vault) audit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	e.At = v.now().UTC()
	var r [4]byte
	mustRandom(r[:])
	e.ID = fmt.Sprintf("%020d-%s", e.At.UnixNano(), hex.EncodeToString(r[:]))
	e.Operator = Redact(strings.ToValidUTF8(e.Operator, "?"))
	if len(e.Operator) > maxOperator {
		e.Operator = e.Operator[:maxOperator]
	}
	if e.Operator == "" {
		e.Operator = "unknown"
	}
	val, err := json.Marshal(e)
	if err != nil {
		return e, err
	}
	if err := v.hist.AppendAudit(ctx, history.AuditRecord{ID: e.ID, At: e.At, Subject: e.Subject, Body: val}); err != nil {
		return e, fmt.Errorf("privacy: audit: %w", err)
	}
	return e, nil
}

// Audit returns the audit trail, oldest first: every entry when number is
// "", else the entries about number (E.164).
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
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b AuditEntry) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
