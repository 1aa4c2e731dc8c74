package dialer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/store/storetest"
)

// TestLeaseOnRealStore checks caller-ID leases against a real etcd: a
// number never gets a caller ID that a live verification of it holds.
func TestLeaseOnRealStore(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()

	one, err := NewPool([]conf.NumberRange{{Start: 442079460000, End: 442079460000, Digits: 12}}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := one.Lease(ctx, storeLeaser{st}, "numberA", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := one.Lease(ctx, storeLeaser{st}, "numberA", time.Minute); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("second lease of the only caller ID to one number: %v, want ErrPoolExhausted", err)
	}
	if _, err := one.Lease(ctx, storeLeaser{st}, "numberB", time.Minute); err != nil {
		t.Fatalf("another number cannot share the caller ID: %v", err)
	}

	// 20 live verifications of one number from a pool of 1,000: 20
	// different caller IDs.
	pool, err := NewPool([]conf.NumberRange{{Start: 442079461000, End: 442079461999, Digits: 12}}, 4)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 20 {
		id, err := pool.Lease(ctx, storeLeaser{st}, "numberC", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("caller ID %s leased twice to one number", id)
		}
		seen[id] = true
	}
}
