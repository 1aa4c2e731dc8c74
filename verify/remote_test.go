package verify

import (
	"context"
	"testing"
	"time"
)

// TestRemoteHangupPutWhileNoWatchWasOpen: a hang-up request another node
// put while this node was not watching (before it started, or while its
// watch was set up again) still ends the call, and is deleted once served.
func TestRemoteHangupPutWhileNoWatchWasOpen(t *testing.T) {
	svc, v := callUntilHungUp(t)
	ctx := t.Context()
	key := hangupKey(svc.cfg.Node, v.ID)
	if err := svc.store.Put(ctx, key, []byte{'1'}, hangupTTL); err != nil {
		t.Fatal(err)
	}

	// Opened before the request is served, so its deletion is seen.
	wctx, cancelWatch := context.WithTimeout(ctx, 10*time.Second)
	defer cancelWatch()
	changes := svc.store.Watch(wctx, key)

	serving, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.ServeRemoteHangups(serving) }()
	t.Cleanup(func() { stop(); <-done })

	follow(t, svc, v.ID, hasEvent(string(CallCancelled)))
	for ev := range changes {
		if ev.Deleted {
			return
		}
	}
	t.Fatal("the served request was not deleted from the store")
}
