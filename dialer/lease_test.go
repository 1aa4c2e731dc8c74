package dialer

import (
	"context"
	"errors"
	"strings"
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
	if _, err := one.Lease(ctx, storeLeaser{st}, "numberA", nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := one.Lease(ctx, storeLeaser{st}, "numberA", nil, time.Minute); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("second lease of the only caller ID to one number: %v, want ErrPoolExhausted", err)
	}
	if _, err := one.Lease(ctx, storeLeaser{st}, "numberB", nil, time.Minute); err != nil {
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
		id, err := pool.Lease(ctx, storeLeaser{st}, "numberC", nil, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("caller ID %s leased twice to one number", id)
		}
		seen[id] = true
	}
}

// TestLeaseKeysHoldNoCallerID: a caller ID's lease names it by keyed hash,
// never in clear (its last digits are the code), the same for the same
// caller ID so that a number cannot hold it twice.
func TestLeaseKeysHoldNoCallerID(t *testing.T) {
	d, _ := newScripted(t, routedConfig(), nil)
	seen := map[string]string{}
	check := func(what string) {
		t.Helper()
		for range 200 {
			c, err := d.DrawCallerID("+447911123456", "k")
			if err != nil {
				t.Fatal(err)
			}
			name, ok := strings.CutPrefix(c.Key, LeasePrefix+"k/")
			if !ok || strings.Contains(c.Key, strings.TrimPrefix(c.CallerID, "+")[4:]) {
				t.Fatalf("%s: caller ID %s leased under %q", what, c.CallerID, c.Key)
			}
			if prev, ok := seen[c.CallerID]; ok && prev != name {
				t.Fatalf("%s: caller ID %s named %q and %q", what, c.CallerID, prev, name)
			}
			seen[c.CallerID] = name
		}
	}
	check("a random key")
	d.NameLeases(func(id string) string { return "h(" + id[len(id)-2:] + ")" })
	clear(seen)
	check("a given name")
}
