package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ringproof/ringproof/history"
)

// Export is everything held about one number, as `ringproof privacy
// export` prints it and GET /v1/privacy/export returns it.
type Export struct {
	Number        string    `json:"number"`
	ExportedAt    time.Time `json:"exported_at"`
	RetentionDays int       `json:"retention_days"`
	// DataKey says whether a data key is held for the number.
	DataKey bool `json:"data_key"`
	// Verifications are the number's verifications, oldest first, from
	// their history entries (which live the retention period, beyond the
	// records themselves).
	Verifications []ExportedVerification `json:"verifications"`
	// MaskingSessions are the masking sessions the number took part in,
	// oldest first (never the other party's number).
	MaskingSessions []RouteEntry `json:"masking_sessions"`
	// Held lists other keys named by the number's index key, by kind
	// (caller_id_leases, rate_limit_counters, inbound_index).
	Held map[string][]Held `json:"held"`
	// Audit is the trail of earlier exports and erasures of the number.
	Audit []AuditEntry `json:"audit"`
}

// ExportedVerification is one verification in an export.
type ExportedVerification struct {
	ID          string          `json:"id"`
	Method      string          `json:"method"`
	Status      string          `json:"status"`
	Reason      string          `json:"reason,omitempty"`
	CodeLength  int             `json:"code_length,omitempty"`
	Attempts    int             `json:"attempts"`
	MaxAttempts int             `json:"max_attempts"`
	CallerIDs   []string        `json:"caller_ids,omitempty"`
	DialNumber  string          `json:"dial_number,omitempty"`
	Platform    string          `json:"platform,omitempty"`
	Reference   string          `json:"reference,omitempty"`
	Consent     *Consent        `json:"consent,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	ExpiresAt   time.Time       `json:"expires_at"`
	Events      json.RawMessage `json:"events,omitempty"`
	// Unreadable says why the personal data (reference, consent) is not
	// shown, when it cannot be decrypted.
	Unreadable string `json:"unreadable,omitempty"`
}

// Held is one key of a Place in an export: the part of its name besides
// the prefix and the number key (a caller ID, an hour, a dial number) and
// its value.
type Held struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Export gathers everything held about number (E.164) and records the
// export in the audit trail.
func (v *Vault) Export(ctx context.Context, number string, by Actor) (*Export, error) {
	if err := CheckOperator(by.Operator); err != nil {
		return nil, err
	}
	nk := v.idx.Of(number)
	out := &Export{
		Number:          number,
		ExportedAt:      v.now().UTC(),
		RetentionDays:   int(v.retention / (24 * time.Hour)),
		Verifications:   []ExportedVerification{},
		MaskingSessions: []RouteEntry{},
		Held:            map[string][]Held{},
	}
	key, err := v.Key(ctx, nk, false)
	switch {
	case err == nil:
		out.DataKey = true
	case errors.Is(err, ErrNoKey):
	default:
		return nil, fmt.Errorf("privacy: export: %w", err)
	}
	entries, err := v.historyOf(ctx, nk)
	if err != nil {
		return nil, fmt.Errorf("privacy: export: %w", err)
	}
	for _, he := range entries {
		switch he.Kind {
		case history.KindVerification:
			var e Entry
			if err := json.Unmarshal(he.Body, &e); err != nil {
				return nil, fmt.Errorf("privacy: export: history entry %s: %w", he.ID, err)
			}
			out.Verifications = append(out.Verifications, v.exported(&e, key, number))
		case history.KindMaskingRoute:
			var r RouteEntry
			if err := json.Unmarshal(he.Body, &r); err != nil {
				return nil, fmt.Errorf("privacy: export: history entry %s: %w", he.ID, err)
			}
			out.MaskingSessions = append(out.MaskingSessions, r)
		}
	}
	slices.SortStableFunc(out.Verifications, func(a, b ExportedVerification) int { return a.CreatedAt.Compare(b.CreatedAt) })

	for _, p := range v.places {
		held, err := v.held(ctx, p, nk)
		if err != nil {
			return nil, fmt.Errorf("privacy: export: %w", err)
		}
		if len(held) > 0 {
			out.Held[p.Kind] = held
		}
	}
	if out.Audit, err = v.Audit(ctx, number); err != nil {
		return nil, err
	}
	counts := map[string]int64{"verifications": int64(len(out.Verifications)), "masking_sessions": int64(len(out.MaskingSessions))}
	for kind, h := range out.Held {
		counts[kind] = int64(len(h))
	}
	if _, err := v.audit(ctx, AuditEntry{Action: "export", Operator: by.Operator, Via: by.Via,
		Subject: v.idx.Subject(number), Counts: counts}); err != nil {
		return nil, err
	}
	return out, nil
}

// historyOf returns nk's history: the history store's entries, with those
// still in the outbox in place of older versions, oldest first.
func (v *Vault) historyOf(ctx context.Context, nk string) ([]history.Entry, error) {
	stored, err := v.hist.Entries(ctx, nk)
	if err != nil {
		return nil, err
	}
	pending, err := v.st.List(ctx, queuedPrefix(nk))
	if err != nil {
		return nil, err
	}
	byID := make(map[string]int, len(stored))
	for i, e := range stored {
		byID[e.ID] = i
	}
	for _, kv := range pending {
		p, err := decodePending(kv.Value)
		if err != nil {
			continue
		}
		e, _ := p.entry()
		if i, ok := byID[e.ID]; !ok {
			byID[e.ID] = len(stored)
			stored = append(stored, e)
		} else if stored[i].Version < e.Version {
			stored[i] = e
		}
	}
	slices.SortStableFunc(stored, func(a, b history.Entry) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return stored, nil
}

// exported turns a history entry into its export, decrypting its personal
// data with key (nil if the number has none).
func (v *Vault) exported(e *Entry, key *Key, number string) ExportedVerification {
	x := ExportedVerification{
		ID: e.ID, Method: e.Method, Status: e.Status, Reason: e.Reason,
		CodeLength: e.CodeLength, Attempts: e.Attempts, MaxAttempts: e.MaxAttempts,
		DialNumber: e.DialNumber, Platform: e.Platform,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, ExpiresAt: e.ExpiresAt, Events: e.Events,
	}
	if !e.Final && !v.now().Before(e.ExpiresAt) {
		x.Status, x.Reason = "expired", "expired"
	}
	if key == nil {
		x.Unreadable = "the number's data key is gone"
		return x
	}
	p, err := key.OpenPersonal(e.ID, e.Sealed)
	switch {
	case err != nil:
		x.Unreadable = "personal data does not decrypt"
		v.log.Warn("export: personal data does not decrypt", "id", e.ID, "err", err)
	case p.Number != number:
		x.Unreadable = "personal data belongs to another number"
	default:
		x.Reference, x.Consent = p.Reference, p.Consent
		if p.CallerID != "" {
			x.CallerIDs = []string{p.CallerID}
		}
	}
	return x
}

// held lists the keys of place p named by nk.
func (v *Vault) held(ctx context.Context, p Place, nk string) ([]Held, error) {
	var out []Held
	if !p.Last {
		kvs, err := v.st.List(ctx, p.Prefix+nk+"/")
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			val := string(kv.Value)
			switch {
			case p.Counter:
				val = strconv.FormatInt(kv.Version, 10)
			case p.Refs:
				val = "" // other keys, which name others
			}
			out = append(out, Held{Name: kv.Key[len(p.Prefix)+len(nk)+1:], Value: val})
		}
		return out, nil
	}
	keys, err := v.lastKeys(ctx, p, nk)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		val, _, err := v.st.Get(ctx, k)
		if err != nil {
			continue // gone meanwhile
		}
		out = append(out, Held{Name: strings.TrimSuffix(k[len(p.Prefix):], "/"+nk), Value: string(val)})
	}
	return out, nil
}

// lastKeys lists the keys under p.Prefix that end in "/" + nk.
func (v *Vault) lastKeys(ctx context.Context, p Place, nk string) ([]string, error) {
	keys, err := v.st.Keys(ctx, p.Prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		if strings.HasSuffix(k, "/"+nk) {
			out = append(out, k)
		}
	}
	return out, nil
}
