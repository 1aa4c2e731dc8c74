package verify

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/webhook"
)

// TestChangesNoteEachStatus: a ringing and its cancel written in one
// batch are two changes, a write that changes nothing notes nothing, and
// a fallback's next_id is a change of its own; the deliveries made of
// them keep their ids however often the record is written again.
func TestChangesNoteEachStatus(t *testing.T) {
	at := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	r := &record{ID: "v1", Method: MethodFlashCall, Status: StatusPending, CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute)}
	for i, k := range []CallEventKind{CallDialing, CallRinging, CallCancelled} {
		ev := CallEvent{Kind: k, At: at.Add(time.Duration(i) * time.Millisecond)}
		r.applyCallEvent(ev)
		r.noteChange(ev.At)
	}
	r.noteChange(at.Add(time.Second)) // the write itself: nothing more
	r.Status, r.Reason = StatusFailed, ReasonCall
	r.noteChange(at.Add(2 * time.Second))
	r.NextID = "v2"
	r.noteChange(at.Add(3 * time.Second))
	var got []Status
	for i, c := range r.Changes {
		if c.Seq != int64(i+1) {
			t.Errorf("change %d has seq %d", i, c.Seq)
		}
		got = append(got, c.Status)
	}
	want := []Status{StatusRinging, StatusRang, StatusFailed, StatusFailed}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] || r.Changes[3].NextID != "v2" {
		t.Fatalf("changes %+v", r.Changes)
	}

	s := &Service{now: func() time.Time { return at }, cfg: Config{
		Webhooks: webhook.NewHooks(func(s string) string { return "s1" }),
		Subscriptions: func(*Verification) []conf.Webhook {
			return []conf.Webhook{{URL: "https://app.example/", Secret: "0123456789abcdef", Events: []string{conf.EventVerificationUpdated}}}
		},
	}}
	one, err := s.deliveries(r)
	if err != nil || len(one) != 5 || !one[4].Cancelled || one[3].Cancelled || one[3].Scheduled {
		t.Fatalf("deliveries (4 changes, and the expiry cancelled): %+v, %v", one, err)
	}
	two, _ := s.deliveries(r)
	for i := range one {
		if one[i].ID != two[i].ID {
			t.Fatalf("delivery %d: id %s, then %s", i, one[i].ID, two[i].ID)
		}
	}
	var ev struct {
		Data webhookData `json:"data"`
	}
	if err := json.Unmarshal(one[1].Body, &ev); err != nil || ev.Data.Status != StatusRang || ev.Data.Seq != 2 || ev.Data.Final {
		t.Fatalf("second delivery: %s, %v", one[1].Body, err)
	}

	// A verification that may still expire untouched has its expiry
	// scheduled, a minute after expires_at, as the change after its last.
	p := &record{ID: "v3", Method: MethodFlashCall, Status: StatusPending, CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute)}
	ds, err := s.deliveries(p)
	if err != nil || len(ds) != 1 || !ds[0].Scheduled || !ds[0].NextAt.Equal(p.ExpiresAt.Add(time.Minute)) {
		t.Fatalf("expiry: %+v, %v", ds, err)
	}
	if err := json.Unmarshal(ds[0].Body, &ev); err != nil || ev.Data.Status != StatusExpired || ev.Data.Seq != 1 || !ev.Data.Final {
		t.Fatalf("expiry: %s, %v", ds[0].Body, err)
	}
	// Recorded by a late check, it is the same delivery.
	p.Status, p.Reason = StatusExpired, ReasonExpired
	p.noteChange(p.ExpiresAt.Add(time.Second))
	late, _ := s.deliveries(p)
	if len(late) != 1 || late[0].ID != ds[0].ID || late[0].Scheduled || late[0].Cancelled {
		t.Fatalf("recorded expiry: %+v", late)
	}
}
