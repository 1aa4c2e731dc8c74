package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

func TestCreateGetPutDelete(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()

	steps := []struct {
		name    string
		do      func() error
		wantErr error
	}{
		{"get absent", func() error { _, _, err := s.Get(ctx, "v/a"); return err }, store.ErrNotFound},
		{"create", func() error { return s.Create(ctx, "v/a", []byte("1"), 0) }, nil},
		{"create again", func() error { return s.Create(ctx, "v/a", []byte("2"), 0) }, store.ErrExists},
		{"create again with ttl", func() error { return s.Create(ctx, "v/a", []byte("2"), time.Minute) }, store.ErrExists},
		{"get", func() error { return wantValue(ctx, s, "v/a", "1") }, nil},
		{"put overwrites", func() error { return s.Put(ctx, "v/a", []byte("3"), 0) }, nil},
		{"get after put", func() error { return wantValue(ctx, s, "v/a", "3") }, nil},
		{"delete", func() error { return s.Delete(ctx, "v/a") }, nil},
		{"delete absent", func() error { return s.Delete(ctx, "v/a") }, nil},
		{"get deleted", func() error { _, _, err := s.Get(ctx, "v/a"); return err }, store.ErrNotFound},
		{"create after delete", func() error { return s.Create(ctx, "v/a", []byte("4"), time.Minute) }, nil},
	}
	for _, st := range steps {
		err := st.do()
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
	}
}

func wantValue(ctx context.Context, s *store.Store, key, want string) error {
	v, rev, err := s.Get(ctx, key)
	if err != nil {
		return err
	}
	if string(v) != want || rev <= 0 {
		return fmt.Errorf("Get(%q) = %q rev %d, want %q rev > 0", key, v, rev, want)
	}
	return nil
}

func TestKeysLiveUnderPrefix(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	if err := s.Put(ctx, "v/a", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client().Get(ctx, s.Prefix()+"v/a")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "x" {
		t.Fatalf("raw Get(%q) = %v, %v; want value x", s.Prefix()+"v/a", resp, err)
	}
}

func TestListAndDeletePrefix(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	for _, k := range []string{"v/b", "v/a", "v/c", "w/a"} {
		if err := s.Put(ctx, k, []byte("val-"+k), 0); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"v/", []string{"v/a", "v/b", "v/c"}},
		{"w/", []string{"w/a"}},
		{"x/", nil},
		{"", []string{"v/a", "v/b", "v/c", "w/a"}},
	}
	for _, tt := range tests {
		kvs, err := s.List(ctx, tt.prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", tt.prefix, err)
		}
		var got []string
		for _, kv := range kvs {
			got = append(got, kv.Key)
			if string(kv.Value) != "val-"+kv.Key || kv.Rev <= 0 {
				t.Errorf("List(%q): %+v, want value %q and rev > 0", tt.prefix, kv, "val-"+kv.Key)
			}
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("List(%q) keys = %v, want %v", tt.prefix, got, tt.want)
		}
	}

	n, err := s.DeletePrefix(ctx, "v/")
	if err != nil || n != 3 {
		t.Fatalf("DeletePrefix(v/) = %d, %v; want 3", n, err)
	}
	if kvs, err := s.List(ctx, ""); err != nil || len(kvs) != 1 || kvs[0].Key != "w/a" {
		t.Fatalf("List after DeletePrefix = %v, %v; want only w/a", kvs, err)
	}
}

func TestGetWithPageReadsAKeyAndAPrefixTogether(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	for _, k := range []string{"d/x", "o/x/1", "o/x/2", "o/x/3", "o/xy/1", "o/y/1"} {
		if err := s.Put(ctx, k, []byte("val-"+k), 0); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		key, prefix string
		limit       int64
		wantKV      string // "" for absent
		wantPage    []string
		wantMore    bool
	}{
		{"d/x", "o/x/", 2, "val-d/x", []string{"o/x/1", "o/x/2"}, true},
		{"d/x", "o/x/", 3, "val-d/x", []string{"o/x/1", "o/x/2", "o/x/3"}, false},
		{"d/y", "o/y/", 1, "", []string{"o/y/1"}, false},
		{"d/z", "o/z/", 1, "", nil, false},
	}
	for _, tt := range tests {
		kv, page, more, err := s.GetWithPage(ctx, tt.key, tt.prefix, tt.limit)
		if err != nil {
			t.Fatalf("GetWithPage(%q, %q, %d): %v", tt.key, tt.prefix, tt.limit, err)
		}
		switch {
		case tt.wantKV == "" && kv != nil:
			t.Errorf("GetWithPage(%q): key = %+v, want absent", tt.key, kv)
		case tt.wantKV != "" && (kv == nil || string(kv.Value) != tt.wantKV || kv.Key != tt.key || kv.Rev <= 0):
			t.Errorf("GetWithPage(%q): key = %+v, want value %q", tt.key, kv, tt.wantKV)
		}
		var got []string
		for _, p := range page {
			got = append(got, p.Key)
			if string(p.Value) != "val-"+p.Key || p.Rev <= 0 {
				t.Errorf("GetWithPage(%q): page entry %+v, want value %q and rev > 0", tt.key, p, "val-"+p.Key)
			}
		}
		if strings.Join(got, ",") != strings.Join(tt.wantPage, ",") || more != tt.wantMore {
			t.Errorf("GetWithPage(%q, %q, %d) page = %v, more %v; want %v, %v", tt.key, tt.prefix, tt.limit, got, more, tt.wantPage, tt.wantMore)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, _, err := s.GetWithPage(done, "d/x", "o/x/", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("GetWithPage with an ended context: %v, want context.Canceled", err)
	}
}

func TestErrorsNameOpAndKey(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)

	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	canceled, cancel2 := context.WithCancel(t.Context())
	cancel2()

	tests := []struct {
		name            string
		err             error
		wantMsg         string
		wantIs          error
		wantUnavailable bool
	}{
		{
			name:    "not found",
			err:     func() error { _, _, err := s.Get(t.Context(), "v/abc"); return err }(),
			wantMsg: `store: get "v/abc": key not found`,
			wantIs:  store.ErrNotFound,
		},
		{
			name:    "update absent",
			err:     func() error { _, err := s.Update(t.Context(), "v/abc", nil); return err }(),
			wantMsg: `store: update "v/abc": key not found`,
			wantIs:  store.ErrNotFound,
		},
		{
			name:            "deadline passed",
			err:             func() error { _, _, err := s.Get(expired, "v/abc"); return err }(),
			wantMsg:         `store: get "v/abc": context deadline exceeded`,
			wantIs:          context.DeadlineExceeded,
			wantUnavailable: true,
		},
		{
			name:            "update deadline passed",
			err:             func() error { _, err := s.Update(expired, "v/abc", nil); return err }(),
			wantMsg:         `store: update "v/abc": context deadline exceeded`,
			wantIs:          context.DeadlineExceeded,
			wantUnavailable: true,
		},
		{
			name:    "caller canceled",
			err:     s.Put(canceled, "v/abc", nil, 0),
			wantMsg: `store: put "v/abc": context canceled`,
			wantIs:  context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || tt.err.Error() != tt.wantMsg {
				t.Errorf("err = %v, want %q", tt.err, tt.wantMsg)
			}
			if !errors.Is(tt.err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.wantIs)
			}
			if got := errors.Is(tt.err, store.ErrUnavailable); got != tt.wantUnavailable {
				t.Errorf("errors.Is(%v, ErrUnavailable) = %v, want %v", tt.err, got, tt.wantUnavailable)
			}
		})
	}
}

func TestIsUnavailable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{context.DeadlineExceeded, true},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{context.Canceled, false},
		{rpctypes.ErrTimeout, true},
		{rpctypes.ErrNoLeader, true},
		{rpctypes.ErrGRPCNoLeader, true},
		{rpctypes.ErrTooManyRequests, true},
		{status.Error(codes.Unavailable, "connection refused"), true},
		{clientv3.ErrNoAvailableEndpoints, true},
		{rpctypes.ErrPermissionDenied, false},
		{rpctypes.ErrLeaseNotFound, false},
		{store.ErrNotFound, false},
		{errors.New("boom"), false},
	}
	for _, tt := range tests {
		if got := store.IsUnavailable(tt.err); got != tt.want {
			t.Errorf("isUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("Ready on a running store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(t.Context()); err == nil {
		t.Fatal("Ready after Close = nil, want an error")
	}
}

func TestValuesAreCopiedThrough(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := t.Context()
	val := []byte{0, 1, 2, 0xff, '"'}
	if err := s.Put(ctx, "bin", val, 0); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Get(ctx, "bin")
	if err != nil || !bytes.Equal(got, val) {
		t.Fatalf("Get(bin) = %v, %v; want %v", got, err, val)
	}
}

// TestFullStoreSaysSo: when etcd's space quota is reached, writes fail
// wrapping ErrFull (not ErrUnavailable: retrying will not help) and reads
// still work.
func TestFullStoreSaysSo(t *testing.T) {
	t.Parallel()
	c := storetest.Config(t)
	c.QuotaBytes = 4 << 20
	s := storetest.Open(t, c)
	ctx := t.Context()
	val := bytes.Repeat([]byte("x"), 64<<10)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = s.Put(ctx, fmt.Sprintf("fill/%d", i), val, 0)
	}
	if !errors.Is(err, store.ErrFull) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("writing past a 4 MiB quota: %v, want ErrFull", err)
	}
	if _, _, err := s.Get(ctx, "fill/0"); err != nil {
		t.Fatalf("read from a full store: %v", err)
	}
	if err := s.Ready(ctx); !errors.Is(err, store.ErrFull) {
		t.Fatalf("Ready on a full store: %v, want ErrFull", err)
	}
}

// TestFullStoreRecoversOnceSpaceIsBack: after the quota was reached and
// the data that filled it deleted, writes work again with no operator:
// the store compacts, defragments and disarms etcd's NOSPACE alarm, which
// etcd never does by itself.
func TestFullStoreRecoversOnceSpaceIsBack(t *testing.T) {
	t.Parallel()
	c := storetest.Config(t)
	c.QuotaBytes = 4 << 20
	ctx := t.Context()
	s, err := store.Open(ctx, c, storetest.Logger(t), store.WithSpaceCheckEvery(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	val := bytes.Repeat([]byte("x"), 64<<10)
	for i := 0; ; i++ {
		err = s.Put(ctx, fmt.Sprintf("fill/%d", i), val, 0)
		if errors.Is(err, store.ErrFull) {
			break
		}
		if err != nil || i == 1000 {
			t.Fatalf("filling the store: %v after %d writes", err, i)
		}
	}
	if _, err := s.DeletePrefix(ctx, "fill/"); err != nil {
		t.Fatalf("deleting from a full store: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.Put(ctx, "after", []byte("written"), 0)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrFull) || time.Now().After(deadline) {
			t.Fatalf("writing once the data is gone: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready after recovering: %v", err)
	}
}
