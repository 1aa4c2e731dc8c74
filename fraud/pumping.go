package fraud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/store"
)

// The pumping guard counts, per number prefix, the verifications created in
// a sliding window and how many of them were verified. SMS pumping and
// toll fraud on calls send verifications to ranges the fraudster is paid
// for and never verify them; real users verify most of theirs. Once a
// prefix has min_attempts verifications in the window, a create that
// would take its share of unverified ones above max_unverified_ratio is
// refused and the prefix suspended until the window clears (or an
// operator lifts it).
//
// Counting costs no store request on the create path: each node counts
// in memory and writes its counts of the prefixes that changed once a
// second, one key per prefix and node (fraud/pumping/<prefix>/<node>);
// every node watches fraud/ and so holds every node's counts, the
// suspensions (fraud/suspended/<prefix>) and the lifts
// (fraud/lifted/<prefix>). A decision sees this node's creates at once and
// the others' within about a second.

// Store keys of the pumping guard, under the store prefix.
const (
	keyRoot       = "fraud/"
	countsPrefix  = keyRoot + "pumping/"
	suspendPrefix = keyRoot + "suspended/"
	liftedPrefix  = keyRoot + "lifted/"
)

// buckets is how many parts the window is cut into: the counts slide by
// window/buckets.
const buckets = 12

// flushEvery is how often a node writes its changed counts.
const flushEvery = time.Second

// Decisions of the pumping guard, as metrics count them.
const (
	DecisionOff       = "off"        // guard disabled
	DecisionSafe      = "safe"       // a safe number: not counted
	DecisionNotJudged = "not_judged" // fewer than min_attempts in the window
	DecisionPassed    = "passed"     // judged, and under the ratio
	DecisionSuspended = "suspended"  // this create suspended its prefix
	DecisionRefused   = "refused"    // the prefix was suspended already
)

// Suspension is a suspended prefix, as stored and as GET /v1/fraud/prefixes
// shows it: the figures that suspended it.
type Suspension struct {
	Prefix          string    `json:"prefix"`
	SuspendedAt     time.Time `json:"suspended_at"`
	Until           time.Time `json:"until"`
	Attempts        int       `json:"attempts"`
	Verified        int       `json:"verified"`
	UnverifiedRatio float64   `json:"unverified_ratio"`
}

// counts is one node's counts of one prefix, by the window part
// (bucket) in which the verifications were created.
type counts struct {
	// Epoch is the lift these counts started after (Unix ns; 0: none):
	// counts from before a prefix's latest lift are ignored.
	Epoch   int64    `json:"epoch,omitempty"`
	Buckets []bucket `json:"b"`
}

// bucket is [start (Unix s), created, verified].
type bucket [3]int64

// pumping is the guard's state on this node. It is safe for concurrent
// use.
type pumping struct {
	cfg    conf.PumpingGuard
	window time.Duration
	width  time.Duration
	safe   []conf.NumberRange
	node   string // this node's part of its counts' keys
	st     Store
	log    *slog.Logger
	now    func() time.Time

	mu        sync.Mutex
	own       map[string]*counts            // by prefix
	dirty     map[string]bool               // prefixes whose own counts changed
	others    map[string]map[string]*counts // by prefix, then node
	revs      map[string]int64              // revision applied, by store key
	suspended map[string]Suspension         // by prefix
	lifted    map[string]int64              // latest lift, by prefix
	decisions map[string]uint64
}

func newPumping(st Store, cfg conf.PumpingGuard, safe []conf.NumberRange, node string, log *slog.Logger) *pumping {
	window := time.Duration(cfg.WindowS) * time.Second
	sum := sha256.Sum256([]byte(node))
	return &pumping{
		cfg: cfg, window: window, width: max(window/buckets, time.Second), safe: safe,
		node: hex.EncodeToString(sum[:6]), st: st, log: log, now: time.Now,
		own: map[string]*counts{}, dirty: map[string]bool{}, others: map[string]map[string]*counts{},
		revs: map[string]int64{}, suspended: map[string]Suspension{}, lifted: map[string]int64{},
		decisions: map[string]uint64{},
	}
}

// prefixOf returns the first prefix_digits digits of number (E.164).
func (p *pumping) prefixOf(number string) string {
	d := strings.TrimPrefix(number, "+")
	return d[:min(len(d), p.cfg.PrefixDigits)]
}

// isSafe reports whether number is in fraud.safe_numbers.
func (p *pumping) isSafe(number string) bool {
	d := strings.TrimPrefix(number, "+")
	n, err := strconv.ParseUint(d, 10, 64)
	if err != nil {
		return false
	}
	for _, r := range p.safe {
		if r.Digits == len(d) && r.Contains(n) {
			return true
		}
	}
	return false
}

// admit decides a create of number and, unless refused, counts it. undo
// takes the count back if the create is not made after all.
func (p *pumping) admit(ctx context.Context, number string) (undo func(), err error) {
	if !p.cfg.Enabled {
		p.decide(DecisionOff)
		return func() {}, nil
	}
	if p.isSafe(number) {
		p.decide(DecisionSafe)
		return func() {}, nil
	}
	prefix, now := p.prefixOf(number), p.now()
	p.mu.Lock()
	if s, ok := p.suspended[prefix]; ok && now.Before(s.Until) {
		p.decisions[DecisionRefused]++
		p.mu.Unlock()
		return nil, suspended(prefix, s.Until.Sub(now))
	}
	created, verified := p.totalLocked(prefix, now)
	if created >= p.cfg.MinAttempts {
		after := created + 1
		ratio := float64(after-verified) / float64(after)
		if ratio > p.cfg.MaxUnverifiedRatio {
			s := Suspension{Prefix: prefix, SuspendedAt: now.UTC(), Until: now.Add(p.window).UTC(),
				Attempts: after, Verified: verified, UnverifiedRatio: ratio}
			p.suspended[prefix] = s
			p.decisions[DecisionSuspended]++
			p.mu.Unlock()
			p.log.Warn("pumping guard: prefix suspended", "prefix", prefix, "attempts", after, "verified", verified, "unverified_ratio", ratio, "until", s.Until)
			p.store(ctx, s)
			return nil, suspended(prefix, p.window)
		}
		p.decisions[DecisionPassed]++
	} else {
		p.decisions[DecisionNotJudged]++
	}
	start := p.bucketStart(now)
	p.addLocked(prefix, start, 1, 0)
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.addLocked(prefix, start, -1, 0)
		p.mu.Unlock()
	}, nil
}

// verified counts a verification of number created at created as
// verified.
func (p *pumping) verified(number string, created time.Time) {
	if !p.cfg.Enabled || p.isSafe(number) {
		return
	}
	now := p.now()
	if created.Before(now.Add(-p.window)) {
		return // out of the window already
	}
	p.mu.Lock()
	p.addLocked(p.prefixOf(number), p.bucketStart(created), 0, 1)
	p.mu.Unlock()
}

// store writes suspension s, for the other nodes and the admin API. A
// failure is logged: this node keeps refusing the prefix anyway.
func (p *pumping) store(ctx context.Context, s Suspension) {
	val, _ := json.Marshal(s)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := p.st.Put(ctx, suspendPrefix+s.Prefix, val, time.Until(s.Until)); err != nil {
		p.log.Warn("pumping guard: suspension not stored; other nodes will reach it on their own", "prefix", s.Prefix, "err", err)
	}
}

func (p *pumping) decide(d string) {
	p.mu.Lock()
	p.decisions[d]++
	p.mu.Unlock()
}

// bucketStart is the start (Unix s) of the window part holding t.
func (p *pumping) bucketStart(t time.Time) int64 {
	w := int64(p.width / time.Second)
	return t.Unix() / w * w
}

// addLocked adds to this node's counts of prefix in the bucket starting
// at start. p.mu must be held.
func (p *pumping) addLocked(prefix string, start, created, verified int64) {
	c := p.own[prefix]
	if c == nil {
		c = &counts{Epoch: p.lifted[prefix]}
		p.own[prefix] = c
	}
	for i := range c.Buckets {
		if c.Buckets[i][0] == start {
			c.Buckets[i][1] = max(c.Buckets[i][1]+created, 0)
			c.Buckets[i][2] = max(c.Buckets[i][2]+verified, 0)
			p.dirty[prefix] = true
			return
		}
	}
	c.Buckets = append(c.Buckets, bucket{start, max(created, 0), max(verified, 0)})
	p.dirty[prefix] = true
}

// totalLocked sums every node's counts of prefix within the window at now.
// p.mu must be held.
func (p *pumping) totalLocked(prefix string, now time.Time) (created, verified int) {
	from := now.Add(-p.window).Unix() - int64(p.width/time.Second)
	epoch := p.lifted[prefix]
	add := func(c *counts) {
		if c == nil || c.Epoch < epoch {
			return
		}
		for _, b := range c.Buckets {
			if b[0] > from {
				created += int(b[1])
				verified += int(b[2])
			}
		}
	}
	add(p.own[prefix])
	for node, c := range p.others[prefix] {
		if node != p.node {
			add(c)
		}
	}
	return created, min(verified, created)
}

// figures returns prefix's counts in the window now, for the admin API.
func (p *pumping) figures(prefix string) (created, verified int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.totalLocked(prefix, p.now())
}

// flush writes this node's counts of the prefixes that changed, and
// forgets those with nothing left in the window.
func (p *pumping) flush(ctx context.Context) error {
	now := p.now()
	from := now.Add(-p.window).Unix() - int64(p.width/time.Second)
	ttl := p.window + 2*p.width
	p.mu.Lock()
	var ops []store.Op
	var written []string
	for prefix := range p.dirty {
		written = append(written, prefix)
		c := p.own[prefix]
		kept := c.Buckets[:0]
		for _, b := range c.Buckets {
			if b[0] > from && (b[1] > 0 || b[2] > 0) {
				kept = append(kept, b)
			}
		}
		c.Buckets = kept
		key := countsPrefix + prefix + "/" + p.node
		if len(kept) == 0 && c.Epoch == 0 {
			delete(p.own, prefix)
			ops = append(ops, store.OpDelete(key))
		} else {
			val, _ := json.Marshal(c)
			ops = append(ops, store.OpPut(key, val, ttl))
		}
	}
	clear(p.dirty)
	// What no longer matters ages out here: counts not written for a
	// window, lifts older than a window, suspensions that ended.
	for prefix, c := range p.own {
		if len(c.Buckets) > 0 && c.Buckets[len(c.Buckets)-1][0] <= from {
			delete(p.own, prefix)
		}
	}
	for prefix, epoch := range p.lifted {
		if epoch < now.Add(-ttl).UnixNano() {
			delete(p.lifted, prefix)
		}
	}
	for prefix, s := range p.suspended {
		if !now.Before(s.Until) {
			delete(p.suspended, prefix)
		}
	}
	p.mu.Unlock()
	var errs []error
	for len(ops) > 0 {
		batch := ops[:min(len(ops), 64)]
		ops = ops[len(batch):]
		if _, err := p.st.Commit(ctx, nil, batch); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		p.mu.Lock()
		for _, prefix := range written {
			if p.own[prefix] != nil {
				p.dirty[prefix] = true // write them next time
			}
		}
		p.mu.Unlock()
		return fmt.Errorf("fraud: write pumping counts: %w", err)
	}
	return nil
}

// apply takes one change under fraud/ into this node's view. A change at
// or before the revision already applied to its key is ignored (a watch
// may deliver what a list already showed).
func (p *pumping) apply(key string, val []byte, rev int64, deleted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rev <= p.revs[key] {
		return
	}
	if deleted {
		delete(p.revs, key)
	} else {
		p.revs[key] = rev
	}
	switch {
	case strings.HasPrefix(key, countsPrefix):
		prefix, node, ok := strings.Cut(strings.TrimPrefix(key, countsPrefix), "/")
		if !ok {
			return
		}
		if node == p.node {
			// This node's own counts, written by an earlier run of it
			// (a restart): take them up again.
			var c counts
			if !deleted && p.own[prefix] == nil && json.Unmarshal(val, &c) == nil {
				p.own[prefix] = &c
			}
			return
		}
		if deleted {
			delete(p.others[prefix], node)
			if len(p.others[prefix]) == 0 {
				delete(p.others, prefix)
			}
			return
		}
		var c counts
		if json.Unmarshal(val, &c) != nil {
			return
		}
		if p.others[prefix] == nil {
			p.others[prefix] = map[string]*counts{}
		}
		p.others[prefix][node] = &c
	case strings.HasPrefix(key, suspendPrefix):
		prefix := strings.TrimPrefix(key, suspendPrefix)
		if deleted {
			delete(p.suspended, prefix)
			return
		}
		var s Suspension
		if json.Unmarshal(val, &s) == nil {
			p.suspended[prefix] = s
		}
	case strings.HasPrefix(key, liftedPrefix):
		if deleted {
			return // the lift's counts before it have aged out by now
		}
		epoch, err := strconv.ParseInt(string(val), 10, 64)
		if err == nil {
			p.liftLocked(strings.TrimPrefix(key, liftedPrefix), epoch)
		}
	}
}

// liftLocked forgets prefix's suspension and every count from before the
// lift at epoch. p.mu must be held.
func (p *pumping) liftLocked(prefix string, epoch int64) {
	if epoch <= p.lifted[prefix] {
		return
	}
	p.lifted[prefix] = epoch
	delete(p.suspended, prefix)
	p.own[prefix] = &counts{Epoch: epoch}
	p.dirty[prefix] = true
}

// lift ends prefix's suspension across the cluster and starts its counts
// afresh. It returns the suspension lifted, or ErrNotSuspended.
func (p *pumping) lift(ctx context.Context, prefix string) (Suspension, error) {
	val, _, err := p.st.Get(ctx, suspendPrefix+prefix)
	if errors.Is(err, store.ErrNotFound) {
		p.mu.Lock()
		s, ok := p.suspended[prefix] // suspended here, not stored
		p.mu.Unlock()
		if !ok {
			return Suspension{}, ErrNotSuspended
		}
		val, _ = json.Marshal(s)
	} else if err != nil {
		return Suspension{}, fmt.Errorf("fraud: lift %s: %w", prefix, err)
	}
	var s Suspension
	if err := json.Unmarshal(val, &s); err != nil {
		return Suspension{}, fmt.Errorf("fraud: lift %s: %w", prefix, err)
	}
	epoch := p.now().UnixNano()
	_, err = p.st.Commit(ctx, nil, []store.Op{
		store.OpDelete(suspendPrefix + prefix),
		store.OpPut(liftedPrefix+prefix, strconv.AppendInt(nil, epoch, 10), p.window+2*p.width),
	})
	if err != nil {
		return Suspension{}, fmt.Errorf("fraud: lift %s: %w", prefix, err)
	}
	p.mu.Lock()
	p.liftLocked(prefix, epoch)
	p.mu.Unlock()
	return s, nil
}

// ErrNotSuspended: no suspension of that prefix to lift.
var ErrNotSuspended = errors.New("fraud: prefix not suspended")

// suspensions returns the prefixes suspended now.
func (p *pumping) suspensions() []Suspension {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Suspension, 0, len(p.suspended))
	for _, s := range p.suspended {
		if now.Before(s.Until) {
			out = append(out, s)
		}
	}
	return out
}

// run follows fraud/ in the store and writes this node's counts every
// second, until ctx ends.
func (p *pumping) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { p.follow(ctx) })
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			// The last second's counts, for the other nodes and the
			// next run of this one.
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := p.flush(fctx); err != nil {
				p.log.Warn("pumping guard: last counts not written", "err", err)
			}
			cancel()
			return
		case <-tick.C:
			if err := p.flush(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn("pumping guard", "err", err)
			}
		}
	}
}

// follow applies the changes under fraud/ until ctx ends. A watch that
// ends (a compaction overtook it, the member lost its leader) is started
// again after reading everything anew.
func (p *pumping) follow(ctx context.Context) {
	for ctx.Err() == nil {
		events := p.st.Watch(ctx, keyRoot)
		kvs, err := p.st.List(ctx, keyRoot)
		if err != nil && ctx.Err() == nil {
			p.log.Warn("pumping guard: cannot read the cluster's counts; retrying", "err", err)
		}
		for _, kv := range kvs {
			p.apply(kv.Key, kv.Value, kv.Rev, false)
		}
		for ev := range events {
			p.apply(ev.Key, ev.Value, ev.Rev, ev.Deleted)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
