package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/ringproof/ringproof/history"
)

func TestListNewestFirstByScope(t *testing.T) {
	backends(t, func(t *testing.T, open func(*testing.T) history.Store) {
		s, ctx := open(t), context.Background()
		var batch history.Batch
		add := func(id, nk, scope string, created time.Time) {
			e := entry(id, nk, created, 1, `{}`)
			e.Scope = scope
			batch.Entries = append(batch.Entries, e)
		}
		add("a1", "nkA", "", t0)
		add("a2", "nkB", "default", t0.Add(time.Second))
		add("a3", "nkA", "", t0.Add(time.Second)) // same time as a2: ids break the tie
		add("a4", "nkA", "", t0.Add(2*time.Second))
		add("b1", "nkA", "shop", t0.Add(3*time.Second))
		mask := entry("m1", "nkA", t0.Add(4*time.Second), 1, `{}`)
		mask.Kind = history.KindMaskingRoute
		batch.Entries = append(batch.Entries, mask)
		if _, err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		ids := func(q history.ListQuery) []string {
			t.Helper()
			q.Kind = history.KindVerification
			es, err := s.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range es {
				out = append(out, e.ID)
			}
			return out
		}
		same := func(what string, got []string, want ...string) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: %v, want %v", what, got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: %v, want %v", what, got, want)
				}
			}
		}
		same("default scope", ids(history.ListQuery{Limit: 10}), "a4", "a3", "a2", "a1")
		same("a page", ids(history.ListQuery{Limit: 2}), "a4", "a3")
		same("the next page", ids(history.ListQuery{Limit: 2, From: history.Position{CreatedAt: t0.Add(time.Second), ID: "a3"}}), "a2", "a1")
		same("one number", ids(history.ListQuery{Limit: 10, NumberKey: "nkA"}), "a4", "a3", "a1")
		same("created after", ids(history.ListQuery{Limit: 10, After: t0}), "a4", "a3", "a2")
		same("another scope", ids(history.ListQuery{Limit: 10, Scope: "shop"}), "b1")
		same("a scope with nothing", ids(history.ListQuery{Limit: 10, Scope: "none"}))
	})
}
