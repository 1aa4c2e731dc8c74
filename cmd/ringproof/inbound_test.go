package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/sip/sipptest"
)

// Inbound missed-call verification: SIPp plays users' phones calling the
// system numbers through a trunk.

const dialRange = "+441632960000-+441632960009"

func inboundConfig(t *testing.T) *conf.Config {
	c := testConfig(t, "127.0.0.1:5070")
	c.Inbound.Numbers = []string{dialRange}
	c.Trunks[0].InboundCIDRs = []string{"127.0.0.1/32"}
	c.Trunks = append(c.Trunks, conf.Trunk{
		Name: "pbx", Address: "127.0.0.3:5070", Transport: "udp", MaxCPS: 10,
		InboundCIDRs: []string{"127.0.0.3/32"}, TrustPAI: true, Region: "GB",
	})
	return c
}

// createInbound starts an inbound_missed verification and returns its id
// and dial number.
func (s *testServer) createInbound(number string) (id, dial string) {
	s.t.Helper()
	status, v := s.call("POST", "/v1/verifications", fmt.Sprintf(`{"number":%q,"method":"inbound_missed"}`, number))
	if status != http.StatusCreated {
		s.t.Fatalf("create: %d %v", status, v)
	}
	dial, _ = v["dial_number"].(string)
	if !strings.HasPrefix(dial, "+44163296000") {
		s.t.Fatalf("dial_number %q is not a system number: %v", dial, v)
	}
	return v["id"].(string), dial
}

// callers runs SIPp as callers from local (an IP:port on loopback) with one
// call per CSV line and waits until every call has ended.
func callers(t *testing.T, srv *testServer, scenario, local string, lines []string) sipptest.Result {
	t.Helper()
	csv := filepath.Join(t.TempDir(), "calls.csv")
	if err := os.WriteFile(csv, []byte("SEQUENTIAL\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := sipptest.Start(context.Background(), t, sipptest.Options{
		Scenario: scenario, Listen: local, Remote: srv.SIPAddr().String(),
		Calls: len(lines), Rate: 50, ExtraArgs: []string{"-inf", csv},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := p.Wait(ctx)
	if err != nil {
		t.Fatalf("SIPp callers: %v (successful %d failed %d)\n%s", err, res.Successful, res.Failed, res.Errors)
	}
	return res
}

func local(t *testing.T, ip string) string {
	return fmt.Sprintf("%s:%d", ip, sipptest.FreeUDPPort(t))
}

// TestInboundMissedCallVerifiesOnlyTheRightCaller: over SIP, strangers'
// calls and a call to another's dial number verify nothing and the
// number's own call verifies it. Which calls match is tested at length in
// verify (its test of the same name).
func TestInboundMissedCallVerifiesOnlyTheRightCaller(t *testing.T) {
	t.Parallel()
	srv := startServer(t, inboundConfig(t))
	numbers := []string{"+447911123401", "+447911123402", "+447911123403"}
	ids, dials := map[string]string{}, map[string]string{}
	for _, n := range numbers {
		ids[n], dials[n] = srv.createInbound(n)
	}
	// Concurrent verifications spread across the system numbers.
	seen := map[string]bool{}
	for _, d := range dials {
		seen[d] = true
	}
	if len(seen) != len(numbers) {
		t.Fatalf("%d verifications share %d dial numbers: %v", len(numbers), len(seen), dials)
	}

	var lines []string
	// Calls that must verify nothing: strangers, and a pending number
	// calling a system number that is not its own.
	for i := range 5 {
		lines = append(lines, fmt.Sprintf("+4479111239%02d;%s", i, dials[numbers[0]]))
	}
	lines = append(lines, fmt.Sprintf("%s;%s", numbers[1], dials[numbers[2]]))
	callers(t, srv, "uac_missed_call.xml", local(t, "127.0.0.1"), lines)
	for _, n := range numbers {
		if _, v := srv.call("GET", "/v1/verifications/"+ids[n], ""); v["status"] != "pending" {
			t.Fatalf("%s verified by someone else's call: %v", n, v)
		}
	}

	// Each number's own call to its own dial number verifies it. Caller
	// IDs arrive in the forms carriers use: E.164, and digits without '+'.
	lines = nil
	for i, n := range numbers {
		caller := n
		if i%2 == 1 {
			caller = strings.TrimPrefix(n, "+")
		}
		lines = append(lines, fmt.Sprintf("%s;%s", caller, dials[n]))
	}
	callers(t, srv, "uac_missed_call.xml", local(t, "127.0.0.1"), lines)
	for _, n := range numbers {
		_, v := srv.call("GET", "/v1/verifications/"+ids[n], "")
		if v["status"] != "verified" || !strings.Contains(fmt.Sprint(v["events"]), "inbound_call") {
			t.Fatalf("%s not verified by its own call: %v", n, v)
		}
	}
}

func TestInboundCallsThatMustNotVerify(t *testing.T) {
	t.Parallel()
	srv := startServer(t, inboundConfig(t))
	const n = "+447911123456"
	id, dial := srv.createInbound(n)
	line := []string{n + ";" + dial}

	// Withheld caller ID: rejected like any other, verifies nothing.
	callers(t, srv, "uac_missed_anonymous.xml", local(t, "127.0.0.1"), line)
	// From an address no trunk allows: 403.
	callers(t, srv, "uac_missed_forbidden.xml", local(t, "127.0.0.2"), line)
	// P-Asserted-Identity from a trunk not trusted for it: From rules.
	callers(t, srv, "uac_missed_pai.xml", local(t, "127.0.0.1"), []string{n + ";" + dial + ";+447911999999"})
	if _, v := srv.call("GET", "/v1/verifications/"+id, ""); v["status"] != "pending" {
		t.Fatalf("verified by a call that proves nothing: %v", v)
	}
	if st := srv.sip.InboundStats(); st.Forbidden != 1 {
		t.Fatalf("forbidden calls counted %d, want 1", st.Forbidden)
	}
	// The same PAI call from the trunk that is trusted for it verifies.
	callers(t, srv, "uac_missed_pai.xml", local(t, "127.0.0.3"), []string{n + ";" + dial + ";+447911999999"})
	if _, v := srv.call("GET", "/v1/verifications/"+id, ""); v["status"] != "verified" {
		t.Fatalf("trusted P-Asserted-Identity did not verify: %v", v)
	}
}

func TestInboundRemotePartyIDAndNationalCallerID(t *testing.T) {
	t.Parallel()
	srv := startServer(t, inboundConfig(t))
	id1, dial1 := srv.createInbound("+447911123456")
	id2, dial2 := srv.createInbound("+447911123457")
	callers(t, srv, "uac_missed_rpid.xml", local(t, "127.0.0.1"), []string{"+447911123456;" + dial1})
	// The pbx trunk has region GB: a national caller ID is read as British.
	callers(t, srv, "uac_missed_call.xml", local(t, "127.0.0.3"), []string{"07911123457;" + strings.Replace(dial2, "+44", "0", 1)})
	for _, id := range []string{id1, id2} {
		if _, v := srv.call("GET", "/v1/verifications/"+id, ""); v["status"] != "verified" {
			t.Fatalf("%s: %v", id, v)
		}
	}
}

func TestEventStreamSeesTheInboundCall(t *testing.T) {
	t.Parallel()
	srv := startServer(t, inboundConfig(t))
	const n = "+447911123456"
	status, v := srv.call("POST", "/v1/verifications", fmt.Sprintf(`{"number":%q,"method":"inbound_missed"}`, n))
	id, _ := v["id"].(string)
	dial, _ := v["dial_number"].(string)
	token, _ := v["watch_token"].(string)
	if status != http.StatusCreated || len(token) != 32 {
		t.Fatalf("create: %d, no watch_token: %v", status, v)
	}
	// Only the creator learns the token: a read does not show it.
	if _, v := srv.call("GET", "/v1/verifications/"+id, ""); v["watch_token"] != nil {
		t.Fatalf("a GET shows the watch token: %v", v)
	}
	// A wrong token sees nothing.
	if res, err := http.Get(srv.base + "/v1/verifications/" + id + "/events?token=0123456789abcdef0123456789abcdef"); err != nil || res.StatusCode != 404 {
		t.Fatalf("wrong token: %v %v", res.StatusCode, err)
	}
	// The web page subscribes with the watch token alone (EventSource
	// sends no headers).
	events := srv.streamURL("/v1/verifications/" + id + "/events?token=" + token)
	if first := <-events; first["status"] != "pending" || first["number"] != "+44*******456" || first["watch_token"] != nil {
		t.Fatalf("first event %v, want the current state, number masked", first)
	}
	start := time.Now()
	callers(t, srv, "uac_missed_call.xml", local(t, "127.0.0.1"), []string{n + ";" + dial})
	select {
	case v, ok := <-events:
		if !ok || v["status"] != "verified" {
			t.Fatalf("event %v, want verified", v)
		}
		t.Logf("verified event %v after the call started", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatal("no verified event")
	}
	// The stream ends after the final status.
	if _, ok := <-events; ok {
		t.Fatal("stream goes on after a final status")
	}
}

// stream subscribes to a verification's events with the API key.
func (s *testServer) stream(id string) <-chan map[string]any {
	return s.streamURL("/v1/verifications/" + id + "/events")
}

// streamURL reads a Server-Sent Events stream, decoding each data line.
// The channel closes when the stream ends.
func (s *testServer) streamURL(path string) <-chan map[string]any {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	if !strings.Contains(path, "token=") {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		s.t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	events := make(chan map[string]any, 8)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var v map[string]any
				if json.Unmarshal([]byte(data), &v) == nil {
					events <- v
				}
			}
		}
	}()
	return events
}
