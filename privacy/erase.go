package privacy

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ringproof/ringproof/store"
)

// Erasure is the outcome of Erase.
type Erasure struct {
	// Number is the erased number, masked.
	Number string `json:"number"`
	DryRun bool   `json:"dry_run"`
	// Counts are the keys deleted (or, in a dry run, that would be), by
	// kind: data_keys, history, verifications, inbound_index,
	// caller_id_leases, rate_limit_counters.
	Counts map[string]int64 `json:"counts"`
	// CompactedRevision is the store revision up to which history was
	// discarded after the deletion.
	CompactedRevision int64     `json:"compacted_revision,omitempty"`
	At                time.Time `json:"at"`
}

// Erase deletes everything held about number (E.164) and records the
// erasure in the audit trail. In order:
//
//  1. the number's data key (crypto-shredding: whatever copy of its
//     records survives anywhere, a backup or an old revision, cannot be
//     decrypted any more);
//  2. the keys its history entries list (the verification records, ...);
//  3. its history, and the keys of every Place;
//  4. a tombstone, erased/<random>, that every node's WatchErasures sees:
//     nodes drop their cached data keys and hang up their calls whose
//     records are gone;
//  5. the store's history up to now (Compact), so that no deleted value
//     can be read at an old revision.
//
// Neither the tombstone nor the audit entry names the number or its index
// key. With dryRun it deletes nothing and counts what it would delete.
// Erasing a number that has nothing stored is not an error.
func (v *Vault) Erase(ctx context.Context, number string, dryRun bool, by Actor) (*Erasure, error) {
	nk := v.idx.Of(number)
	out := &Erasure{Number: Mask(number), DryRun: dryRun, Counts: map[string]int64{}}

	kvs, err := v.st.List(ctx, historyPrefix+nk+"/")
	if err != nil {
		return nil, fmt.Errorf("privacy: erase: %w", err)
	}
	listed := map[string][]string{} // kind → keys, from the history entries
	for _, kv := range kvs {
		var e Entry
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			return nil, fmt.Errorf("privacy: erase: history entry %s: %w", kv.Key, err)
		}
		for kind, key := range e.Keys {
			if !slices.Contains(listed[kind], key) {
				listed[kind] = append(listed[kind], key)
			}
		}
	}
	if dryRun {
		err = v.count(ctx, out.Counts, nk, len(kvs), listed)
	} else {
		err = v.erase(ctx, out, nk, listed)
	}
	if err != nil {
		return nil, fmt.Errorf("privacy: erase: %w", err)
	}
	out.At = v.now().UTC()
	if _, err := v.audit(ctx, AuditEntry{Action: "erase", DryRun: dryRun, Operator: by.Operator, Via: by.Via,
		Subject: v.idx.Subject(number), Counts: out.Counts}); err != nil {
		return out, err
	}
	return out, nil
}

// erase carries out Erase's steps 1 to 5.
func (v *Vault) erase(ctx context.Context, out *Erasure, nk string, listed map[string][]string) error {
	n, err := v.st.DeleteKeys(ctx, []string{dataKeyKey(nk)})
	if err != nil {
		return err
	}
	out.Counts[KindDataKeys] = n
	v.Forget(nk)
	for _, kind := range slices.Sorted(maps.Keys(listed)) {
		n, err := v.st.DeleteKeys(ctx, listed[kind])
		if err != nil {
			return err
		}
		out.Counts[kind] += n
	}
	if out.Counts[KindHistory], err = v.st.DeletePrefix(ctx, historyPrefix+nk+"/"); err != nil {
		return err
	}
	for _, p := range v.places {
		var n int64
		if p.Last {
			keys, err := v.lastKeys(ctx, p, nk)
			if err != nil {
				return err
			}
			n, err = v.st.DeleteKeys(ctx, keys)
			if err != nil {
				return err
			}
		} else if n, err = v.st.DeletePrefix(ctx, p.Prefix+nk+"/"); err != nil {
			return err
		}
		out.Counts[p.Kind] += n
	}
	var id [16]byte
	mustRandom(id[:])
	stone, _ := json.Marshal(map[string]time.Time{"at": v.now().UTC()})
	if err := v.st.Put(ctx, erasedPrefix+hex.EncodeToString(id[:]), stone, tombstoneTTL); err != nil {
		return err
	}
	if out.CompactedRevision, err = v.st.Compact(ctx); err != nil {
		return err
	}
	return nil
}

// count fills counts with what erase would delete.
func (v *Vault) count(ctx context.Context, counts map[string]int64, nk string, history int, listed map[string][]string) error {
	_, _, err := v.st.Get(ctx, dataKeyKey(nk))
	switch {
	case err == nil:
		counts[KindDataKeys] = 1
	case errors.Is(err, store.ErrNotFound):
		counts[KindDataKeys] = 0
	default:
		return err
	}
	counts[KindHistory] = int64(history)
	seen := map[string]bool{}
	for kind, keys := range listed {
		counts[kind] += 0
		for _, k := range keys {
			if _, _, err := v.st.Get(ctx, k); err == nil && !seen[k] {
				counts[kind]++
				seen[k] = true
			}
		}
	}
	for _, p := range v.places {
		var keys []string
		var err error
		if p.Last {
			keys, err = v.lastKeys(ctx, p, nk)
		} else {
			keys, err = v.st.Keys(ctx, p.Prefix+nk+"/")
		}
		if err != nil {
			return err
		}
		counts[p.Kind] += 0
		for _, k := range keys {
			if !seen[k] {
				counts[p.Kind]++
				seen[k] = true
			}
		}
	}
	return nil
}
