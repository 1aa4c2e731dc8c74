package privacy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/store"
)

// The outbox is how history reaches the history store without slowing the
// request that makes it, and without being lost. Each write of a record
// (a verification, a masking route) puts, in the same state-store
// transaction, its history entry under outbox/<number key>/<id>: the
// entry as the history store will keep it, with the number's wrapped data
// key. The node's writer (writer.go) then copies queued entries to the
// history store in batches, holding a while those whose record may still
// change, and deletes them from the outbox, each only if it was not
// written again meanwhile. An entry whose node died before that
// stays in the outbox until another node's writer (or the same node,
// restarted) sweeps it up. The record itself may expire before its entry
// leaves the outbox; the entry holds everything the history needs.

// outboxPrefix is where queued history entries wait.
const outboxPrefix = "outbox/"

// Pending is one history entry on its way to the history store, as the
// outbox holds it.
type Pending struct {
	Kind string `json:"kind"`
	// Scope is what the entry is listed under (history.Entry.Scope).
	Scope     string    `json:"scope,omitempty"`
	ID        string    `json:"id"`
	NumberKey string    `json:"number_key"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when retention ends for the entry and, at the latest,
	// for its number's data key.
	ExpiresAt time.Time `json:"expires_at"`
	Version   int64     `json:"version"`
	// Body is the entry as the history store keeps it.
	Body json.RawMessage `json:"body"`
	// DataKey is the number's wrapped data key, which sealed Body's
	// personal parts.
	DataKey []byte `json:"data_key"`
	// Queued is when it was put in the outbox.
	Queued time.Time `json:"queued"`
	// Final means the record will not change again (a verification
	// decided, a masking route ended): the writer copies it at once rather
	// than hold it for a later change (writer.go). Entries written before
	// the field existed read as not final.
	Final bool `json:"final,omitempty"`
	// Deliveries are the webhook deliveries of the changes the entry
	// records (package webhook), enqueued with it: every delivery so far,
	// since a later write of the entry replaces an earlier one still
	// waiting here; the queue takes each id once.
	Deliveries []history.Delivery `json:"deliveries,omitempty"`
}

func outboxKey(nk, id string) string { return outboxPrefix + nk + "/" + id }

// queuedPrefix is where nk's outbox entries are.
func queuedPrefix(nk string) string { return outboxPrefix + nk + "/" }

// encode is json.Marshal(p), less encoding/json's second pass over Body:
// it validates and compacts a json.RawMessage, and Body is most of an
// entry, made compact already by json.Marshal (Outbox's contract).
func (p *Pending) encode() ([]byte, error) {
	body := bytes.TrimSpace(p.Body)
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return nil, fmt.Errorf("body is not a JSON object")
	}
	type fields Pending // the same fields, without methods
	f := fields(*p)
	f.Body = nil // encoded as null, then replaced
	head, err := json.Marshal(&f)
	if err != nil {
		return nil, err
	}
	// No string before it can hold this: quotes in strings are escaped.
	const null = `,"body":null`
	i := bytes.Index(head, []byte(null))
	if i < 0 {
		return nil, fmt.Errorf("body field not found")
	}
	out := make([]byte, 0, len(head)+len(body))
	out = append(out, head[:i+len(null)-len("null")]...)
	out = append(out, body...)
	return append(out, head[i+len(null):]...), nil
}

func decodePending(val []byte) (*Pending, error) {
	var p Pending
	if err := json.Unmarshal(val, &p); err != nil {
		return nil, fmt.Errorf("privacy: outbox entry: %w", err)
	}
	return &p, nil
}

// Queued is an entry put in the outbox by a transaction not yet committed:
// once it is, hand it to Vault.Queue with the transaction's revision.
type Queued struct {
	key string
	p   *Pending
}

// Outbox returns the operation that puts a history entry in the outbox,
// for a transaction that writes the record it describes. k is the data key
// of the entry's number (its wrapped form goes with it); version must grow
// with every write of the same id; final says the record will not change
// again (its entry is then copied to the history store at once, where
// otherwise it may wait a little for a later change to replace it); body
// is the entry itself (JSON whose personal parts k sealed). Retention runs
// from created. deliveries, if any, reach the webhook queue in the same
// history-store transaction as the entry, without waiting.
// body must be a JSON object as json.Marshal makes it (compact).
func (v *Vault) Outbox(k *Key, kind, id string, created time.Time, version int64, final bool, body []byte, deliveries ...history.Delivery) (store.Op, Queued, error) {
	return v.ScopedOutbox(k, kind, "", id, created, version, final, body, deliveries...)
}

// ScopedOutbox is Outbox for an entry listed under scope (a verification's
// service; history.Entry.Scope).
func (v *Vault) ScopedOutbox(k *Key, kind, scope, id string, created time.Time, version int64, final bool, body []byte, deliveries ...history.Delivery) (store.Op, Queued, error) {
	w := k.wrapped
	if w == nil {
		w = k.stored
	}
	p := &Pending{
		Kind: kind, Scope: scope, ID: id, NumberKey: k.nk, CreatedAt: created.UTC(), ExpiresAt: created.Add(v.retention).UTC(),
		Version: version, Body: body, DataKey: w, Queued: v.now().UTC(), Final: final, Deliveries: deliveries,
	}
	val, err := p.encode()
	if err != nil {
		return store.Op{}, Queued{}, fmt.Errorf("privacy: outbox entry: %w", err)
	}
	key := outboxKey(k.nk, id)
	// No lease: an entry leaves the outbox only once the history store
	// holds it.
	return store.OpPut(key, val, 0), Queued{key: key, p: p}, nil
}

// Queue hands the writer entries whose transaction committed at revision
// rev, to be copied to the history store soon.
func (v *Vault) Queue(rev int64, qs ...Queued) {
	for _, q := range qs {
		if q.p != nil {
			v.writer.add(q.key, q.p, rev)
		}
	}
}

// entryOf turns a pending entry into the history store's row, and its data
// key.
func (p *Pending) entry() (history.Entry, history.DataKey) {
	return history.Entry{
			ID: p.ID, NumberKey: p.NumberKey, Kind: p.Kind, Scope: p.Scope, CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
			Version: p.Version, Body: p.Body,
		}, history.DataKey{
			NumberKey: p.NumberKey, Wrapped: p.DataKey, Since: p.CreatedAt, ExpiresAt: p.ExpiresAt,
		}
}
