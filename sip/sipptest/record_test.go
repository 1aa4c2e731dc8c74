package sipptest

import (
	"reflect"
	"testing"
	"time"
)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		check func(t *testing.T, r Record)
	}{{
		name: "ring then cancel",
		line: "sipptest scenario=uas_ring_cancel call=1 call_id=1-18724@127.0.0.1 from=caller1 to=service invite_branch=z9hG4bK-18724-1-inv invite_cseq=1 prov=180 prov_us=1795447818008763 cancel=true cancel_us=1795447818008907 cancel_branch=z9hG4bK-18724-1-inv branch_match=true cancel_cseq=1 cancel_method=CANCEL cseq_match=true ruri_match=true from_match=true to_match=true",
		check: func(t *testing.T, r Record) {
			want := Record{
				Scenario: "uas_ring_cancel", Call: 1, CallID: "1-18724@127.0.0.1",
				From: "caller1", To: "service",
				InviteBranch: "z9hG4bK-18724-1-inv", InviteCSeq: 1,
				Prov: 180, ProvAt: time.UnixMicro(1795447818008763),
				Cancelled: true, CancelAt: time.UnixMicro(1795447818008907),
				CancelBranch: "z9hG4bK-18724-1-inv", BranchMatch: true,
				CancelCSeq: 1, CancelMethod: "CANCEL", CSeqMatch: true,
				RURIMatch: true, FromMatch: true, ToMatch: true,
			}
			r.Fields = nil
			if !reflect.DeepEqual(r, want) {
				t.Errorf("got  %+v\nwant %+v", r, want)
			}
			if got := r.Reaction(); got != 144*time.Microsecond {
				t.Errorf("Reaction() = %v, want 144µs", got)
			}
		},
	}, {
		name: "busy",
		line: "sipptest scenario=uas_busy call=1 call_id=1-18788@127.0.0.1 from=caller1 to=service invite_branch=z9hG4bK-18788-1-inv invite_cseq=1 final=486 final_us=1795447820199216 ack_branch=z9hG4bK-18788-1-inv ack_match=true",
		check: func(t *testing.T, r Record) {
			if r.Final != 486 || !r.AckMatch || r.AckBranch != "z9hG4bK-18788-1-inv" || r.Cancelled {
				t.Errorf("got %+v", r)
			}
			if r.Reaction() != 0 {
				t.Errorf("Reaction() = %v without a CANCEL, want 0", r.Reaction())
			}
		},
	}, {
		name: "answered without cancel leaves cancel fields empty",
		line: "sipptest scenario=uas_answer call=1 call_id=1-18826@127.0.0.1 from=caller1 to=service invite_branch=z9hG4bK-18826-1-inv invite_cseq=1 prov=180 prov_us=1795447821003752 final=200 final_us=1795447821004897 cancel=false cancel_us= cancel_branch= branch_match= cancel_cseq= cancel_method= cseq_match= ruri_match= from_match= to_match= bye_us=1795447821006000",
		check: func(t *testing.T, r Record) {
			if r.Cancelled || !r.CancelAt.IsZero() || r.BranchMatch || r.Final != 200 || r.ByeAt != time.UnixMicro(1795447821006000) {
				t.Errorf("got %+v", r)
			}
			if v, ok := r.Fields["cancel_branch"]; !ok || v != "" {
				t.Errorf(`Fields["cancel_branch"] = %q, %v; want "", true`, v, ok)
			}
		},
	}, {
		name: "late cancel",
		line: "sipptest scenario=uas_answer call=2 cancel=late cancel_us=1795447943396502 branch_match=true",
		check: func(t *testing.T, r Record) {
			if !r.Cancelled || !r.CancelLate {
				t.Errorf("got %+v, want Cancelled and CancelLate", r)
			}
		},
	}, {
		name: "auth",
		line: "sipptest scenario=uas_auth call=3 call_id=3-24298@127.0.0.1 from=caller3 to=service invite_branch=z9hG4bK-24298-3-inv2 invite_cseq=2 auth=false auth_user=ringproof final=403",
		check: func(t *testing.T, r Record) {
			if r.Auth || r.AuthUser != "ringproof" || r.Final != 403 || r.InviteCSeq != 2 {
				t.Errorf("got %+v", r)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRecord(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestParseRecordRejects(t *testing.T) {
	for _, line := range []string{
		"scenario=uas_busy call=1",
		"sipptest call=one",
		"sipptest branch_match=yes",
		"sipptest cancel=maybe",
		"sipptest prov_us=12.5",
		"sipptest orphan",
	} {
		if r, err := ParseRecord(line); err == nil {
			t.Errorf("ParseRecord(%q) = %+v, want an error", line, r)
		}
	}
}

func TestParseRecordsSkipsOtherLines(t *testing.T) {
	recs, err := parseRecords([]string{
		"",
		"some SIPp chatter",
		"sipptest scenario=uas_busy call=1",
		"sipptest scenario=uas_busy call=2",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].Call != 2 {
		t.Fatalf("got %+v, want calls 1 and 2", recs)
	}
}
