package privacy

import (
	"testing"
	"time"

	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// outboxLen counts the outbox's entries.
func outboxLen(t *testing.T, v *Vault) int {
	t.Helper()
	kvs, err := v.st.List(t.Context(), outboxPrefix)
	if err != nil {
		t.Fatal(err)
	}
	return len(kvs)
}

func TestWriterMovesTheOutboxToTheHistoryStore(t *testing.T) {
	st := storetest.New(t)
	v := newVault(t, st, key(1))
	addVerification(t, v, st, testNumber, "v1")
	addVerification(t, v, st, "+447911123457", "v2")
	if n := outboxLen(t, v); n != 2 {
		t.Fatalf("outbox holds %d entries, want 2", n)
	}
	if err := v.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := outboxLen(t, v); n != 0 {
		t.Fatalf("outbox holds %d entries after a flush", n)
	}
	nk := v.idx.Of(testNumber)
	got, err := v.hist.Entries(t.Context(), nk)
	if err != nil || len(got) != 1 || got[0].ID != "v1" {
		t.Fatalf("history of the number: %+v, %v", got, err)
	}
	if k, err := v.hist.DataKey(t.Context(), nk); err != nil || len(k.Wrapped) == 0 {
		t.Fatalf("data key in the history store: %+v, %v", k, err)
	}
	if s := v.WriterStats(); s.Written != 2 || s.Queued != 0 {
		t.Fatalf("stats: %+v", s)
	}
	// Once the state store has forgotten the number (its live records and
	// the live copy of its key gone), its data still opens from history.
	if _, err := st.DeletePrefix(t.Context(), dataKeyPrefix); err != nil {
		t.Fatal(err)
	}
	other := newVault(t, st, key(1))
	x, err := other.Export(t.Context(), testNumber, Actor{Operator: "t"})
	if err != nil || len(x.Verifications) != 1 || x.Verifications[0].Reference != "ref-v1" || x.Verifications[0].CallerIDs[0] != "+442079461234" {
		t.Fatalf("export from history: %+v, %v", x, err)
	}
}

// TestAnotherNodeTakesOverTheOutbox plays a node that died with history in
// the outbox: another node's writer copies it at start.
func TestAnotherNodeTakesOverTheOutbox(t *testing.T) {
	st := storetest.New(t)
	dead := newVault(t, st, key(1))
	for i, n := range []string{testNumber, "+447911123457", "+447911123458"} {
		addVerification(t, dead, st, n, "v"+string(rune('1'+i)))
	}
	live := newVault(t, st, key(1))
	// What Run does first; entries younger than sweepAge are left to
	// their own node by later sweeps.
	live.writer.sweep(t.Context(), sweepAge)
	if n := outboxLen(t, live); n != 3 {
		t.Fatalf("a sweep took over young entries: %d left of 3", n)
	}
	live.writer.sweep(t.Context(), 0)
	if n := outboxLen(t, live); n != 0 {
		t.Fatalf("outbox holds %d entries after the sweep", n)
	}
	for _, n := range []string{testNumber, "+447911123457", "+447911123458"} {
		if got, _ := live.hist.Entries(t.Context(), live.idx.Of(n)); len(got) != 1 {
			t.Fatalf("history of %s: %d entries", Mask(n), len(got))
		}
	}
}

// TestErasureBeatsAQueuedWrite erases a number whose history a node still
// holds to write: the late write is refused, and nothing of the number is
// left in either store.
func TestErasureBeatsAQueuedWrite(t *testing.T) {
	st := storetest.New(t)
	a, b := newVault(t, st, key(1)), newVault(t, st, key(1))
	addVerification(t, a, st, testNumber, "v1")
	// a has read its queue (it holds v1) when b erases.
	if _, err := b.Erase(t.Context(), testNumber, false, Actor{Operator: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	nk := a.idx.Of(testNumber)
	if got, _ := a.hist.Entries(t.Context(), nk); len(got) != 0 {
		t.Fatalf("the erased number's history came back: %+v", got)
	}
	if _, err := a.hist.DataKey(t.Context(), nk); err == nil {
		t.Fatal("the erased number's data key came back")
	}
	if s := a.WriterStats(); s.Refused != 1 {
		t.Fatalf("stats: %+v", s)
	}
	if n := outboxLen(t, a); n != 0 {
		t.Fatalf("outbox holds %d entries", n)
	}
}

// queueEntry writes, as a change of its record, version of the history
// entry id of testNumber (final or not, with deliveries) to the outbox,
// and queues it.
func queueEntry(t *testing.T, v *Vault, id string, version int64, final bool, deliveries ...history.Delivery) {
	t.Helper()
	var q Queued
	res, err := v.Write(t.Context(), v.idx.Of(testNumber), time.Hour, func(k *Key) (store.Txn, error) {
		op, queued, err := v.Outbox(k, history.KindVerification, id, v.now(), version, final, []byte(`{"id":"`+id+`"}`), deliveries...)
		q = queued
		return store.Txn{Then: []store.Op{op}}, err
	})
	if err != nil || !res.OK {
		t.Fatal(res, err)
	}
	v.Queue(res.Rev, q)
}

// TestWriterHoldsAnEntryForItsRecordsNextChange plays a record's changes
// on a fake clock: an entry that is not final waits in the queue, a later
// change replaces it, and it is written once, when final, when held for
// holdMax since its first change, when it carries webhook deliveries, or
// on Flush.
func TestWriterHoldsAnEntryForItsRecordsNextChange(t *testing.T) {
	st := storetest.New(t)
	v := newVault(t, st, key(1))
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	v.now = func() time.Time { return clock }
	ctx := t.Context()
	tick := func(d time.Duration) {
		t.Helper()
		clock = clock.Add(d)
		if _, err := v.writer.flush(ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	versions := func() map[string]int64 {
		t.Helper()
		es, err := v.hist.Entries(ctx, v.idx.Of(testNumber))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, e := range es {
			out[e.ID] = e.Version
		}
		return out
	}
	want := func(step string, written int64, queued int, hist map[string]int64) {
		t.Helper()
		s := v.WriterStats()
		got := versions()
		if s.Written != written || s.Queued != queued || len(got) != len(hist) {
			t.Fatalf("%s: stats %+v, history %v; want %d written, %d queued, history %v", step, s, got, written, queued, hist)
		}
		for id, ver := range hist {
			if got[id] != ver {
				t.Fatalf("%s: history %v, want %v", step, got, hist)
			}
		}
	}

	queueEntry(t, v, "v1", 1, false)
	tick(holdMax / 2)
	want("created", 0, 1, nil)
	queueEntry(t, v, "v1", 2, false)
	tick(holdMax/2 - flushEvery)
	want("changed, held", 0, 1, nil)
	if n := outboxLen(t, v); n != 1 {
		t.Fatalf("a held entry is not in the outbox: %d entries", n)
	}
	tick(flushEvery) // holdMax since its first change, not its last
	want("aged", 1, 0, map[string]int64{"v1": 2})

	queueEntry(t, v, "v2", 1, false)
	tick(flushEvery)
	want("v2 created", 1, 1, map[string]int64{"v1": 2})
	queueEntry(t, v, "v2", 2, true)
	tick(flushEvery)
	want("v2 final", 2, 0, map[string]int64{"v1": 2, "v2": 2})

	queueEntry(t, v, "v3", 1, false, history.Delivery{ID: "d3", Event: "verification.updated", URL: "http://127.0.0.1:1/", Body: []byte(`{}`),
		CreatedAt: clock, NextAt: clock, GiveUpAt: clock.Add(time.Hour)})
	tick(flushEvery)
	want("v3 with a delivery", 3, 0, map[string]int64{"v1": 2, "v2": 2, "v3": 1})

	queueEntry(t, v, "v4", 1, false)
	tick(flushEvery)
	want("v4 created", 3, 1, map[string]int64{"v1": 2, "v2": 2, "v3": 1})
	if err := v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want("flushed", 4, 0, map[string]int64{"v1": 2, "v2": 2, "v3": 1, "v4": 1})
	if n := outboxLen(t, v); n != 0 {
		t.Fatalf("outbox holds %d entries after the writes", n)
	}
}

// TestHeldEntriesAreListedAndExported holds a verification's entry in the
// writer's queue: listings and exports, which read the outbox beside the
// history store, see it all the same.
func TestHeldEntriesAreListedAndExported(t *testing.T) {
	st := storetest.New(t)
	v := newVault(t, st, key(1))
	ctx := t.Context()
	addVerification(t, v, st, testNumber, "v1")
	if _, err := v.writer.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	if s := v.WriterStats(); s.Written != 0 || s.Queued != 1 {
		t.Fatalf("the entry is not held: %+v", s)
	}
	page, _, _, err := v.List(ctx, history.ListQuery{Kind: history.KindVerification, Limit: 10}, nil)
	if err != nil || len(page) != 1 || page[0].ID != "v1" {
		t.Fatalf("listing: %+v, %v", page, err)
	}
	x, err := v.Export(ctx, testNumber, Actor{Operator: "t"})
	if err != nil || len(x.Verifications) != 1 || x.Verifications[0].Reference != "ref-v1" {
		t.Fatalf("export: %+v, %v", x, err)
	}
}

// TestOutboxEntriesWithoutFinalAreRead reads an entry as nodes wrote it
// before Pending had Final: it is not final, so held at most holdMax.
func TestOutboxEntriesWithoutFinalAreRead(t *testing.T) {
	p, err := decodePending([]byte(`{"kind":"verification","id":"v1","number_key":"nk","created_at":"2026-12-01T12:00:00Z","expires_at":"2026-12-31T12:00:00Z","version":3,"body":{},"data_key":"AAAA","queued":"2026-12-01T12:00:01Z"}`))
	if err != nil || p.Final || p.Version != 3 || urgent(p) {
		t.Fatalf("old entry: %+v, %v", p, err)
	}
}
