package verify

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Calls belong to the node that places them; any node may be asked to hang
// one up, and a node may die with calls in progress. This file routes
// hang-ups to the owner through the store, and closes the calls of dead
// nodes.

// hangupTTL bounds how long a hang-up request waits for its node.
const hangupTTL = time.Minute

// hangupKey is where a hang-up request for node's call id is put.
func hangupKey(node, id string) string { return "hangup/" + node + "/" + id }

// hangupAnywhere ends r's call wherever it is being placed: here at once,
// or on its node through a hang-up request in the store.
func (s *Service) hangupAnywhere(ctx context.Context, r *record) {
	if s.hangupLocal(r.ID) || r.Node == "" || r.Node == s.cfg.Node || r.callOver() {
		return
	}
	if err := s.store.Put(ctx, hangupKey(r.Node, r.ID), []byte{'1'}, hangupTTL); err != nil {
		s.log.Warn("cannot ask the owner node to hang up", "id", r.ID, "node", r.Node, "err", err)
	}
}

// ServeRemoteHangups hangs up this node's calls that other nodes were asked
// to end, until ctx ends. Run it once per node. A request put while no
// watch was open (at start, or while one is set up again after an etcd
// outage or a compaction) is still in the store, since it is deleted only
// once served: each watch, once open, is followed by a read of what is
// already there.
func (s *Service) ServeRemoteHangups(ctx context.Context) {
	prefix := hangupKey(s.cfg.Node, "")
	for ctx.Err() == nil {
		changes := s.store.Watch(ctx, prefix)
		waiting, err := s.store.Keys(ctx, prefix)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("cannot read the hang-up requests waiting; watching for new ones", "err", err)
		}
		for _, key := range waiting {
			s.serveHangup(ctx, prefix, key)
		}
		for ev := range changes {
			if !ev.Deleted {
				s.serveHangup(ctx, prefix, ev.Key)
			}
		}
		// The watch ended (etcd outage, compaction): watch again.
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// serveHangup hangs up the call that the request at key names, if this node
// is placing it, and deletes the request.
func (s *Service) serveHangup(ctx context.Context, prefix, key string) {
	s.hangupLocal(strings.TrimPrefix(key, prefix))
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = s.store.Delete(dctx, key)
}

// NodeLost closes the calls that node was placing when it died: each of its
// verifications whose call has no final event gets a failed event (reason
// node_lost). One whose code cannot have reached the user is failed: its
// phone had not rung, or (voice, keypad) the call was not answered. A flash
// call that rang, or a call that was answered, stays checkable, since the
// code may have been delivered. It returns how many calls it closed.
func (s *Service) NodeLost(ctx context.Context, node string, list func(ctx context.Context, prefix string) ([][]byte, error)) int {
	vals, err := list(ctx, "v/")
	if err != nil {
		s.log.Warn("node lost: cannot list verifications", "node", node, "err", err)
		return 0
	}
	closed := 0
	for _, val := range vals {
		var r record
		if json.Unmarshal(val, &r) != nil || r.Node != node || r.Test || r.callOver() || !traitsOf(r.Method).dials() {
			continue
		}
		_, err := s.update(ctx, r.ID, func(r *record) error {
			if r.callOver() {
				return nil
			}
			ev := CallEvent{Kind: CallFailed, Reason: "node_lost", At: s.now()}
			if r.Status == StatusPending || r.Status == StatusRinging && traitsOf(r.Method).delivers != byRing {
				r.applyCallEvent(ev)
				r.noteChange(ev.At)
				return nil
			}
			// The phone rang or answered: whatever it delivered stays
			// checkable; only the call is closed.
			r.Events = append(r.Events, Event{Type: string(ev.Kind), Reason: ev.Reason, At: ev.At.UTC()})
			return nil
		})
		if err == nil {
			closed++
		}
	}
	if closed > 0 {
		s.log.Warn("closed the calls of a lost node", "node", node, "calls", closed)
	}
	return closed
}
