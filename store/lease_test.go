package store_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// leaseOf returns the lease attached to key, 0 for none.
func leaseOf(t *testing.T, s *store.Store, key string) clientv3.LeaseID {
	t.Helper()
	resp, err := s.Client().Get(t.Context(), s.Prefix()+key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("raw Get(%q) = %v, %v", key, resp, err)
	}
	return clientv3.LeaseID(resp.Kvs[0].Lease)
}

func TestLeaseExpiryDeletesKeyNoEarlier(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	store.SetLeaseClock(s, time.Second, nil)
	ctx := t.Context()
	const ttl = 2 * time.Second

	events := s.Watch(ctx, "v/")
	start := time.Now()
	if err := s.Create(ctx, "v/short", []byte("x"), ttl); err != nil {
		t.Fatal(err)
	}
	// ttl + granularity + 1 s rounding + 0.5 s expiry sweep, and slack.
	deadline := time.After(ttl + 5*time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("watch closed")
			}
			if !ev.Deleted {
				continue
			}
			if took := time.Since(start); took < ttl {
				t.Fatalf("key expired after %v, before its ttl %v", took, ttl)
			}
			if _, _, err := s.Get(ctx, "v/short"); err == nil {
				t.Fatal("Get finds the key after its delete event")
			}
			return
		case <-deadline:
			t.Fatal("key not deleted in time")
		}
	}
}

func TestLeaseBucketSharing(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	// Pin the clock just after a 5 s boundary so bucket edges are known.
	base := time.Now().Truncate(5 * time.Second).Add(100 * time.Millisecond)
	store.SetLeaseClock(s, 5*time.Second, func() time.Time { return base })
	ctx := t.Context()

	tests := []struct {
		name      string
		ttlA      time.Duration
		ttlB      time.Duration
		wantShare bool
	}{
		{"same bucket", 30 * time.Second, 31 * time.Second, true},
		{"same ttl", time.Minute, time.Minute, true},
		{"below minimum ttl", 100 * time.Millisecond, time.Second, true},
		{"next bucket", 30 * time.Second, 35 * time.Second, false},
		{"far apart", 30 * time.Second, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Put(ctx, "a/"+tt.name, []byte("a"), tt.ttlA); err != nil {
				t.Fatal(err)
			}
			if err := s.Create(ctx, "b/"+tt.name, []byte("b"), tt.ttlB); err != nil {
				t.Fatal(err)
			}
			a, b := leaseOf(t, s, "a/"+tt.name), leaseOf(t, s, "b/"+tt.name)
			if a == 0 || b == 0 {
				t.Fatalf("leases %x, %x; want both set", a, b)
			}
			if (a == b) != tt.wantShare {
				t.Errorf("leases %x and %x: shared = %v, want %v", a, b, a == b, tt.wantShare)
			}
			// Never early: each lease outlives its keys' ttl.
			for _, c := range []struct {
				id  clientv3.LeaseID
				ttl time.Duration
			}{{a, tt.ttlA}, {b, tt.ttlB}} {
				resp, err := s.Client().TimeToLive(ctx, c.id)
				if err != nil {
					t.Fatal(err)
				}
				left := time.Duration(resp.TTL) * time.Second
				if left < min(c.ttl, 2*time.Second)-time.Second || left > c.ttl+5*time.Second+time.Second {
					t.Errorf("lease %x has %v left for a ttl of %v", c.id, left, c.ttl)
				}
			}
		})
	}
}

func TestLeaseGrantedOncePerBucket(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	base := time.Now()
	store.SetLeaseClock(s, 5*time.Second, func() time.Time { return base })
	ctx := t.Context()

	const writers = 32
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			if err := s.Put(ctx, "k/"+string(rune('a'+i)), []byte("x"), time.Minute); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	resp, err := s.Client().Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Leases) != 1 {
		t.Errorf("%d writers in one bucket granted %d leases, want 1", writers, len(resp.Leases))
	}
}

func TestLeaseBucketsExpireFromCache(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	store.SetLeaseClock(s, 5*time.Second, func() time.Time { return time.Unix(0, now.Load()) })
	ctx := t.Context()

	for i, ttl := range []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second} {
		if err := s.Put(ctx, "k/"+ttl.String(), nil, ttl); err != nil {
			t.Fatal(err)
		}
		if got := store.LeaseBuckets(s); got != i+1 {
			t.Fatalf("after %d puts: %d buckets cached, want %d", i+1, got, i+1)
		}
	}
	now.Add(int64(time.Minute)) // every bucket has ended
	if err := s.Put(ctx, "k/later", nil, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := store.LeaseBuckets(s); got != 1 {
		t.Errorf("%d buckets cached after the others ended, want 1", got)
	}
}
