package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/sip/sipptest"
)

// A trunk's state end to end: OPTIONS pings and registration against
// SIPp, as /readyz, /metrics and routing show it.

// readyz returns srv's GET /readyz status and body.
func readyz(t *testing.T, srv *testServer) (int, map[string]any) {
	t.Helper()
	res, err := http.Get(srv.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("/readyz: %d %q is not JSON", res.StatusCode, data)
	}
	return res.StatusCode, body
}

// waitTrunk waits until /readyz shows trunk in state.
func waitTrunk(t *testing.T, srv *testServer, trunk, state string) map[string]any {
	t.Helper()
	var body map[string]any
	if !poll(30*time.Second, func() bool {
		_, body = readyz(t, srv)
		trunks, _ := body["trunks"].(map[string]any)
		return trunks[trunk] == state
	}) {
		t.Fatalf("trunk %s never %s: /readyz %v", trunk, state, body)
	}
	return body
}

// restartable is a SIPp carrier that the test can stop and start again on
// the same address.
type restartable struct {
	t      *testing.T
	opts   sipptest.Options
	cancel context.CancelFunc
	proc   *sipptest.Proc
}

func startRestartable(t *testing.T, o sipptest.Options) *restartable {
	if o.Listen == "" {
		o.Listen = fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	}
	r := &restartable{t: t, opts: o}
	r.start()
	return r
}

func (r *restartable) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.proc = sipptest.Start(ctx, r.t, r.opts)
}

// stop kills SIPp and waits until it is gone.
func (r *restartable) stop() {
	r.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.proc.Wait(ctx)
}

// methods returns the method= field of the records SIPp logged so far.
func methods(t *testing.T, p *sipptest.Proc) []string {
	recs, err := p.Log()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Fields["method"])
	}
	return out
}

func TestUnansweredPingsTakeATrunkDownAndAnAnswerBringsItBack(t *testing.T) {
	t.Parallel()
	pinged := startRestartable(t, sipptest.Options{Scenario: "uas_options_ring.xml", Timeout: 2 * time.Minute, RecvTimeout: 30 * time.Second})
	backup := carrier(t, "uas_ring_cancel.xml", 1)
	c := withTrunks(testConfig(t, pinged.opts.Listen), []string{"pinged", "backup"}, pinged.opts.Listen, backup.Addr)
	c.Trunks[0].OptionsPingS = 1
	srv := startServer(t, c)
	calledOver := func(number string) []string {
		t.Helper()
		id := srv.create(number)
		v := srv.waitFor(id, "rang", status("rang"))
		return eventTrunks(v)
	}

	// Up: calls take the first trunk, which SIPp answers pings on.
	waitTrunk(t, srv, "pinged", "up")
	if got := calledOver("+447911123401"); !slices.Equal(got, []string{"dialing/pinged", "ringing/pinged", "cancelled/pinged"}) {
		t.Fatalf("with both trunks up: %v", got)
	}
	if !poll(10*time.Second, func() bool { return slices.Contains(methods(t, pinged.proc), "OPTIONS") }) {
		t.Fatalf("SIPp saw no OPTIONS ping: %v", methods(t, pinged.proc))
	}

	// Down after 3 pings without an answer: calls skip it, no failover.
	pinged.stop()
	body := waitTrunk(t, srv, "pinged", "down")
	if body["status"] != "ready" || body["trunks"].(map[string]any)["backup"] != "up" {
		t.Errorf("/readyz with one trunk of the route up: %v", body)
	}
	if m := metricsText(t, srv); !strings.Contains(m, `ringproof_trunk_up{trunk="pinged"} 0`+"\n") || !strings.Contains(m, `ringproof_trunk_up{trunk="backup"} 1`+"\n") {
		t.Errorf("metrics do not show pinged down and backup up")
	}
	if got := calledOver("+447911123402"); !slices.Equal(got, []string{"dialing/backup", "ringing/backup", "cancelled/backup"}) {
		t.Fatalf("with the first trunk down: %v", got)
	}

	// Back as soon as it answers a ping.
	pinged.start()
	waitTrunk(t, srv, "pinged", "up")
	if got := calledOver("+447911123403"); !slices.Equal(got, []string{"dialing/pinged", "ringing/pinged", "cancelled/pinged"}) {
		t.Fatalf("with the first trunk back: %v", got)
	}
	if calls := slices.DeleteFunc(methods(t, pinged.proc), func(m string) bool { return m != "INVITE" }); len(calls) != 1 {
		t.Errorf("the restarted carrier logged calls %v, want one", calls)
	}
}

func TestNoTrunkUpFailsVerificationsAndReadiness(t *testing.T) {
	t.Parallel()
	// Nothing answers at this address.
	c := testConfig(t, fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t)))
	c.Trunks[0].OptionsPingS = 1
	srv := startServer(t, c)
	if code, body := readyz(t, srv); code != http.StatusOK || body["trunks"].(map[string]any)["carrier1"] != "up" {
		t.Fatalf("/readyz at start: %d %v", code, body)
	}
	waitTrunk(t, srv, "carrier1", "down")
	code, body := readyz(t, srv)
	if code != http.StatusServiceUnavailable || body["status"] != "unavailable" || body["reason"] != "no_route" {
		t.Fatalf("/readyz with no trunk up: %d %v", code, body)
	}
	id := srv.create(testNumber)
	v := srv.waitFor(id, "failed", status("failed"))
	if v["reason"] != "no_route" {
		t.Fatalf("verification with no trunk up: %v", v)
	}
	if m := metricsText(t, srv); !strings.Contains(m, `ringproof_no_route_total{route="default"} 1`+"\n") {
		t.Errorf("metrics do not count the no_route")
	}
}

func TestRegistrationRefreshesAndComesBackAfterTheRegistrarRestarts(t *testing.T) {
	t.Parallel()
	registrar := startRestartable(t, sipptest.Options{Scenario: "uas_register.xml", Timeout: 2 * time.Minute,
		RecvTimeout: 30 * time.Second, ExtraArgs: []string{"-key", "expires", "2"}})
	c := testConfig(t, registrar.opts.Listen)
	c.Inbound.Numbers = []string{dialRange}
	tr := &c.Trunks[0]
	tr.Register, tr.Username, tr.Password = true, "ringproof", "secret"
	// Not the registrar's address: calls from there are let in only as
	// the registered trunk's.
	tr.InboundCIDRs = []string{"192.0.2.0/24"}
	srv := startServer(t, c)

	// Registered, then refreshed at about 80 % of the 2 s granted, with
	// one Call-ID and a growing CSeq.
	waitTrunk(t, srv, "carrier1", "up")
	var regs []sipptest.Record
	if !poll(20*time.Second, func() bool {
		regs, _ = registrar.proc.Log()
		return len(regs) >= 3
	}) {
		t.Fatalf("registrations seen: %v", regs)
	}
	for i, r := range regs {
		if r.Fields["auth"] != "true" || r.Fields["auth_user"] != "ringproof" || r.Fields["reg_expires"] != "3600" || r.CallID != regs[0].CallID {
			t.Errorf("REGISTER %d: %v", i, r.Fields)
		}
		if !strings.Contains(r.Fields["contact"], "ringproof@"+srv.sip.Addr().String()) {
			t.Errorf("REGISTER %d Contact %q, want ringproof@%s", i, r.Fields["contact"], srv.sip.Addr())
		}
		if i > 0 && mustAtoi(t, r.Fields["reg_cseq"]) <= mustAtoi(t, regs[i-1].Fields["reg_cseq"]) {
			t.Errorf("CSeq %s after %s", r.Fields["reg_cseq"], regs[i-1].Fields["reg_cseq"])
		}
	}

	// A call from the registrar's address is the trunk's, though not in
	// inbound_cidrs (SIPp expects 180 then 603: taken, no verification);
	// from elsewhere it is refused (403).
	callers(t, srv, "uac_missed_call.xml", local(t, "127.0.0.1"), []string{"+447911123401;+441632960000"})
	callers(t, srv, "uac_missed_forbidden.xml", local(t, "127.0.0.2"), []string{"+447911123402;+441632960000"})

	// The registrar restarts, forgetting the binding: ringproof registers
	// there again.
	registrar.stop()
	registrar.start()
	if !poll(30*time.Second, func() bool {
		regs, _ = registrar.proc.Log()
		return len(regs) >= 1 && regs[0].Fields["auth"] == "true"
	}) {
		t.Fatalf("no registration at the restarted registrar: %v", regs)
	}
	waitTrunk(t, srv, "carrier1", "up")

	// Going away, ringproof removes its binding.
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// SIPp writes its log as it goes; the line may come a little later.
	if !poll(10*time.Second, func() bool {
		regs, _ = registrar.proc.Log()
		return len(regs) > 0 && regs[len(regs)-1].Fields["reg_expires"] == "0"
	}) {
		t.Errorf("last REGISTER %v, want Expires: 0", regs[len(regs)-1].Fields)
	}
}
