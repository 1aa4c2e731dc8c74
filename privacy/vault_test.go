package privacy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

const testNumber = "+447911123456"

var testPlaces = []Place{
	{Kind: "counters", Prefix: "rl/"},
	{Kind: "index", Prefix: "in/", Last: true},
}

// histories holds each test's history database: vaults of one test share
// it, as the nodes of a cluster share theirs.
var histories sync.Map // *testing.T → path

// testHistory opens the test's history database.
func testHistory(t *testing.T) history.Store {
	t.Helper()
	path, _ := histories.LoadOrStore(t, filepath.Join(t.TempDir(), history.EmbeddedFile))
	h, err := history.OpenEmbedded(t.Context(), path.(string))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(); histories.Delete(t) })
	return h
}

// newVault returns a vault over st with fixed keys: vaults made by it on
// one store act as nodes of one cluster, sharing one history store. Its
// writer does not run: tests call Flush.
func newVault(t *testing.T, st *store.Store, enc []byte, old ...[]byte) *Vault {
	t.Helper()
	idx, _ := NewIndex(bytes.Repeat([]byte{3}, KeySize))
	ring, err := NewKeyring(enc, old...)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVault(st, VaultConfig{Index: idx, Keyring: ring, History: testHistory(t), Retention: 24 * time.Hour, Places: testPlaces})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// addVerification stores a record and its history entry for number, as
// package verify does, and the place keys.
func addVerification(t *testing.T, v *Vault, st *store.Store, number, id string) {
	t.Helper()
	ctx := t.Context()
	nk := v.idx.Of(number)
	var q Queued
	res, err := v.Write(ctx, nk, time.Hour, func(k *Key) (store.Txn, error) {
		sealed, err := k.SealPersonal(id, Personal{Number: number, Reference: "ref-" + id, Consent: &Consent{Purpose: "test", GivenAt: time.Now()}, CallerID: "+442079461234"})
		if err != nil {
			return store.Txn{}, err
		}
		e, _ := json.Marshal(Entry{ID: id, Method: "flashcall", Status: "pending", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Minute),
			Keys: map[string]string{"verifications": "v/" + id}, Sealed: sealed})
		op, queued, err := v.Outbox(k, history.KindVerification, id, time.Now(), 1, false, e)
		if err != nil {
			return store.Txn{}, err
		}
		q = queued
		return store.Txn{If: []store.Cmp{store.IfAbsent("v/" + id)},
			Then: []store.Op{store.OpPut("v/"+id, sealed, time.Minute), op}}, nil
	})
	if err != nil || !res.OK {
		t.Fatal(res, err)
	}
	v.Queue(res.Rev, q)
	for _, k := range []string{"rl/" + nk + "/h1", "in/441632960000/" + nk} {
		if err := st.Put(ctx, k, []byte(id), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
}

// allKeys returns every key and value of the store, at the current
// revision.
func allKeys(t *testing.T, st *store.Store) string {
	resp, err := st.Client().Get(t.Context(), "", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, kv := range resp.Kvs {
		b.WriteString(string(kv.Key) + "=" + string(kv.Value) + "\n")
	}
	return b.String()
}

func TestVaultWriteKeepsTheKeyWithTheData(t *testing.T) {
	st := storetest.New(t)
	v := newVault(t, st, key(1))
	addVerification(t, v, st, testNumber, "v1")
	nk := v.idx.Of(testNumber)

	resp, err := st.Client().Get(t.Context(), st.Prefix()+dataKeyKey(nk))
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
		t.Fatalf("data key not stored under a lease: %v %v", resp, err)
	}
	// Another node, with the same keys and an empty cache, reads it.
	other := newVault(t, st, key(1))
	k, err := other.Key(t.Context(), nk, false)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _, _ := st.Get(t.Context(), "v/v1")
	if p, err := k.OpenPersonal("v1", sealed); err != nil || p.Number != testNumber {
		t.Fatalf("open on another node: %+v %v", p, err)
	}
	if _, err := other.Key(t.Context(), v.idx.Of("+447911123457"), false); !errors.Is(err, ErrNoKey) {
		t.Fatalf("a number never stored: %v", err)
	}
	if strings.Contains(allKeys(t, st), "7911123456") {
		t.Fatal("the store holds the number")
	}
}

// TestVaultWriteFindsTheKeyInTheOutbox writes, on another node, a new
// record of a number whose live key copy is gone while its last entry
// still waits in the outbox: the write reads both in one go and keeps the
// key the outbox holds, so that both records open with it.
func TestVaultWriteFindsTheKeyInTheOutbox(t *testing.T) {
	st := storetest.New(t)
	a := newVault(t, st, key(1))
	addVerification(t, a, st, testNumber, "v1")
	if _, err := st.DeletePrefix(t.Context(), dataKeyPrefix); err != nil {
		t.Fatal(err)
	}
	b := newVault(t, st, key(1))
	addVerification(t, b, st, testNumber, "v2")
	k, err := newVault(t, st, key(1)).Key(t.Context(), a.idx.Of(testNumber), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"v1", "v2"} {
		sealed, _, _ := st.Get(t.Context(), "v/"+id)
		if p, err := k.OpenPersonal(id, sealed); err != nil || p.Number != testNumber {
			t.Fatalf("open %s with the number's key: %+v %v", id, p, err)
		}
	}
}

func TestVaultWriteAfterAnErasureElsewhereMakesANewKey(t *testing.T) {
	st := storetest.New(t)
	a, b := newVault(t, st, key(1)), newVault(t, st, key(1))
	addVerification(t, a, st, testNumber, "v1")
	nk := a.idx.Of(testNumber)
	old, _ := a.Key(t.Context(), nk, false)
	if _, err := b.Erase(t.Context(), testNumber, false, Actor{Operator: "t", Via: "test"}); err != nil {
		t.Fatal(err)
	}
	// a still caches the erased key; its next write must not bring it back.
	if !a.Cached(nk) {
		t.Fatal("a does not cache the key")
	}
	b.Wait() // the guard is lifted in the background, a moment after
	if _, _, err := st.Get(t.Context(), guardKey(nk)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the erasure left its guard: %v", err)
	}
	// While an erasure's guard stands, the number takes no new data: a
	// write that cannot wait fails, one that can waits for its end.
	if err := st.Put(t.Context(), guardKey(nk), []byte{'1'}, time.Minute); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := a.Write(ctx, nk, time.Hour, func(*Key) (store.Txn, error) { return store.Txn{}, nil }); !errors.Is(err, ErrErasing) {
		t.Fatalf("write during the erasure: %v, want ErrErasing", err)
	}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		addVerification(t, a, st, testNumber, "v2")
	}()
	if _, err := st.DeletePrefix(t.Context(), guardPrefix); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("a write did not go on once the guard was gone")
	}
	w, _, err := st.Get(t.Context(), dataKeyKey(nk))
	if err != nil || bytes.Equal(w, old.stored) {
		t.Fatalf("the erased data key came back: %v", err)
	}
	sealed, _, _ := st.Get(t.Context(), "v/v2")
	if _, err := old.OpenPersonal("v2", sealed); err == nil {
		t.Fatal("new data sealed with the erased key")
	}
}

func TestVaultRotation(t *testing.T) {
	st := storetest.New(t)
	v1 := newVault(t, st, key(1))
	addVerification(t, v1, st, testNumber, "v1")
	addVerification(t, v1, st, "+447911123457", "v2")
	nk, nk2 := v1.idx.Of(testNumber), v1.idx.Of("+447911123457")

	// New encryption key, the old one kept for reading.
	v2 := newVault(t, st, key(2), key(1))
	if _, err := v2.Key(t.Context(), nk, false); err != nil {
		t.Fatal(err)
	}
	addVerification(t, v2, st, testNumber, "v3") // new activity rewraps
	w, _, _ := st.Get(t.Context(), dataKeyKey(nk))
	if got := w[1 : 1+keyIDSize]; !bytes.Equal(got, v2.ring.current.id[:]) {
		t.Fatalf("key id %x after new activity, want the new key's", got)
	}
	for _, v := range []*Vault{v1, v2} {
		if err := v.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	n, total, err := v2.Rewrap(t.Context())
	if err != nil || n != 2 || total != 2 {
		t.Fatalf("rewrap: %d of %d, %v", n, total, err)
	}
	resp, _ := st.Client().Get(t.Context(), st.Prefix()+dataKeyKey(nk2))
	if resp.Kvs[0].Lease == 0 {
		t.Fatal("rewrap lost the live copy's lease")
	}
	if got := resp.Kvs[0].Value[1 : 1+keyIDSize]; !bytes.Equal(got, v2.ring.current.id[:]) {
		t.Fatalf("live copy's key id %x after rewrap, want the new key's", got)
	}
	// The old key can go now.
	v3 := newVault(t, st, key(2))
	for _, k := range []string{nk, nk2} {
		if _, err := v3.Key(t.Context(), k, false); err != nil {
			t.Fatalf("without the old key: %v", err)
		}
	}
	x, err := v3.Export(t.Context(), testNumber, Actor{Operator: "t"})
	if err != nil || len(x.Verifications) != 2 || x.Verifications[0].Reference == "" || x.Verifications[0].Unreadable != "" {
		t.Fatalf("export after rotation: %+v %v", x, err)
	}
}

func TestVaultExportAndErase(t *testing.T) {
	st := storetest.New(t)
	v := newVault(t, st, key(1))
	addVerification(t, v, st, testNumber, "v1")
	addVerification(t, v, st, testNumber, "v2")
	addVerification(t, v, st, "+447911123457", "v3")
	nk := v.idx.Of(testNumber)
	by := Actor{Operator: "alice +447911123456", Via: "test"}

	x, err := v.Export(t.Context(), testNumber, by)
	if err != nil {
		t.Fatal(err)
	}
	if !x.DataKey || len(x.Verifications) != 2 || x.Verifications[1].Reference != "ref-v2" || x.Verifications[0].Consent.Purpose != "test" ||
		x.Verifications[0].Status != "pending" || len(x.Held["counters"]) != 1 || x.Held["index"][0].Name != "441632960000" {
		t.Fatalf("export: %+v", x)
	}
	e, err := v.Erase(t.Context(), testNumber, true, by)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{KindDataKeys: 1, KindHistory: 2, "verifications": 2, "counters": 1, "index": 1}
	for k, n := range want {
		if e.Counts[k] != n {
			t.Errorf("dry run %s = %d, want %d (%v)", k, e.Counts[k], n, e.Counts)
		}
	}
	if e, err = v.Erase(t.Context(), testNumber, false, by); err != nil {
		t.Fatal(err)
	}
	for k, n := range want {
		if e.Counts[k] != n {
			t.Errorf("erased %s = %d, want %d (%v)", k, e.Counts[k], n, e.Counts)
		}
	}
	if e.CompactedRevision == 0 || e.Number != "+44*******456" {
		t.Errorf("erasure: %+v", e)
	}
	all := allKeys(t, st)
	if strings.Contains(all, nk) || strings.Contains(all, "7911123456") {
		t.Fatalf("left after erasure:\n%s", all)
	}
	if _, err := st.Client().Get(t.Context(), "", clientv3.WithPrefix(), clientv3.WithRev(e.CompactedRevision-1)); err == nil {
		t.Fatal("revisions before the erasure still readable")
	}
	if x, _ := v.Export(t.Context(), "+447911123457", Actor{Operator: "t"}); len(x.Verifications) != 1 {
		t.Fatalf("other number: %+v", x)
	}
	if e, err = v.Erase(t.Context(), testNumber, false, by); err != nil || e.Counts[KindDataKeys] != 0 || e.Counts[KindHistory] != 0 {
		t.Fatalf("second erasure: %+v %v", e, err)
	}
	trail, err := v.Audit(t.Context(), testNumber)
	if err != nil || len(trail) != 4 || trail[0].Action != "export" || trail[3].Action != "erase" || !trail[1].DryRun {
		t.Fatalf("audit: %+v %v", trail, err)
	}
	if trail[0].Operator != "alice +44*******456" || trail[0].Subject != v.idx.Subject(testNumber) {
		t.Fatalf("audit entry: %+v", trail[0])
	}
	if all, _ := v.Audit(t.Context(), ""); len(all) != 5 {
		t.Fatalf("whole trail: %d entries", len(all))
	}
}

func TestWatchErasuresEmptiesOtherNodesCaches(t *testing.T) {
	st := storetest.New(t)
	a, b := newVault(t, st, key(1)), newVault(t, st, key(1))
	addVerification(t, a, st, testNumber, "v1")
	nk := a.idx.Of(testNumber)
	if _, err := b.Key(t.Context(), nk, false); err != nil || !b.Cached(nk) {
		t.Fatalf("b: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	seen := make(chan struct{}, 4)
	go b.WatchErasures(ctx, func() { seen <- struct{}{} })
	// The watch starts in the background: erase again (erasing twice is
	// harmless) until b has seen one, within a deadline.
	deadline := time.After(10 * time.Second)
	retry := time.NewTicker(200 * time.Millisecond)
	defer retry.Stop()
	erased := false
	for !erased {
		if _, err := a.Erase(t.Context(), testNumber, false, Actor{Operator: "t"}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-seen:
			erased = true
		case <-retry.C:
		case <-deadline:
			t.Fatal("b never saw the erasure")
		}
	}
	if b.Cached(nk) {
		t.Fatal("b still caches the erased key")
	}
}

func TestVaultWriteOnAnotherNodeKeepsTheKeyAndReportsItsOwnConditions(t *testing.T) {
	st := storetest.New(t)
	a, b := newVault(t, st, key(1)), newVault(t, st, key(1))
	addVerification(t, a, st, testNumber, "v1")
	nk := a.idx.Of(testNumber)
	before, _, _ := st.Get(t.Context(), dataKeyKey(nk))
	// b has never seen the number: it must use the stored key, not a new one.
	addVerification(t, b, st, testNumber, "v2")
	after, _, _ := st.Get(t.Context(), dataKeyKey(nk))
	if !bytes.Equal(before, after) {
		t.Fatal("a second node replaced the number's data key")
	}
	k, _ := a.Key(t.Context(), nk, false)
	for _, id := range []string{"v1", "v2"} {
		sealed, _, _ := st.Get(t.Context(), "v/"+id)
		if p, err := k.OpenPersonal(id, sealed); err != nil || p.Number != testNumber {
			t.Fatalf("%s: %+v %v", id, p, err)
		}
	}
	// A condition of build's own fails: no error, not OK, its keys read.
	res, err := b.Write(t.Context(), nk, time.Hour, func(*Key) (store.Txn, error) {
		return store.Txn{If: []store.Cmp{store.IfAbsent("v/v1")}, Then: []store.Op{store.OpPut("x", []byte("x"), 0)}, Read: []string{"v/v1"}}, nil
	})
	if err != nil || res.OK || len(res.Read["v/v1"].Value) == 0 {
		t.Fatalf("own condition: %+v %v", res, err)
	}
	if _, _, err := st.Get(t.Context(), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("written although a condition failed: %v", err)
	}
}
