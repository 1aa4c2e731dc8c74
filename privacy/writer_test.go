package privacy

import (
	"testing"

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
