// Package cluster keeps track of the ringproof nodes that share one etcd
// cluster: each node registers itself under a lease it keeps alive, and
// every node watches the others come and go.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Node describes one ringproof node.
type Node struct {
	ID      string    `json:"id"`
	HTTP    string    `json:"http"`
	SIP     string    `json:"sip"`
	Version string    `json:"version"`
	Started time.Time `json:"started"`
}

// DefaultTTL is how long a node stays listed after it stops renewing its
// lease: the time the others take to notice that it died.
const DefaultTTL = 5 * time.Second

// Registry is this node's membership of the cluster. It is safe for
// concurrent use.
type Registry struct {
	cli    *clientv3.Client
	prefix string // absolute key prefix of node entries
	self   Node
	ttl    time.Duration
	log    *slog.Logger

	mu      sync.Mutex
	nodes   map[string]Node
	onLeave []func(id string)
	onCount []func(n int)

	stop context.CancelFunc
	done chan struct{}
}

// Join registers self under keyPrefix+"nodes/" with a lease of ttl, kept
// alive until Leave, and follows the other nodes. If the lease is lost (an
// etcd outage longer than ttl), Join's background loop registers again once
// etcd answers. It returns once self is registered and the current members
// are known.
func Join(ctx context.Context, cli *clientv3.Client, keyPrefix string, self Node, ttl time.Duration, log *slog.Logger) (*Registry, error) {
	if ttl < 2*time.Second {
		ttl = DefaultTTL
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Registry{
		cli: cli, prefix: keyPrefix + "nodes/", self: self, ttl: ttl, log: log,
		nodes: map[string]Node{}, done: make(chan struct{}),
	}
	lease, err := r.register(ctx)
	if err != nil {
		return nil, err
	}
	rev, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	r.stop = stop
	go r.run(bg, lease, rev)
	return r, nil
}

// register grants a lease and puts self under it.
func (r *Registry) register(ctx context.Context) (clientv3.LeaseID, error) {
	g, err := r.cli.Grant(ctx, int64(r.ttl/time.Second))
	if err != nil {
		return 0, fmt.Errorf("cluster: lease: %w", err)
	}
	val, _ := json.Marshal(r.self)
	if _, err := r.cli.Put(ctx, r.prefix+r.self.ID, string(val), clientv3.WithLease(g.ID)); err != nil {
		return 0, fmt.Errorf("cluster: register %s: %w", r.self.ID, err)
	}
	return g.ID, nil
}

// load reads the current members and returns the revision to watch from.
func (r *Registry) load(ctx context.Context) (int64, error) {
	res, err := r.cli.Get(ctx, r.prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("cluster: list nodes: %w", err)
	}
	nodes := map[string]Node{}
	for _, kv := range res.Kvs {
		var n Node
		if json.Unmarshal(kv.Value, &n) == nil {
			nodes[n.ID] = n
		}
	}
	r.mu.Lock()
	gone := []string{}
	for id := range r.nodes {
		if _, ok := nodes[id]; !ok {
			gone = append(gone, id)
		}
	}
	r.nodes = nodes
	r.mu.Unlock()
	for _, id := range gone {
		r.left(id)
	}
	r.counted()
	return res.Header.Revision + 1, nil
}

// run keeps the lease alive and the member list current until Leave.
func (r *Registry) run(ctx context.Context, lease clientv3.LeaseID, rev int64) {
	defer close(r.done)
	for ctx.Err() == nil {
		r.follow(ctx, lease, rev)
		if ctx.Err() != nil {
			return
		}
		// The lease or the watch was lost: register again once etcd
		// answers.
		for ctx.Err() == nil {
			rctx, cancel := context.WithTimeout(ctx, r.ttl)
			var err error
			lease, err = r.register(rctx)
			if err == nil {
				rev, err = r.load(rctx)
			}
			cancel()
			if err == nil {
				r.log.Info("cluster: registered again", "node", r.self.ID)
				break
			}
			r.log.Warn("cluster: cannot register", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// follow keeps lease alive and applies membership changes until either
// stream ends.
func (r *Registry) follow(ctx context.Context, lease clientv3.LeaseID, rev int64) {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	alive, err := r.cli.KeepAlive(fctx, lease)
	if err != nil {
		return
	}
	changes := r.cli.Watch(clientv3.WithRequireLeader(fctx), r.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-alive:
			if !ok {
				return
			}
		case wr, ok := <-changes:
			if !ok || wr.Err() != nil {
				return
			}
			for _, ev := range wr.Events {
				id := strings.TrimPrefix(string(ev.Kv.Key), r.prefix)
				if ev.Type == clientv3.EventTypeDelete {
					r.mu.Lock()
					delete(r.nodes, id)
					r.mu.Unlock()
					r.left(id)
				} else {
					var n Node
					if json.Unmarshal(ev.Kv.Value, &n) == nil {
						r.mu.Lock()
						r.nodes[id] = n
						r.mu.Unlock()
					}
				}
				r.counted()
			}
		}
	}
}

// left tells the OnLeave callbacks about a node that is gone (not self).
func (r *Registry) left(id string) {
	if id == r.self.ID {
		return
	}
	r.mu.Lock()
	fns := slices.Clone(r.onLeave)
	r.mu.Unlock()
	for _, fn := range fns {
		fn(id)
	}
}

func (r *Registry) counted() {
	r.mu.Lock()
	n := max(len(r.nodes), 1)
	fns := slices.Clone(r.onCount)
	r.mu.Unlock()
	for _, fn := range fns {
		fn(n)
	}
}

// OnLeave has fn called, from the registry's goroutine, with the ID of each
// other node whose registration ends (it left, or its lease expired).
func (r *Registry) OnLeave(fn func(id string)) {
	r.mu.Lock()
	r.onLeave = append(r.onLeave, fn)
	r.mu.Unlock()
}

// OnCount has fn called with the number of live nodes now and whenever it
// changes.
func (r *Registry) OnCount(fn func(n int)) {
	r.mu.Lock()
	r.onCount = append(r.onCount, fn)
	n := max(len(r.nodes), 1)
	r.mu.Unlock()
	fn(n)
}

// Self is this node.
func (r *Registry) Self() Node { return r.self }

// Nodes lists the live nodes, sorted by ID.
func (r *Registry) Nodes() []Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Node, 0, len(r.nodes))
	for _, n := range r.nodes {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Leave deregisters this node (revoking its lease) and stops following.
func (r *Registry) Leave(ctx context.Context) error {
	r.stop()
	<-r.done
	_, err := r.cli.Delete(ctx, r.prefix+r.self.ID)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	return nil
}
