package verify

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// countingStore counts the service's requests to the store.
type countingStore struct {
	*store.Store
	requests atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, int64, error) {
	c.requests.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	c.requests.Add(1)
	return c.Store.Delete(ctx, key)
}

func (c *countingStore) UpdateWithFrom(ctx context.Context, key string, cur []byte, rev int64, fn func(cur []byte) ([]byte, []store.Op, error)) ([]byte, int64, error) {
	c.requests.Add(1)
	if cur == nil {
		c.requests.Add(1) // it reads first
	}
	return c.Store.UpdateWithFrom(ctx, key, cur, rev, fn)
}

// TestInboundMissedTakesThreeRoundTrips: a missed call that verifies
// costs three store requests: the inbound key, the record, and one
// transaction that verifies it and deletes the inbound key.
func TestInboundMissedTakesThreeRoundTrips(t *testing.T) {
	ranges, err := conf.ParseRanges([]string{"+441632960000-+441632960009"})
	if err != nil {
		t.Fatal(err)
	}
	st := &countingStore{Store: storetest.New(t)}
	cfg := Config{CodeLength: 4, MaxCodeLength: 6, Expiry: 5 * time.Minute, MaxAttempts: 3, MaxPerNumberPerHour: 100,
		DialNumbers: ranges, Vault: testVault(t, st.Store)}
	svc := NewService(st, &fakeDialer{}, cfg, func(n string) string { return "k" + strings.TrimPrefix(n, "+") }, storetest.Logger(t))
	t.Cleanup(func() { svc.Close(context.Background()) })
	ctx := context.Background()
	v, err := svc.Create(ctx, CreateRequest{Number: "+447911123456", Method: string(MethodInboundMissed)})
	if err != nil {
		t.Fatal(err)
	}
	svc.lastWrites.clear() // as on another node

	before := st.requests.Load()
	dec := svc.HandleInbound(ctx, InboundCall{Trunk: "t", Dialed: v.DialNumber, CallerID: "+447911123456"})
	if n := st.requests.Load() - before; n != 3 {
		t.Errorf("the missed call took %d store requests, want 3", n)
	}
	if dec.Status != 603 {
		t.Errorf("the call was answered %d, want 603", dec.Status)
	}
	got, err := svc.Get(ctx, v.ID)
	if err != nil || got.Status != StatusVerified {
		t.Fatalf("after the call: %+v, %v", got, err)
	}
	if _, _, err := st.Store.Get(ctx, inboundKey(v.DialNumber, "k447911123456")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the inbound key is still there: %v", err)
	}
	// A second call finds nothing: no key, no write.
	before = st.requests.Load()
	svc.HandleInbound(ctx, InboundCall{Trunk: "t", Dialed: v.DialNumber, CallerID: "+447911123456"})
	if n := st.requests.Load() - before; n != 1 {
		t.Errorf("a call matching nothing took %d store requests, want 1", n)
	}
}
