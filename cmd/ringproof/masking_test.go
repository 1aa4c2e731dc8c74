package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/media"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/sip"
	"github.com/ringproof/ringproof/sip/sipptest"
)

// Number masking end to end: the test handset calls a proxy number, SIPp
// plays the other party's carrier and answers.

const (
	rider     = "+447911123456"
	driver    = "+447911123457"
	proxyPool = "+447700900000-+447700900009" // Ofcom's drama range
)

// callProxy has the handset call proxy from number and returns what it
// printed.
func callProxy(t *testing.T, srv *testServer, from, proxy string) string {
	return callProxyFor(t, srv, from, proxy, "10s")
}

// callProxyFor is callProxy with the handset giving up (CANCEL) after
// timeout.
func callProxyFor(t *testing.T, srv *testServer, from, proxy, timeout string) string {
	t.Helper()
	var out bytes.Buffer
	run(context.Background(), []string{"phone", "call", "--from", from, "--to", proxy, "--server", srv.SIPAddr().String(), "--timeout", timeout}, &out, io.Discard)
	return out.String()
}

// maskedPair runs a server whose trunk leads to SIPp playing the driver's
// carrier with scenario for calls calls, and pairs the rider with the
// driver; it returns the server, SIPp, and the session as created.
func maskedPair(t *testing.T, scenario string, calls int) (*testServer, *sipptest.Proc, map[string]any) {
	t.Helper()
	driverCarrier := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: scenario, Calls: calls})
	c := testConfig(t, driverCarrier.Addr)
	c.Masking.Numbers, c.Masking.UnknownCaller = []string{proxyPool}, "reject"
	srv := startServer(t, c)
	st, sess := srv.call("POST", "/v1/masking/sessions", `{"a":"`+rider+`","b":"`+driver+`","ttl_s":600}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, sess)
	}
	return srv, driverCarrier, sess
}

func TestMaskedCallIsBridgedWithTheProxyAsCallerID(t *testing.T) {
	t.Parallel()
	srv, driverCarrier, sess := maskedPair(t, "uas_answer.xml", 2)
	proxy, _ := sess["proxy_number"].(string)
	if !strings.HasPrefix(proxy, "+44770090000") || strings.Contains(mustJSON(t, sess), "7911") {
		t.Fatalf("create: %v", sess)
	}
	if out := callProxy(t, srv, rider, proxy); !strings.Contains(out, "phone: answered (200), hung up") {
		t.Fatalf("the rider's call:\n%s", out)
	}
	// The rider's SDP offer goes to the driver's carrier and its answer
	// comes back: the audio flows between the two carriers.
	riderCarrier, err := sip.Listen(context.Background(), sip.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer riderCarrier.Close()
	offer := "v=0\r\no=rider 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	dlg, ev := riderCarrier.Dial(context.Background(), sip.Call{Trunk: sip.Trunk{Name: "ringproof", Address: srv.SIPAddr().String()}, From: rider, To: proxy, SDP: []byte(offer)},
		sip.DialOptions{Timeout: 10 * time.Second}, nil)
	if dlg == nil {
		t.Fatalf("the rider's carrier's call was not answered: %+v", ev)
	}
	if !strings.Contains(string(dlg.RemoteSDP), "o=carrier ") {
		t.Fatalf("the rider's carrier got SDP %q; want the driver's carrier's answer", dlg.RemoteSDP)
	}
	// The rider hangs up: the driver's leg is hung up too (SIPp logs the BYE).
	hangup, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := dlg.Hangup(hangup); err != nil {
		t.Fatal(err)
	}

	waitProc(t, driverCarrier)
	records, err := driverCarrier.Log()
	if err != nil || len(records) != 2 {
		t.Fatalf("the driver's carrier logged %d calls (%v)", len(records), err)
	}
	for _, r := range records {
		if r.From != proxy || r.To != driver || r.ByeAt.IsZero() {
			t.Fatalf("the driver's phone saw a call from %s to %s (BYE at %v), want from the proxy %s to %s, hung up when the rider hung up",
				r.From, r.To, r.ByeAt, proxy, driver)
		}
	}

	// Someone without a session on the proxy reaches nobody.
	if out := callProxy(t, srv, "+447911123999", proxy); !strings.Contains(out, "rejected: 404") {
		t.Fatalf("a stranger's call:\n%s", out)
	}
	// Nor does the rider once the session is over.
	if st, _ := srv.call("DELETE", "/v1/masking/sessions/"+sess["id"].(string), ""); st != 200 {
		t.Fatalf("delete: %d", st)
	}
	if out := callProxy(t, srv, rider, proxy); !strings.Contains(out, "rejected: 404") {
		t.Fatalf("the rider's call after the session ended:\n%s", out)
	}
	if st, _ := srv.call("GET", "/v1/masking/sessions/"+sess["id"].(string), ""); st != 404 {
		t.Fatalf("an ended session: %d", st)
	}
}

func TestMaskingSessionsAreExportedAndErased(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:5070")
	c.Masking.Numbers, c.Masking.UnknownCaller = []string{proxyPool}, "reject"
	srv := startServer(t, c)
	st, sess := srv.call("POST", "/v1/masking/sessions", `{"a":"`+rider+`","b":"`+driver+`","ttl_s":600}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, sess)
	}
	proxy := sess["proxy_number"].(string)
	by := privacy.Actor{Operator: "test", Via: "cli"}
	exp, err := srv.vault.Export(context.Background(), rider, by)
	if err != nil || len(exp.Held["masking_routes"]) != 1 {
		t.Fatalf("the rider's export holds %v (%v), want one masking route", exp.Held, err)
	}
	if strings.Contains(mustJSON(t, exp.Held), strings.TrimPrefix(driver, "+")) {
		t.Fatal("the rider's export shows the driver's number")
	}
	if len(exp.MaskingSessions) != 1 || exp.MaskingSessions[0].Proxy != proxy {
		t.Fatalf("the rider's export shows the sessions %+v, want the one through %s", exp.MaskingSessions, proxy)
	}
	e, err := srv.vault.Erase(context.Background(), rider, false, by)
	if err != nil {
		t.Fatal(err)
	}
	// Gone with the rider: its route, the driver's route to it, the
	// session record and the driver's list of them (all of which named
	// the rider's number key), and its history of the session.
	if e.Counts["masking_routes"] != 1 || e.Counts["masking_peers"] != 3 || e.Counts["history"] != 1 {
		t.Fatalf("erasure counts %v", e.Counts)
	}
	nk := srv.vault.Index().Of(rider)
	checkNoTrace(t, "the store", storeDump(t, srv.store), nk, strings.TrimPrefix(rider, "+"))
	// The rider's route is gone, and the driver's route to the rider
	// cannot be opened: neither call connects.
	for _, from := range []string{rider, driver} {
		if out := callProxy(t, srv, from, proxy); !strings.Contains(out, "rejected: 404") {
			t.Fatalf("a call from %s after the rider's erasure:\n%s", privacy.Mask(from), out)
		}
	}
}

func TestMaskingAPIRejectsBadInput(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:5070")
	c.Masking.Numbers = []string{"+447700900000"} // a pool of one
	srv := startServer(t, c)
	tests := []struct {
		body        string
		status      int
		code, field string
	}{
		{`{"a":"12","b":"` + driver + `","ttl_s":60}`, 400, "invalid", "a"},
		{`{"a":"` + rider + `","b":"call me","ttl_s":60}`, 400, "invalid", "b"},
		{`{"a":"` + rider + `","b":"` + rider + `","ttl_s":60}`, 400, "invalid", "b"},
		{`{"a":"` + rider + `","b":"` + driver + `","ttl_s":0}`, 400, "out_of_range", "ttl_s"},
		{`{"a":"` + rider + `","b":"` + driver + `","ttl_s":"60"}`, 400, "invalid_type", "ttl_s"},
		{`{"a":"` + rider + `","b":"` + driver + `","ttl_s":60,"c":"x"}`, 400, "unknown_field", "c"},
	}
	for _, tt := range tests {
		st, v := srv.call("POST", "/v1/masking/sessions", tt.body)
		e, _ := v["error"].(map[string]any)
		if st != tt.status || e == nil || e["code"] != tt.code || e["field"] != tt.field {
			t.Errorf("%s: %d %v, want %d %s naming %s", tt.body, st, v, tt.status, tt.code, tt.field)
		}
	}
	// The pool of one is taken for the rider: a second session of the
	// rider's finds no proxy, another pair's does.
	if st, _ := srv.call("POST", "/v1/masking/sessions", `{"a":"`+rider+`","b":"`+driver+`","ttl_s":60}`); st != 201 {
		t.Fatalf("first session: %d", st)
	}
	if st, v := srv.call("POST", "/v1/masking/sessions", `{"a":"`+rider+`","b":"+447911123999","ttl_s":60}`); st != 409 {
		t.Fatalf("the rider's second session on a pool of one: %d %v", st, v)
	}
	if st, v := srv.call("POST", "/v1/masking/sessions", `{"a":"+447911123998","b":"+447911123999","ttl_s":60}`); st != 201 {
		t.Fatalf("another pair on the same proxy: %d %v", st, v)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMaskedCallCancelledByTheCallerCancelsTheOtherLeg(t *testing.T) {
	t.Parallel()
	srv, driverCarrier, sess := maskedPair(t, "uas_ring_cancel.xml", 1)
	proxy := sess["proxy_number"].(string)
	// The rider gives up while the driver's phone rings.
	if out := callProxyFor(t, srv, rider, proxy, "1s"); strings.Contains(out, "answered") {
		t.Fatalf("the rider's call:\n%s", out)
	}
	waitProc(t, driverCarrier)
	records, err := driverCarrier.Log()
	if err != nil || len(records) != 1 || !records[0].Cancelled || records[0].From != proxy {
		t.Fatalf("the driver's carrier logged %+v (%v), want one call from the proxy, cancelled", records, err)
	}
}

func TestMaskedTextIsPassedOnFromTheProxy(t *testing.T) {
	t.Parallel()
	srv, driverCarrier, sess := maskedPair(t, "uas_message.xml", 1)
	proxy := sess["proxy_number"].(string)
	riderCarrier, err := sip.Listen(context.Background(), sip.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer riderCarrier.Close()
	text := func(from, body string) sip.Event {
		return riderCarrier.SendText(context.Background(), sip.Text{Trunk: sip.Trunk{Name: "ringproof", Address: srv.SIPAddr().String()},
			From: from, To: proxy, Body: body}, 10*time.Second)
	}
	if ev := text(rider, "At the corner by gate 4321"); ev.Kind != sip.EventSent || ev.Status != 202 {
		t.Fatalf("the rider's text: %+v, want 202", ev)
	}
	waitProc(t, driverCarrier)
	records, err := driverCarrier.Log()
	if err != nil || len(records) != 1 {
		t.Fatalf("the driver's carrier logged %d texts (%v)", len(records), err)
	}
	if r := records[0]; r.From != proxy || r.To != driver || r.Fields["code"] != "4321" {
		t.Fatalf("the driver got a text from %s to %s holding %q; want from the proxy %s to %s holding the rider's words", r.From, r.To, r.Fields["code"], proxy, driver)
	}
	if ev := text("+447911123999", "hello 1111"); ev.Kind != sip.EventFailed || ev.Status != 404 {
		t.Fatalf("a stranger's text: %+v, want 404", ev)
	}
}

func TestStrangerCallingAProxyHearsTheAnnouncement(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:5070")
	c.Masking.Numbers = []string{proxyPool} // unknown_caller: announce, the default
	srv := startServer(t, c)
	_, sess := srv.call("POST", "/v1/masking/sessions", `{"a":"`+rider+`","b":"`+driver+`","ttl_s":600}`)
	peer := newRTPPeer(t)
	stranger, err := sip.Listen(context.Background(), sip.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	offer := fmt.Sprintf("v=0\r\no=stranger 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", peer.port())
	dlg, ev := stranger.Dial(context.Background(), sip.Call{Trunk: sip.Trunk{Name: "ringproof", Address: srv.SIPAddr().String()},
		From: "+447911123999", To: sess["proxy_number"].(string), SDP: []byte(offer)}, sip.DialOptions{Timeout: 10 * time.Second}, nil)
	if dlg == nil {
		t.Fatalf("the stranger's call was not answered: %+v", ev)
	}
	// ringproof speaks the announcement and hangs up.
	select {
	case <-dlg.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the announcement never ended")
	}
	want := spoken(t, media.PromptUnidentified)
	checkStream(t, peer.waitPackets(len(want)/media.FrameSamples), media.PCMU, want)
}
