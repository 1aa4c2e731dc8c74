package sipptest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Integration tests: each carrier scenario (uas_*.xml) against a SIPp
// caller (uac_*.xml) on 127.0.0.1.

// pair is the outcome of one UAS scenario run against one UAC scenario.
type pair struct {
	uas, uac       Result
	uasErr, uacErr error
	recs           []Record
}

func runPair(t *testing.T, uasScen, uacScen string, calls int, transport string, uacArgs ...string) pair {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	uas := Start(ctx, t, Options{Scenario: uasScen, Calls: calls, Transport: transport})
	assertBound(t, uas.Addr, transport)
	uac := Start(ctx, t, Options{
		Scenario: uacScen, Remote: uas.Addr, Calls: calls, Rate: 200,
		Transport: transport, ExtraArgs: uacArgs,
	})
	var p pair
	p.uac, p.uacErr = uac.Wait(ctx)
	p.uas, p.uasErr = uas.Wait(ctx)
	var err error
	if p.recs, err = uas.Log(); err != nil {
		t.Fatalf("uas log: %v", err)
	}
	return p
}

// assertBound checks, independently of Start's own polling, that SIPp holds
// its port once Start has returned.
func assertBound(t *testing.T, addr, transport string) {
	t.Helper()
	var err error
	if transport == "t1" {
		var l net.Listener
		if l, err = net.Listen("tcp4", addr); err == nil {
			l.Close()
		}
	} else {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp4", addr); err == nil {
			c.Close()
		}
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("after Start, binding %s gave %v, want EADDRINUSE", addr, err)
	}
}

func (p pair) requireSuccess(t *testing.T, calls int) {
	t.Helper()
	if p.uasErr != nil || p.uacErr != nil {
		t.Fatalf("uas: %v\nuac: %v", p.uasErr, p.uacErr)
	}
	for side, r := range map[string]Result{"uas": p.uas, "uac": p.uac} {
		if r.ExitCode != ExitOK || r.Successful != calls || r.Failed != 0 {
			t.Errorf("%s: exit %d, %d successful, %d failed; want 0, %d, 0", side, r.ExitCode, r.Successful, r.Failed, calls)
		}
	}
	if len(p.recs) != calls {
		t.Fatalf("%d records, want %d: %q", len(p.recs), calls, p.uas.LogLines)
	}
	from := make(map[string]bool)
	for _, r := range p.recs {
		from[r.From] = true
	}
	for i := 1; i <= calls; i++ {
		if !from[fmt.Sprintf("caller%d", i)] {
			t.Errorf("no record from caller%d", i)
		}
	}
}

// checkCancel checks a record of a call cancelled after provisional prov.
func checkCancel(prov int) func(t *testing.T, r Record) {
	return func(t *testing.T, r Record) {
		t.Helper()
		if !r.Cancelled || r.Prov != prov {
			t.Errorf("call %d: Cancelled=%v Prov=%d, want true, %d", r.Call, r.Cancelled, r.Prov, prov)
		}
		if !r.BranchMatch || r.CancelBranch != r.InviteBranch || r.InviteBranch == "" {
			t.Errorf("call %d: CANCEL branch %q, INVITE branch %q, match=%v", r.Call, r.CancelBranch, r.InviteBranch, r.BranchMatch)
		}
		if !r.CSeqMatch || r.CancelCSeq != r.InviteCSeq || r.CancelMethod != "CANCEL" {
			t.Errorf("call %d: CANCEL CSeq %d %s, INVITE CSeq %d, match=%v", r.Call, r.CancelCSeq, r.CancelMethod, r.InviteCSeq, r.CSeqMatch)
		}
		if !r.RURIMatch || !r.FromMatch || !r.ToMatch {
			t.Errorf("call %d: Request-URI/From/To match = %v/%v/%v", r.Call, r.RURIMatch, r.FromMatch, r.ToMatch)
		}
		if r.Reaction() < 0 || r.ProvAt.IsZero() {
			t.Errorf("call %d: provisional at %v, CANCEL at %v", r.Call, r.ProvAt, r.CancelAt)
		}
	}
}

func TestRingCancelPairBranchesMatch(t *testing.T) {
	t.Parallel()
	const calls = 20
	p := runPair(t, "uas_ring_cancel.xml", "uac_ring_cancel.xml", calls, "")
	p.requireSuccess(t, calls)
	for _, r := range p.recs {
		checkCancel(180)(t, r)
	}
}

func TestScenarioPairs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		uas, uac  string
		transport string
		uacArgs   []string
		check     func(t *testing.T, r Record)
	}{
		{name: "183 then cancel", uas: "uas_183_cancel.xml", uac: "uac_ring_cancel.xml", check: checkCancel(183)},
		{name: "ring then cancel over TCP", uas: "uas_ring_cancel.xml", uac: "uac_ring_cancel.xml", transport: "t1", check: checkCancel(180)},
		{name: "cancel without ringing", uas: "uas_silent.xml", uac: "uac_silent_cancel.xml", check: func(t *testing.T, r Record) {
			checkCancel(100)(t, r)
			if r.Reaction() < 40*time.Millisecond {
				t.Errorf("call %d: CANCEL %v after the 100, want about the UAC's 50 ms pause", r.Call, r.Reaction())
			}
		}},
		{name: "busy", uas: "uas_busy.xml", uac: "uac_busy.xml", check: func(t *testing.T, r Record) {
			if r.Final != 486 || !r.AckMatch || r.AckBranch != r.InviteBranch || r.Cancelled {
				t.Errorf("call %d: Final=%d AckMatch=%v AckBranch=%q InviteBranch=%q Cancelled=%v",
					r.Call, r.Final, r.AckMatch, r.AckBranch, r.InviteBranch, r.Cancelled)
			}
		}},
		{name: "answered, no cancel", uas: "uas_answer.xml", uac: "uac_answer.xml", check: func(t *testing.T, r Record) {
			if r.Cancelled || r.Final != 200 || r.ByeAt.Before(r.FinalAt) {
				t.Errorf("call %d: Cancelled=%v Final=%d answered %v, BYE %v", r.Call, r.Cancelled, r.Final, r.FinalAt, r.ByeAt)
			}
		}},
		{name: "answer crosses cancel", uas: "uas_answer.xml", uac: "uac_answer_cancel.xml", check: func(t *testing.T, r Record) {
			if !r.Cancelled || r.CancelLate || !r.BranchMatch || !r.CSeqMatch || r.Final != 200 {
				t.Errorf("call %d: Cancelled=%v Late=%v BranchMatch=%v CSeqMatch=%v Final=%d",
					r.Call, r.Cancelled, r.CancelLate, r.BranchMatch, r.CSeqMatch, r.Final)
			}
		}},
		{name: "digest auth then cancel", uas: "uas_auth.xml", uac: "uac_auth.xml", uacArgs: []string{"-au", "ringproof", "-ap", "secret"}, check: func(t *testing.T, r Record) {
			checkCancel(180)(t, r)
			if !r.Auth || r.AuthUser != "ringproof" || r.InviteCSeq != 2 {
				t.Errorf("call %d: Auth=%v AuthUser=%q InviteCSeq=%d, want true, ringproof, 2", r.Call, r.Auth, r.AuthUser, r.InviteCSeq)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const calls = 5
			p := runPair(t, tt.uas, tt.uac, calls, tt.transport, tt.uacArgs...)
			p.requireSuccess(t, calls)
			for _, r := range p.recs {
				tt.check(t, r)
			}
		})
	}
}

func TestCancelWithWrongBranchFailsCall(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(Scenario("uac_ring_cancel.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// Give the CANCEL (and only it) a branch of its own.
	s := string(src)
	i := strings.Index(s, "CANCEL sip:")
	if i < 0 {
		t.Fatal("uac_ring_cancel.xml has no CANCEL")
	}
	s = s[:i] + strings.Replace(s[i:], "-inv;rport", "-other;rport", 1)
	bad := filepath.Join(t.TempDir(), "uac_cancel_wrong_branch.xml")
	if err := os.WriteFile(bad, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}

	const calls = 3
	p := runPair(t, "uas_ring_cancel.xml", bad, calls, "")
	if !errors.Is(p.uasErr, ErrCallsFailed) || p.uas.Failed != calls {
		t.Fatalf("uas: err %v, %d failed; want ErrCallsFailed, %d failed", p.uasErr, p.uas.Failed, calls)
	}
	if len(p.recs) != calls {
		t.Fatalf("%d records, want %d", len(p.recs), calls)
	}
	for _, r := range p.recs {
		if r.BranchMatch || !strings.HasSuffix(r.CancelBranch, "-other") || !r.CSeqMatch {
			t.Errorf("call %d: BranchMatch=%v CancelBranch=%q CSeqMatch=%v", r.Call, r.BranchMatch, r.CancelBranch, r.CSeqMatch)
		}
	}
}

func TestWrongPasswordIsForbidden(t *testing.T) {
	t.Parallel()
	const calls = 2
	p := runPair(t, "uas_auth.xml", "uac_auth.xml", calls, "", "-au", "ringproof", "-ap", "wrong")
	if !errors.Is(p.uasErr, ErrCallsFailed) || p.uas.Failed != calls {
		t.Fatalf("uas: err %v, %d failed; want ErrCallsFailed, %d failed", p.uasErr, p.uas.Failed, calls)
	}
	if len(p.recs) != calls {
		t.Fatalf("%d records, want %d", len(p.recs), calls)
	}
	for _, r := range p.recs {
		if r.Auth || r.Final != 403 || r.Cancelled {
			t.Errorf("call %d: Auth=%v Final=%d Cancelled=%v, want false, 403, false", r.Call, r.Auth, r.Final, r.Cancelled)
		}
	}
}

func TestScenarioIsAbsolute(t *testing.T) {
	p := Scenario("uas_ring_cancel.xml")
	if !filepath.IsAbs(p) {
		t.Fatalf("Scenario() = %q, not absolute", p)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}
