package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/ringproof/ringproof/store"
)

// IPLimitPrefix is where per-client-IP counters live: IPLimitPrefix +
// scope + "/" + keyed hash of the IP + "/" + minute (UTC, YYYYMMDDhhmm).
// A counter's count is its store version (store.IfFewer).
const IPLimitPrefix = "ratelimit/ip/"

// StoreIPLimiter is an IPLimiter shared by every node: a fixed one-minute
// window per scope and client IP, counted in the store with one
// transaction per request. The IP is stored only as a keyed hash.
type StoreIPLimiter struct {
	st   applier
	hash func(string) string
	now  func() time.Time
}

// applier runs a store transaction (store.Store).
type applier interface {
	Apply(ctx context.Context, t store.Txn) (store.TxnResult, error)
}

// NewStoreIPLimiter returns a limiter counting in st, naming IPs by
// hash(ip) (a keyed hash such as privacy.Index.Of).
func NewStoreIPLimiter(st applier, hash func(string) string) *StoreIPLimiter {
	return &StoreIPLimiter{st: st, hash: hash, now: time.Now}
}

// Allow counts one request from ip under scope, unless limit requests
// have been counted in the current minute already.
func (l *StoreIPLimiter) Allow(ctx context.Context, scope, ip string, limit int) (bool, time.Duration, error) {
	now := l.now().UTC()
	window := now.Truncate(time.Minute)
	key := IPLimitPrefix + scope + "/" + l.hash("ip "+ip) + "/" + window.Format("200601021504")
	res, err := l.st.Apply(ctx, store.Txn{
		If:   []store.Cmp{store.IfFewer(key, int64(limit))},
		Then: []store.Op{store.OpPut(key, nil, 2*time.Minute)},
	})
	if err != nil {
		return false, 0, fmt.Errorf("verify: limit for client IP: %w", err)
	}
	if res.OK {
		return true, 0, nil
	}
	return false, window.Add(time.Minute).Sub(now), nil
}
