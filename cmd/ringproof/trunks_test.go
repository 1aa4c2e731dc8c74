package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/sip/sipptest"
)

// Carrier-grade trunking end to end: routes by destination and failover
// between SIPp carriers.

// withTrunks gives c one trunk per address, named by names, in order.
func withTrunks(c *conf.Config, names []string, addrs ...string) *conf.Config {
	base := c.Trunks[0]
	c.Trunks = nil
	for i, a := range addrs {
		t := base
		t.Name, t.Address = names[i], a
		c.Trunks = append(c.Trunks, t)
	}
	return c
}

// eventTrunks returns the verification's events as "type/trunk".
func eventTrunks(v map[string]any) []string {
	var out []string
	for _, e := range v["events"].([]any) {
		ev := e.(map[string]any)
		tr, _ := ev["trunk"].(string)
		out = append(out, ev["type"].(string)+"/"+tr)
	}
	return out
}

func TestFlashCallFailsOverToTheNextCarrier(t *testing.T) {
	t.Parallel()
	for _, first := range []string{"uas_unavailable.xml", "uas_unresponsive.xml"} {
		t.Run(first, func(t *testing.T) {
			bad := carrier(t, first, 1)
			good := carrier(t, "uas_ring_cancel.xml", 1)
			c := withTrunks(testConfig(t, bad.Addr), []string{"primary", "backup"}, bad.Addr, good.Addr)
			c.Trunks[0].ResponseTimeoutS = 1
			srv := startServer(t, c)

			id := srv.create(testNumber)
			v := srv.waitFor(id, "rang", status("rang"))
			want := []string{"dialing/primary", "failover/primary", "dialing/backup", "ringing/backup", "cancelled/backup"}
			if got := eventTrunks(v); !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			if ev := v["events"].([]any)[1].(map[string]any); first == "uas_unavailable.xml" && ev["sip_status"] != float64(503) {
				t.Errorf("failover event %v, want sip_status 503", ev)
			}
			waitProc(t, good)
			waitProc(t, bad)
			badRec, err := bad.Log()
			if err != nil || len(badRec) != 1 {
				t.Fatalf("first carrier's records %v %v", badRec, err)
			}
			goodRec, err := good.Log()
			if err != nil || len(goodRec) != 1 {
				t.Fatalf("second carrier's records %v %v", goodRec, err)
			}
			// Same caller ID, new call.
			if badRec[0].From != goodRec[0].From || badRec[0].CallID == goodRec[0].CallID {
				t.Fatalf("first attempt from %s (call %s), second from %s (call %s): want the same caller ID, a new Call-ID",
					badRec[0].From, badRec[0].CallID, goodRec[0].From, goodRec[0].CallID)
			}
			code := goodRec[0].From[len(goodRec[0].From)-4:]
			if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`); c["status"] != "verified" {
				t.Fatalf("check after failover: %v", c)
			}
			m := metricsText(t, srv)
			for _, want := range []string{
				`ringproof_trunk_attempts_total{trunk="primary"} 1`,
				`ringproof_trunk_failovers_total{trunk="primary"} 1`,
				`ringproof_trunk_attempts_total{trunk="backup"} 1`,
				`ringproof_trunk_failovers_total{trunk="backup"} 0`,
				`ringproof_trunk_latency_seconds_count{trunk="backup"} 1`,
			} {
				if !strings.Contains(m, want+"\n") {
					t.Errorf("metrics lack %q", want)
				}
			}
		})
	}
}

func TestRoutesByPrefixWithTheirOwnCallerIDs(t *testing.T) {
	t.Parallel()
	us := carrier(t, "uas_ring_cancel.xml", 1)
	uk := carrier(t, "uas_ring_cancel.xml", 1)
	c := withTrunks(testConfig(t, us.Addr), []string{"us", "uk"}, us.Addr, uk.Addr)
	c.Routes = []conf.Route{
		{Prefix: "+1", Trunks: []conf.TrunkGroup{{"us"}}, Callers: []string{"+12025550100-+12025550199"}},
		{Prefix: "+44", Trunks: []conf.TrunkGroup{{"uk"}}},
	}
	srv := startServer(t, c)
	const usNumber = "+12125551234"
	usID, ukID := srv.create(usNumber), srv.create(testNumber)
	for _, id := range []string{usID, ukID} {
		srv.waitFor(id, "rang", status("rang"))
	}
	waitProc(t, us)
	waitProc(t, uk)
	for _, tt := range []struct {
		p          *sipptest.Proc
		to, trunk  string
		poolPrefix string
		id         string
	}{
		{us, usNumber, "us", "+120255501", usID},
		{uk, testNumber, "uk", "+44207946", ukID},
	} {
		recs, err := tt.p.Log()
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s carrier's records %v %v", tt.trunk, recs, err)
		}
		if recs[0].To != tt.to || !strings.HasPrefix(recs[0].From, tt.poolPrefix) {
			t.Errorf("%s carrier got a call from %s to %s; want to %s from %s…", tt.trunk, recs[0].From, recs[0].To, tt.to, tt.poolPrefix)
		}
		_, v := srv.call("GET", "/v1/verifications/"+tt.id, "")
		if got := eventTrunks(v); !slices.Equal(got, []string{"dialing/" + tt.trunk, "ringing/" + tt.trunk, "cancelled/" + tt.trunk}) {
			t.Errorf("%s verification's events %v", tt.trunk, got)
		}
		code := recs[0].From[len(recs[0].From)-4:]
		if _, c := srv.call("POST", "/v1/verifications/"+tt.id+"/check", `{"code":"`+code+`"}`); c["status"] != "verified" {
			t.Errorf("%s: %v", tt.trunk, c)
		}
	}
}
