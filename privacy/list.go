package privacy

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/ringproof/ringproof/history"
)

// Listing verifications. The history store is the authority: it holds
// every verification for the retention period, each at its latest write
// but for those still on their way there, whose latest write waits in the
// outbox (outbox.go; up to holdMax and a batch, unless the history store
// is unreachable). A listing reads both and keeps, for each id, the higher
// version, so that it sees a verification from the moment its create
// committed, as it stands now.

// Listed is one verification of a listing, its personal data opened.
type Listed struct {
	Entry    Entry
	Personal Personal
}

// listScanMax bounds the history rows one listing page reads, so that a
// filter that matches little cannot make a page read the whole history:
// the page then ends early and says where to go on.
const listScanMax = 2000

// outboxListMax bounds the outbox entries one listing page reads.
const outboxListMax = 5000

// List returns up to q.Limit history entries that q selects and keep
// (nil: all) accepts, newest first, from q.From on, each at its latest
// version. next is where the following page starts; more is false when
// nothing follows. A page may hold fewer than q.Limit and still have more
// after it, when it read listScanMax rows of history before filling up.
func (v *Vault) List(ctx context.Context, q history.ListQuery, keep func(history.Entry) bool) (page []history.Entry, next history.Position, more bool, err error) {
	scope := q.Scope
	if scope == "" {
		scope = history.DefaultScope
	}
	pending, err := v.pendingFor(ctx, q, scope)
	if err != nil {
		return nil, history.Position{}, false, err
	}
	limit := max(q.Limit, 1)
	var (
		cands     []history.Entry
		matched   int
		scanned   int
		exhausted bool
		horizon   history.Position // the last history row read
		used      = map[string]bool{}
	)
	accept := func(e history.Entry) bool { return keep == nil || keep(e) }
	from := q.From
	for matched <= limit && scanned < listScanMax {
		batch := min(max(limit+1, 50), listScanMax-scanned)
		bq := q
		bq.Scope, bq.From, bq.Limit = scope, from, batch
		rows, err := v.hist.List(ctx, bq)
		if err != nil {
			return nil, history.Position{}, false, err
		}
		scanned += len(rows)
		for _, e := range rows {
			if p, ok := pending[e.ID]; ok && p.Version > e.Version {
				e = p
			}
			used[e.ID] = true
			if accept(e) {
				cands = append(cands, e)
				matched++
			}
		}
		if len(rows) < batch {
			exhausted = true
			break
		}
		from = history.PositionOf(rows[len(rows)-1])
		horizon = from
	}
	for id, e := range pending {
		pos := history.PositionOf(e)
		if used[id] || (!q.From.IsZero() && !pos.Before(q.From)) || (!exhausted && !horizon.Before(pos)) {
			continue
		}
		if accept(e) {
			cands = append(cands, e)
		}
	}
	slices.SortFunc(cands, func(a, b history.Entry) int {
		pa, pb := history.PositionOf(a), history.PositionOf(b)
		switch {
		case pb.Before(pa):
			return -1
		case pa.Before(pb):
			return 1
		}
		return 0
	})
	switch {
	case len(cands) > limit:
		cands, more = cands[:limit], true
		next = history.PositionOf(cands[limit-1])
	case !exhausted:
		more, next = true, horizon
	}
	return cands, next, more, nil
}

// pendingFor returns the outbox's entries that q selects in scope, by id.
func (v *Vault) pendingFor(ctx context.Context, q history.ListQuery, scope string) (map[string]history.Entry, error) {
	prefix := outboxPrefix
	if q.NumberKey != "" {
		prefix += q.NumberKey + "/"
	}
	kvs, _, err := v.st.ListPage(ctx, prefix, "", outboxListMax)
	if err != nil {
		return nil, err
	}
	out := map[string]history.Entry{}
	for _, kv := range kvs {
		p, err := decodePending(kv.Value)
		if err != nil {
			continue
		}
		e, _ := p.entry()
		if e.Kind != q.Kind || scopeOrDefault(e.Scope) != scope || (!q.After.IsZero() && !e.CreatedAt.After(q.After)) {
			continue
		}
		if cur, ok := out[e.ID]; !ok || cur.Version < e.Version {
			out[e.ID] = e
		}
	}
	return out, nil
}

func scopeOrDefault(s string) string {
	if s == "" {
		return history.DefaultScope
	}
	return s
}

// OpenListed decodes a history entry of a verification and opens its
// personal data; false if it cannot be read (its number's data key is
// gone).
func (v *Vault) OpenListed(ctx context.Context, e history.Entry) (Listed, bool) {
	var body Entry
	if err := json.Unmarshal(e.Body, &body); err != nil {
		return Listed{}, false
	}
	k, err := v.Key(ctx, e.NumberKey, false)
	if err != nil {
		return Listed{}, false
	}
	p, err := k.OpenPersonal(e.ID, body.Sealed)
	if err != nil {
		return Listed{}, false
	}
	return Listed{Entry: body, Personal: p}, true
}
