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

	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/store"
)

// Erasure is the outcome of Erase.
type Erasure struct {
	// Number is the erased number, masked.
	Number string `json:"number"`
	DryRun bool   `json:"dry_run"`
	// Counts are what was deleted (or, in a dry run, would be), by kind:
	// data_keys, history, verifications, inbound_index, caller_id_leases,
	// rate_limit_counters, masking_routes.
	Counts map[string]int64 `json:"counts"`
	// Stores are what was deleted, by store ("history_store",
	// "state_store") then kind: Counts adds them up.
	Stores map[string]map[string]int64 `json:"stores,omitempty"`
	// Receipt is the signed receipt of the erasure (none for a dry run).
	Receipt *Receipt `json:"receipt,omitempty"`
	// CompactedRevision is the state store revision up to which its
	// history was discarded after the deletion.
	CompactedRevision int64     `json:"compacted_revision,omitempty"`
	At                time.Time `json:"at"`
}

// Erase deletes everything held about number (E.164), in the history store
// and the state store, and records the erasure in the audit trail. In
// order:
//
//  1. it marks the number as being erased (erasing/<digest>, until 2 s
//     after the erasure): no new record of it is stored meanwhile (Write
//     waits), so none can slip in with its old data key;
//  2. in the history store, in one transaction, it deletes the number's
//     data key (crypto-shredding: whatever copy of its data survives
//     anywhere, a backup or an old revision, cannot be decrypted any
//     more) and its history, and leaves a mark that refuses any late
//     write of what the number's data made before now;
//  3. in the state store, the live copy of the data key, the entries still
//     in the outbox, the keys the history names (the live records, inbound
//     index keys…) and the keys of every Place (caller-ID leases, rate
//     limits, masking routes);
//  4. a tombstone, erased/<random>, that every node's WatchErasures sees:
//     nodes drop their cached data keys and hang up their calls whose
//     records are gone;
//  5. the state store's history up to now (Compact), so that no deleted
//     value can be read at an old revision.
//
// Neither the tombstone, the guard nor the audit entry names the number or
// its index key. With dryRun it deletes nothing and counts what it would
// delete. Erasing a number that has nothing stored is not an error.
func (v *Vault) Erase(ctx context.Context, number string, dryRun bool, by Actor) (*Erasure, error) {
	if err := CheckOperator(by.Operator); err != nil {
		return nil, err
	}
	nk := v.idx.Of(number)
	out := &Erasure{Number: Mask(number), DryRun: dryRun, Counts: map[string]int64{}}
	at := v.now().UTC()
	if !dryRun {
		if err := v.st.Put(ctx, guardKey(nk), []byte{'1'}, guardTTL); err != nil {
			return nil, fmt.Errorf("privacy: erase: %w", err)
		}
	}
	pending, err := v.st.List(ctx, queuedPrefix(nk))
	if err != nil {
		return nil, fmt.Errorf("privacy: erase: %w", err)
	}
	erased, err := v.hist.Erase(ctx, history.Erasure{NumberKey: nk, At: at, DryRun: dryRun})
	if err != nil {
		return nil, fmt.Errorf("privacy: erase: %w", err)
	}
	listed := map[string][]string{} // kind → state store keys, from the history
	ids := map[string]bool{}
	note := func(id string, body []byte) {
		ids[id] = true
		var e Entry
		if json.Unmarshal(body, &e) != nil {
			return
		}
		for kind, key := range e.Keys {
			if !slices.Contains(listed[kind], key) {
				listed[kind] = append(listed[kind], key)
			}
		}
	}
	for _, e := range erased.Entries {
		note(e.ID, e.Body)
	}
	for _, kv := range pending {
		if p, err := decodePending(kv.Value); err == nil {
			note(p.ID, p.Body)
		}
	}
	out.Counts[KindHistory] = int64(len(ids))
	out.Counts[KindDataKeys] = erased.DataKeys
	out.Stores = map[string]map[string]int64{
		StoreHistory: {KindHistory: int64(len(erased.Entries)), KindDataKeys: erased.DataKeys},
		StoreState:   {},
	}
	if dryRun {
		err = v.count(ctx, out.Counts, nk, listed)
	} else {
		err = v.erase(ctx, out, nk, listed)
	}
	if err != nil {
		return nil, fmt.Errorf("privacy: erase: %w", err)
	}
	out.At = at
	if dryRun {
		out.Stores = nil
	}
	entry := AuditEntry{Action: "erase", DryRun: dryRun, Operator: by.Operator, Via: by.Via,
		Subject: v.idx.Subject(number), Counts: out.Counts, At: v.now().UTC()}
	entry.ID = v.newAuditID(entry.At)
	if !dryRun {
		out.Receipt = v.receipt(entry, out)
		entry.Receipt = out.Receipt
	}
	if _, err := v.audit(ctx, entry); err != nil {
		return out, err
	}
	if !dryRun {
		v.lifting.Add(1)
		go func() {
			defer v.lifting.Done()
			v.lift(context.WithoutCancel(ctx), nk)
		}()
	}
	return out, nil
}

// lift removes nk's erasure guard, guardLinger after the erasure: a write
// that read the number's old data key before the erasure began has long
// committed or failed by then. Should it fail, the guard's lease ends it.
func (v *Vault) lift(ctx context.Context, nk string) {
	t := time.NewTimer(guardLinger)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	if _, err := v.st.DeleteKeys(ctx, []string{guardKey(nk)}); err != nil {
		v.log.Warn("erase: the guard stays until its lease ends", "err", err)
	}
}

// erase carries out Erase's steps 3 to 5.
func (v *Vault) erase(ctx context.Context, out *Erasure, nk string, listed map[string][]string) error {
	n, err := v.st.DeleteKeys(ctx, []string{dataKeyKey(nk)})
	if err != nil {
		return err
	}
	out.Counts[KindDataKeys] = max(out.Counts[KindDataKeys], n)
	state := out.Stores[StoreState]
	state[KindDataKeys] = n
	v.Forget(nk)
	if state[KindOutbox], err = v.st.DeletePrefix(ctx, queuedPrefix(nk)); err != nil {
		return err
	}
	for _, kind := range slices.Sorted(maps.Keys(listed)) {
		n, err := v.st.DeleteKeys(ctx, listed[kind])
		if err != nil {
			return err
		}
		out.Counts[kind] += n
		state[kind] += n
	}
	for _, p := range v.places {
		var n int64
		if p.Refs {
			refs, err := v.refs(ctx, p, nk)
			if err != nil {
				return err
			}
			if n, err = v.st.DeleteKeys(ctx, refs); err != nil {
				return err
			}
			if _, err := v.st.DeletePrefix(ctx, p.Prefix+nk+"/"); err != nil {
				return err
			}
		} else if p.Last {
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
		state[p.Kind] += n
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

// refs lists the keys that place p's keys of nk refer to.
func (v *Vault) refs(ctx context.Context, p Place, nk string) ([]string, error) {
	kvs, err := v.st.List(ctx, p.Prefix+nk+"/")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kv := range kvs {
		var keys []string
		if err := json.Unmarshal(kv.Value, &keys); err != nil {
			v.log.Warn("erase: a reference key holds no list of keys", "key", kv.Key)
			continue
		}
		out = append(out, keys...)
	}
	return out, nil
}

// count fills counts with what erase would delete in the state store.
func (v *Vault) count(ctx context.Context, counts map[string]int64, nk string, listed map[string][]string) error {
	_, _, err := v.st.Get(ctx, dataKeyKey(nk))
	switch {
	case err == nil:
		counts[KindDataKeys] = 1
	case errors.Is(err, store.ErrNotFound):
	default:
		return err
	}
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
		switch {
		case p.Refs:
			var refs []string
			if refs, err = v.refs(ctx, p, nk); err == nil {
				for _, k := range refs {
					if _, _, gerr := v.st.Get(ctx, k); gerr == nil {
						keys = append(keys, k)
					}
				}
			}
		case p.Last:
			keys, err = v.lastKeys(ctx, p, nk)
		default:
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
