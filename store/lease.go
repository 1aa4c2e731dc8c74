package store

import (
	"context"
	"errors"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

const (
	// leaseGranularity is the width of a lease bucket: keys whose expiry
	// falls in the same bucket share one lease.
	leaseGranularity = 5 * time.Second
	// minLeaseTTL is etcd's minimum lease TTL; shorter requests are raised
	// to it by the server anyway.
	minLeaseTTL = 2 * time.Second
	// longTTLBuckets: a TTL longer than this many granules gets buckets of
	// 1/longTTLBuckets of the TTL instead, so that keys kept for weeks
	// (retention) cost about a thousand live leases, not one per 5 s.
	longTTLBuckets = 1024
)

// leaseCache hands out shared leases so that writing a key with a TTL costs
// no lease round trip in the common case: every key that must live until a
// moment in the same bucket [end-granularity, end) gets the bucket's single
// lease, which expires no earlier than end.
//
// Guarantee: a key attached to the lease returned by get(ctx, ttl) at time
// t lives at least until t+ttl (unless deleted or revoked), and at most
// until t+ttl+width+1s (etcd TTLs are whole seconds) plus etcd's expiry
// sweep (~0.5 s), width being the granularity, or for a TTL over 1024
// granules, ttl/1024 rounded down to whole granules. With a TTL below etcd's 2 s minimum the key lives
// at least 2 s.
//
// Why never early: the lease for bucket end is granted at local time g, with
// TTL ceil(end-g) seconds (at least 2); etcd starts its clock when it
// receives the request, after g, so the lease expires after end, and every
// key placed in the bucket needed to live only until end.
type leaseCache struct {
	lease   clientv3.Lease
	ctx     context.Context // ends when the store closes
	timeout time.Duration   // bounds one grant
	wg      sync.WaitGroup  // grant goroutines

	gran time.Duration
	now  func() time.Time

	mu      sync.Mutex
	closed  bool
	buckets map[int64]*bucketLease // by bucket end, Unix ns
}

// bucketLease is one bucket's lease, granted once. done closes when the
// grant finished; id and err are set before.
type bucketLease struct {
	end  time.Time
	done chan struct{}
	id   clientv3.LeaseID
	err  error
}

// errClosed is returned by operations on a closed store.
var errClosed = errors.New("store closed")

// newLeaseCache returns a cache granting leases through l. Grants end when
// ctx does; close waits for them.
func newLeaseCache(ctx context.Context, l clientv3.Lease, timeout time.Duration) *leaseCache {
	return &leaseCache{
		lease:   l,
		ctx:     ctx,
		timeout: timeout,
		gran:    leaseGranularity,
		now:     time.Now,
		buckets: make(map[int64]*bucketLease),
	}
}

// get returns a lease that outlives now+ttl by at most one bucket width
// (see leaseCache). Concurrent callers needing the same bucket share a
// single grant; each waits at most until its ctx ends.
func (c *leaseCache) get(ctx context.Context, ttl time.Duration) (clientv3.LeaseID, error) {
	now := c.now()
	end := ceilTime(now.Add(ttl), max(c.gran, (ttl/longTTLBuckets).Truncate(c.gran)))

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, errClosed
	}
	b := c.buckets[end.UnixNano()]
	if b == nil {
		c.sweep(now)
		b = &bucketLease{end: end, done: make(chan struct{})}
		c.buckets[end.UnixNano()] = b
		c.wg.Add(1)
		go c.grant(b, leaseSeconds(end.Sub(now)))
	}
	c.mu.Unlock()

	select {
	case <-b.done:
		return b.id, b.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// grant asks etcd for b's lease. It runs apart from any caller so that one
// caller giving up does not fail the others; a failed grant is forgotten so
// that the next caller retries.
func (c *leaseCache) grant(b *bucketLease, secs int64) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	resp, err := c.lease.Grant(ctx, secs)
	if err != nil {
		b.err = err
		c.forget(b)
	} else {
		b.id = resp.ID
	}
	close(b.done)
}

// close stops new grants and waits for those under way (their context has
// ended by then).
func (c *leaseCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
}

// invalidate forgets the bucket holding lease id, after etcd reported it
// gone (revoked by hand, or lost): the next get grants a fresh one.
func (c *leaseCache) invalidate(id clientv3.LeaseID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, b := range c.buckets {
		if isClosed(b.done) && b.id == id {
			delete(c.buckets, k)
		}
	}
}

func (c *leaseCache) forget(b *bucketLease) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buckets[b.end.UnixNano()] == b {
		delete(c.buckets, b.end.UnixNano())
	}
}

// sweep drops buckets that ended: no deadline after now can fall in them.
// c.mu must be held.
func (c *leaseCache) sweep(now time.Time) {
	for k, b := range c.buckets {
		if !b.end.After(now) {
			delete(c.buckets, k)
		}
	}
}

// size returns the number of cached buckets.
func (c *leaseCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buckets)
}

// ceilTime returns the first multiple of d (since the zero time) at or
// after t.
func ceilTime(t time.Time, d time.Duration) time.Time {
	r := t.Truncate(d)
	if r.Before(t) {
		r = r.Add(d)
	}
	return r
}

// leaseSeconds rounds d up to whole seconds, at least etcd's minimum TTL.
func leaseSeconds(d time.Duration) int64 {
	d = max(d, minLeaseTTL)
	return int64((d + time.Second - 1) / time.Second)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
