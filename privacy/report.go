package privacy

import (
	"context"
	"fmt"
	"time"

	"github.com/ringproof/ringproof/history"
)

// Kinds of personal data a holdings report counts.
const (
	HeldVerifications = "verification_history"
	HeldConsent       = "consent"
	HeldMasking       = "masking_sessions"
	HeldDataKeys      = "data_keys"
	HeldAudit         = "audit"
)

// Holding is what is held of one kind of personal data.
type Holding struct {
	Kind  string `json:"kind"`
	Count int64  `json:"count"`
	// Oldest and Newest are the times of the oldest and newest entries
	// (when each verification or session began, when each data key was
	// first used, when each audit entry was written); absent when Count
	// is 0.
	Oldest time.Time `json:"oldest,omitzero"`
	Newest time.Time `json:"newest,omitzero"`
	// RetentionDays is how long it is kept; Retention says from when.
	RetentionDays int    `json:"retention_days"`
	Retention     string `json:"retention"`
	// Where says where it lives.
	Where string `json:"where"`
}

// Report is what a deployment holds, by kind of personal data.
type Report struct {
	At time.Time `json:"at"`
	// Holdings are, in order: verification history, consent, masking
	// sessions, data keys, audit.
	Holdings []Holding `json:"holdings"`
}

// Report counts what the history store holds of each kind of personal
// data, with the oldest and newest entry of each and the retention that
// applies. Counts are of the history store: a verification's live record
// in the state store (minutes) is also in its history.
func (v *Vault) Report(ctx context.Context) (*Report, error) {
	where := "history store (" + v.hist.Backend() + "): "
	days := int(v.retention / (24 * time.Hour))
	auditDays := int(v.auditRetention / (24 * time.Hour))
	byKind, err := v.hist.Stats(ctx)
	if err != nil {
		return nil, fmt.Errorf("privacy: report: %w", err)
	}
	kind := func(k string) history.KindStats {
		for _, s := range byKind {
			if s.Kind == k {
				return s
			}
		}
		return history.KindStats{Kind: k}
	}
	consent, err := v.hist.StatsMatching(ctx, history.KindVerification, []byte(`"legal_basis":"`+LegalBasisConsent+`"`))
	if err != nil {
		return nil, fmt.Errorf("privacy: report: %w", err)
	}
	keys, err := v.hist.DataKeyStats(ctx)
	if err != nil {
		return nil, fmt.Errorf("privacy: report: %w", err)
	}
	audit, err := v.hist.AuditStats(ctx)
	if err != nil {
		return nil, fmt.Errorf("privacy: report: %w", err)
	}
	holding := func(name string, s history.KindStats, days int, from, at string) Holding {
		return Holding{Kind: name, Count: s.Count, Oldest: s.Oldest, Newest: s.Newest, RetentionDays: days, Retention: from, Where: where + at}
	}
	return &Report{At: v.now().UTC(), Holdings: []Holding{
		holding(HeldVerifications, kind(history.KindVerification), days, "from each verification's creation (privacy.retention_days)",
			"history_entries, kind verification; personal data sealed with the number's data key"),
		holding(HeldConsent, consent, days, "as the verification it came with (privacy.retention_days)",
			"inside the sealed personal data of verification history entries"),
		holding(HeldMasking, kind(history.KindMaskingRoute), days, "from each session's creation (privacy.retention_days)",
			"history_entries, kind masking_route; never the other party's number"),
		holding(HeldDataKeys, keys, days, "from the number's latest verification or session (privacy.retention_days); erasure destroys it",
			"history_data_keys, wrapped with privacy.encryption_key"),
		holding(HeldAudit, audit, auditDays, "from each entry's writing (privacy.audit_retention_days)",
			"history_audit, a hash chain; the number only as its keyed hash"),
	}}, nil
}
