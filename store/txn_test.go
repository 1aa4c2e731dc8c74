package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

func TestCommit(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	ok, err := s.Commit(ctx, []store.Cmp{store.IfAbsent("a")},
		[]store.Op{store.OpPut("a", []byte("1"), time.Minute), store.OpPut("b/x", []byte("2"), 0), store.OpPut("b/y", []byte("3"), time.Hour)})
	if err != nil || !ok {
		t.Fatalf("first commit: %v %v", ok, err)
	}
	// A failed condition writes nothing.
	ok, err = s.Commit(ctx, []store.Cmp{store.IfAbsent("a")}, []store.Op{store.OpPut("c", []byte("x"), 0)})
	if err != nil || ok {
		t.Fatalf("commit on a present key: %v %v", ok, err)
	}
	if _, _, err := s.Get(ctx, "c"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("c written by a failed commit: %v", err)
	}
	if ok, _ := s.Commit(ctx, []store.Cmp{store.IfValue("a", []byte("2"))}, nil); ok {
		t.Fatal("IfValue held on another value")
	}
	// Keep a key's lease while changing its value; delete a prefix.
	ok, err = s.Commit(ctx, []store.Cmp{store.IfValue("a", []byte("1"))},
		[]store.Op{store.OpPutKeepLease("a", []byte("one")), store.OpDeletePrefix("b/")})
	if err != nil || !ok {
		t.Fatalf("second commit: %v %v", ok, err)
	}
	resp, _ := s.Client().Get(ctx, s.Prefix()+"a")
	if string(resp.Kvs[0].Value) != "one" || resp.Kvs[0].Lease == 0 {
		t.Fatalf("a = %s lease %x", resp.Kvs[0].Value, resp.Kvs[0].Lease)
	}
	if kvs, _ := s.List(ctx, "b/"); len(kvs) != 0 {
		t.Fatalf("b/ left: %v", kvs)
	}
	if ok, err := s.Commit(ctx, nil, []store.Op{store.OpDelete("a")}); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
}

func TestUpdateWithWritesAlongsideOnly(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	if err := s.Put(ctx, "rec", []byte("0"), time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateWith(ctx, "rec", func(cur []byte) ([]byte, []store.Op, error) {
		return []byte("1"), []store.Op{store.OpPut("mirror", []byte("1"), time.Hour)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := wantValue(ctx, s, "mirror", "1"); err != nil {
		t.Fatal(err)
	}
	// Once the record is gone, nothing alongside is written again.
	s.Delete(ctx, "rec")
	s.Delete(ctx, "mirror")
	_, err = s.UpdateWith(ctx, "rec", func(cur []byte) ([]byte, []store.Op, error) {
		return []byte("2"), []store.Op{store.OpPut("mirror", []byte("2"), time.Hour)}, nil
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a deleted key: %v", err)
	}
	if _, _, err := s.Get(ctx, "mirror"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("mirror written back: %v", err)
	}
}

func TestDeleteKeysAndKeys(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	var keys []string
	for i := range 150 {
		k := "k/" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		keys = append(keys, k)
		if err := s.Put(ctx, k, []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Keys(ctx, "k/")
	if err != nil || len(got) != 150 {
		t.Fatalf("keys: %d %v", len(got), err)
	}
	n, err := s.DeleteKeys(ctx, append(keys, "k/absent"))
	if err != nil || n != 150 {
		t.Fatalf("deleted %d, %v", n, err)
	}
}

func TestCompactDiscardsHistory(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	s.Put(ctx, "secret", []byte("old"), 0)
	s.Delete(ctx, "secret")
	resp, _ := s.Client().Get(ctx, s.Prefix()+"x")
	before := resp.Header.Revision
	old, err := s.Client().Get(ctx, s.Prefix()+"secret", clientv3.WithRev(before-1))
	if err != nil || len(old.Kvs) != 1 {
		t.Fatalf("history before compaction: %v %v", old, err)
	}
	rev, err := s.Compact(ctx)
	if err != nil || rev < before {
		t.Fatalf("compact: %d %v", rev, err)
	}
	if _, err := s.Client().Get(ctx, s.Prefix()+"secret", clientv3.WithRev(before-1)); err == nil {
		t.Fatal("old revision readable after compaction")
	}
	if _, err := s.Compact(ctx); err != nil {
		t.Fatalf("compacting twice: %v", err)
	}
}

func TestLongTTLsShareLeases(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	// 30 days: buckets of ~42 minutes, so keys written a minute apart
	// share a lease.
	base := time.Unix(1_800_000_000, 0)
	now := base
	store.SetLeaseClock(s, 5*time.Second, func() time.Time { return now })
	if err := s.Put(ctx, "r1", []byte("x"), 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	now = base.Add(time.Minute)
	if err := s.Put(ctx, "r2", []byte("x"), 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	r1, _ := s.Client().Get(ctx, s.Prefix()+"r1")
	r2, _ := s.Client().Get(ctx, s.Prefix()+"r2")
	if r1.Kvs[0].Lease != r2.Kvs[0].Lease || store.LeaseBuckets(s) != 1 {
		t.Fatalf("leases %x and %x, %d buckets", r1.Kvs[0].Lease, r2.Kvs[0].Lease, store.LeaseBuckets(s))
	}
}

func TestAttach(t *testing.T) {
	t.Parallel()
	c := storetest.Config(t)
	ctx := t.Context()

	// Nothing there: Attach does not make a store.
	if _, err := store.Attach(ctx, c, nil); !errors.Is(err, store.ErrNoStore) {
		t.Fatalf("attach to nothing: %v", err)
	}
	if _, err := os.Stat(c.DataDir); !os.IsNotExist(err) {
		t.Fatalf("attach made the data dir: %v", err)
	}

	// Held by a running store: attach as its client.
	s := storetest.Open(t, c)
	if err := s.Put(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	lock, _ := os.ReadFile(filepath.Join(c.DataDir, "ringproof.lock"))
	if strings.TrimSpace(string(lock)) != s.ClientURL() || !strings.HasPrefix(s.ClientURL(), "unix:///") {
		t.Fatalf("lock file %q, client URL %q", lock, s.ClientURL())
	}
	a, err := store.Attach(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.ClientURL() != "" {
		t.Fatal("attached as an embedded store")
	}
	if err := wantValue(ctx, a, "k", "v"); err != nil {
		t.Fatal(err)
	}
	a.Close()
	s.Close()

	// Free again: attach starts etcd on it.
	a, err = store.Attach(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.ClientURL() == "" {
		t.Fatal("attached as a client to a store that is not running")
	}
	if err := wantValue(ctx, a, "k", "v"); err != nil {
		t.Fatal(err)
	}
}

// TestApplyCountsAndReportsWhatFailed is the shape of a verification's
// create: a counter that needs no read, a claim, and the reads that say
// which condition failed.
func TestApplyCountsAndReportsWhatFailed(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	create := func(id string) store.TxnResult {
		t.Helper()
		res, err := s.Apply(ctx, store.Txn{
			If:   []store.Cmp{store.IfFewer("rl/n1", 3), store.IfAbsent("claim/" + id)},
			Then: []store.Op{store.OpPut("rl/n1", nil, time.Hour), store.OpPut("claim/"+id, []byte(id), time.Minute)},
			Read: []string{"rl/n1", "claim/" + id},
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var last int64
	for i, id := range []string{"a", "b", "c"} {
		res := create(id)
		if !res.OK || res.Read != nil || res.Rev <= last {
			t.Fatalf("create %d: %+v", i, res)
		}
		last = res.Rev
		if _, rev, _ := s.Get(ctx, "claim/"+id); rev != res.Rev {
			t.Fatalf("claim/%s at revision %d, Apply said %d", id, rev, res.Rev)
		}
	}
	// A fourth is over the limit: nothing written, the counter's count read.
	res := create("d")
	if res.OK || res.Read["rl/n1"].Version != 3 {
		t.Fatalf("over the limit: %+v", res)
	}
	if _, _, err := s.Get(ctx, "claim/d"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim/d written over the limit: %v", err)
	}
	if _, ok := res.Read["claim/d"]; ok {
		t.Fatalf("an absent key read as present: %+v", res.Read)
	}
	// A held claim fails the transaction and shows in Read.
	res, err := s.Apply(ctx, store.Txn{
		If:   []store.Cmp{store.IfFewer("rl/n2", 3), store.IfAbsent("claim/a")},
		Then: []store.Op{store.OpPut("rl/n2", nil, time.Hour)},
		Read: []string{"rl/n2", "claim/a"},
	})
	if err != nil || res.OK || string(res.Read["claim/a"].Value) != "a" || res.Read["rl/n2"].Version != 0 {
		t.Fatalf("held claim: %+v %v", res, err)
	}
	// The counter kept its count across puts with a lease each time.
	kvs, err := s.List(ctx, "rl/")
	if err != nil || len(kvs) != 1 || kvs[0].Version != 3 {
		t.Fatalf("counters: %+v %v", kvs, err)
	}
}

func TestUpdateWithFromSkipsTheReadAndChains(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	res, err := s.Apply(ctx, store.Txn{If: []store.Cmp{store.IfAbsent("r")}, Then: []store.Op{store.OpPut("r", []byte("0"), time.Minute)}})
	if err != nil || !res.OK {
		t.Fatal(res, err)
	}
	cur, rev := []byte("0"), res.Rev
	for i := 1; i <= 3; i++ {
		calls := 0
		next, nrev, err := s.UpdateWithFrom(ctx, "r", cur, rev, func(c []byte) ([]byte, []store.Op, error) {
			calls++
			return append(c, '+'), []store.Op{store.OpPut("h", c, time.Minute)}, nil
		})
		if err != nil || calls != 1 || nrev <= rev || len(next) != len(cur)+1 {
			t.Fatalf("update %d: %q rev %d→%d calls %d err %v", i, next, rev, nrev, calls, err)
		}
		cur, rev = next, nrev
	}
	// A stale starting point costs one more attempt, from the stored value.
	if err := s.Put(ctx, "r", []byte("x"), time.Minute); err != nil {
		t.Fatal(err)
	}
	var seen []string
	next, _, err := s.UpdateWithFrom(ctx, "r", cur, rev, func(c []byte) ([]byte, []store.Op, error) {
		seen = append(seen, string(c))
		return append(c, '!'), nil, nil
	})
	if err != nil || string(next) != "x!" || len(seen) != 2 || seen[1] != "x" {
		t.Fatalf("stale start: %q %v %v", next, seen, err)
	}
}
