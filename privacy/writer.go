package privacy

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringproof/ringproof/history"
)

// writer copies history entries from the outbox to the history store, in
// batches, off the request path (see outbox.go).
//
// A record changes a few times in its life (a verification is created,
// its call rings and ends, its code is checked), and each change puts its
// entry in the outbox again. So that the history store gets the entry once
// rather than once per change, the writer holds an entry that may still
// change (not final, no webhook deliveries) for up to holdMax: a later
// change replaces it in the queue, and the final one is written at once.
// What is held stays in the outbox meanwhile: a crash loses nothing.
type writer struct {
	st   Store
	hist history.Store
	log  *slog.Logger
	now  func() time.Time
	kick chan struct{}

	mu    sync.Mutex
	queue map[string]queued // by outbox key: the latest write of each
	// urgent counts the queued entries written at the next flush whatever
	// their age (see urgent).
	urgent int
	// observe, if set, is told of every batch written to the history
	// store.
	observe func(d time.Duration, entries int, err error)

	written, refused, failed atomic.Int64
}

type queued struct {
	p   *Pending
	rev int64 // the state store revision that wrote it to the outbox
	// since is when the entry's first write this node queued was put in
	// the outbox: holdMax runs from it, so that later writes do not hold
	// it longer.
	since time.Time
}

// urgent reports whether p is written at the next flush, not held: its
// record will not change again (final), or it carries webhook deliveries,
// which must not wait.
func urgent(p *Pending) bool { return p.Final || len(p.Deliveries) > 0 }

const (
	// flushEvery is how often queued entries are written at the latest.
	flushEvery = 100 * time.Millisecond
	// holdMax is how long an entry that is not urgent may be held for its
	// record's later changes. A verification is usually checked, or
	// expires unchecked, well within it; it must stay far below sweepAge
	// (with flushEvery and a slow batch on top) so that no other node's
	// sweep takes over an entry this node holds and writes it twice.
	holdMax = 2 * time.Second
	// batchMax bounds one batch; this many urgent entries are written at
	// once.
	batchMax = 512
	// heldMax bounds the queue: a queue this long is written without
	// regard to holding, batchMax at a time. Near 500 verifications/s, one
	// holdMax of them is about 1,000 entries.
	heldMax = 4 * batchMax
	// sweepEvery is how often the outbox is searched for entries that no
	// writer is taking care of (their node died).
	sweepEvery = 5 * time.Second
	// sweepAge is how old an outbox entry must be before another node's
	// writer takes it over.
	sweepAge = 20 * time.Second
	// sweepPage bounds the outbox entries read per request, and sweepMax
	// per sweep.
	sweepPage = 500
	sweepMax  = 20 * sweepPage
)

func newWriter(st Store, hist history.Store, log *slog.Logger, now func() time.Time) *writer {
	return &writer{st: st, hist: hist, log: log, now: now, kick: make(chan struct{}, 1), queue: make(map[string]queued)}
}

// add queues p, put in the outbox under key at revision rev, unless a
// later write of it is queued already.
func (w *writer) add(key string, p *Pending, rev int64) {
	w.mu.Lock()
	w.put(key, queued{p: p, rev: rev, since: p.Queued})
	kick := w.urgent >= batchMax || len(w.queue) >= heldMax
	w.mu.Unlock()
	if kick {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// put queues q under key unless a later write of it is queued already; q
// replacing an earlier write keeps that one's since. w.mu must be held.
func (w *writer) put(key string, q queued) {
	cur, ok := w.queue[key]
	if ok {
		if cur.rev >= q.rev {
			return
		}
		q.since = cur.since
		if urgent(cur.p) {
			w.urgent--
		}
	}
	if urgent(q.p) {
		w.urgent++
	}
	w.queue[key] = q
}

// Run writes queued history to the history store until ctx ends, then
// writes what is left (for up to 5 s). It first takes over whatever the
// outbox holds (a restart after a crash), then every few seconds what has
// waited there too long. Run it once per node.
func (v *Vault) Run(ctx context.Context) {
	w := v.writer
	w.sweep(ctx, 0)
	flush := time.NewTicker(flushEvery)
	defer flush.Stop()
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			for w.pending() > 0 && fctx.Err() == nil {
				if _, err := w.flush(fctx, true); err != nil {
					break
				}
			}
			cancel()
			return
		case <-flush.C:
		case <-w.kick:
		case <-sweep.C:
			w.sweep(ctx, sweepAge)
			continue
		}
		for {
			if full, err := w.flush(ctx, false); err != nil || !full {
				break
			}
		}
	}
}

// Flush writes everything queued on this node to the history store now,
// held entries too (for tests, and for commands that must see it there).
func (v *Vault) Flush(ctx context.Context) error {
	for v.writer.pending() > 0 {
		if _, err := v.writer.flush(ctx, true); err != nil {
			return err
		}
	}
	return nil
}

// WriterStats are the history writer's counts since start.
type WriterStats struct {
	// Written counts entries written to the history store; Refused those
	// it refused (their number was erased); Failed the failed batches.
	Written, Refused, Failed int64
	// Queued is how many entries this node holds to write.
	Queued int
}

// WriterStats reports the history writer's counts.
func (v *Vault) WriterStats() WriterStats {
	w := v.writer
	return WriterStats{Written: w.written.Load(), Refused: w.refused.Load(), Failed: w.failed.Load(), Queued: w.pending()}
}

// OnHistoryWrite has fn told of every batch written to the history store:
// how long it took, how many entries it held, and its error.
func (v *Vault) OnHistoryWrite(fn func(d time.Duration, entries int, err error)) {
	v.writer.mu.Lock()
	v.writer.observe = fn
	v.writer.mu.Unlock()
}

// OutboxLen counts the entries waiting in the outbox, cluster-wide.
func (v *Vault) OutboxLen(ctx context.Context, count func(ctx context.Context, prefix string) (int64, error)) (int64, error) {
	return count(ctx, outboxPrefix)
}

func (w *writer) pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

// flush writes up to batchMax queued entries to the history store, then
// deletes them from the outbox: with all, any; otherwise those urgent or
// held for holdMax already (any, should the queue have grown to heldMax).
// On failure they stay queued (unless a later write replaced them) and the
// error is returned. full reports that a whole batch was taken: more may
// be ready.
func (w *writer) flush(ctx context.Context, all bool) (full bool, err error) {
	w.mu.Lock()
	if len(w.queue) == 0 {
		w.mu.Unlock()
		return false, nil
	}
	all = all || len(w.queue) >= heldMax
	held := w.now().Add(-holdMax)
	taken := make(map[string]queued, min(len(w.queue), batchMax))
	for k, q := range w.queue {
		if !all && !urgent(q.p) && q.since.After(held) {
			continue
		}
		taken[k] = q
		delete(w.queue, k)
		if urgent(q.p) {
			w.urgent--
		}
		if len(taken) == batchMax {
			break
		}
	}
	observe := w.observe
	w.mu.Unlock()
	if len(taken) == 0 {
		return false, nil
	}
	full = len(taken) == batchMax

	var b history.Batch
	keys := map[string]bool{} // number key + wrapped key, written once
	for _, q := range taken {
		e, k := q.p.entry()
		b.Entries = append(b.Entries, e)
		b.Deliveries = append(b.Deliveries, q.p.Deliveries...)
		if len(k.Wrapped) > 0 && !keys[k.NumberKey+string(k.Wrapped)] {
			keys[k.NumberKey+string(k.Wrapped)] = true
			b.DataKeys = append(b.DataKeys, k)
		}
	}
	start := time.Now()
	res, err := w.hist.Write(ctx, b)
	if observe != nil {
		observe(time.Since(start), len(b.Entries), err)
	}
	if err != nil {
		w.failed.Add(1)
		w.requeue(taken)
		w.log.Warn("history: write failed; entries stay queued", "entries", len(b.Entries), "err", err)
		return false, err
	}
	w.written.Add(int64(res.Entries))
	w.refused.Add(int64(res.Refused))
	w.unqueue(ctx, taken)
	return full, nil
}

// requeue puts back entries a failed batch held, unless later writes of
// them were queued meanwhile.
func (w *writer) requeue(taken map[string]queued) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, q := range taken {
		w.put(k, q)
	}
}

// unqueue deletes written entries from the outbox, each only if it was
// not written again since (a later write stays for the next batch). A
// failure leaves them for a sweep: writing them again changes nothing.
func (w *writer) unqueue(ctx context.Context, taken map[string]queued) {
	revs := make(map[string]int64, len(taken))
	for k, q := range taken {
		revs[k] = q.rev
	}
	if _, err := w.st.DeleteUnchanged(ctx, revs); err != nil && !errors.Is(err, context.Canceled) {
		w.log.Warn("history: written entries stay in the outbox until a sweep", "err", err)
	}
}

// sweep queues outbox entries older than minAge that this node does not
// hold already (those of a node that died, or of this node before a
// restart), and writes them: with minAge 0 (at start) everything queued,
// otherwise what is ready (swept entries are, being older than holdMax).
func (w *writer) sweep(ctx context.Context, minAge time.Duration) {
	from, seen := "", 0
	cutoff := time.Now().Add(-minAge)
	for seen < sweepMax && ctx.Err() == nil {
		kvs, more, err := w.st.ListPage(ctx, outboxPrefix, from, sweepPage)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("history: cannot read the outbox", "err", err)
			}
			return
		}
		for _, kv := range kvs {
			seen++
			p, err := decodePending(kv.Value)
			if err != nil {
				w.log.Warn("history: unreadable outbox entry left in place", "key", kv.Key, "err", err)
				continue
			}
			if minAge == 0 || p.Queued.Before(cutoff) {
				w.add(kv.Key, p, kv.Rev)
			}
		}
		if !more || len(kvs) == 0 {
			break
		}
		from = kvs[len(kvs)-1].Key + "\x00"
	}
	for w.pending() > 0 && ctx.Err() == nil {
		if full, err := w.flush(ctx, minAge == 0); err != nil || (!full && minAge > 0) {
			return
		}
	}
}

// isOutboxKey reports whether key is in the outbox.
func isOutboxKey(key string) bool { return strings.HasPrefix(key, outboxPrefix) }
