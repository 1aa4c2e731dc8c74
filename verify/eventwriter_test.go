package verify

import (
	"context"
	"testing"
	"time"

	"github.com/ringproof/ringproof/store/storetest"
)

// TestEventWriterCoalescesABurst: a call's events that come within the
// linger are one store write, in order; a lone event is written by itself.
func TestEventWriterCoalescesABurst(t *testing.T) {
	st := storetest.New(t)
	svc := NewService(st, &fakeDialer{callerID: "+442079461234"},
		Config{CodeLength: 4, MaxCodeLength: 6, Expiry: time.Minute, MaxAttempts: 3, MaxPerNumberPerHour: 10, Vault: testVault(t, st)},
		func(n string) string { return "k" + n[1:] }, storetest.Logger(t))
	t.Cleanup(func() { svc.Close(context.Background()) })
	rec, err := svc.newRecord(CreateRequest{Number: "+447911123456", Method: "flashcall"}, "default")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.save(t.Context(), rec, methods[rec.Method]); err != nil {
		t.Fatal(err)
	}
	writes := func() int64 {
		t.Helper()
		kvs, err := st.List(t.Context(), recordKey(rec.ID))
		if err != nil || len(kvs) != 1 {
			t.Fatalf("record: %v %v", kvs, err)
		}
		return kvs[0].Version - 1 // the create is version 1
	}

	w := svc.newEventWriter(rec)
	now := time.Now()
	w.report(CallEvent{Kind: CallDialing, At: now})
	w.report(CallEvent{Kind: CallRinging, Status: 180, At: now.Add(time.Millisecond)})
	w.report(CallEvent{Kind: CallCancelled, Status: 487, At: now.Add(2 * time.Millisecond)})
	w.close()
	if n := writes(); n != 1 {
		t.Fatalf("a burst of three events took %d writes, want 1", n)
	}
	got, err := svc.load(t.Context(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range got.Events {
		kinds = append(kinds, e.Type)
	}
	if len(kinds) != 3 || kinds[0] != "dialing" || kinds[1] != "ringing" || kinds[2] != "cancelled" {
		t.Fatalf("events %v", kinds)
	}

	// A lone event that is not final is written after the linger, without
	// waiting for the call to end.
	w = svc.newEventWriter(got)
	defer w.close()
	w.report(CallEvent{Kind: CallRinging, Status: 183, At: now.Add(time.Second)})
	watch := st.Watch(t.Context(), recordKey(rec.ID))
	deadline := time.After(10 * time.Second)
	for writes() != 2 {
		select {
		case <-watch:
		case <-deadline:
			t.Fatal("a lone event was not written while its call went on")
		}
	}
}
