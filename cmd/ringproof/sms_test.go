package main

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/ringproof/ringproof/sip/sipptest"
)

// The sms method against SIPp playing a carrier that takes (or refuses)
// text messages as SIP MESSAGE requests.

// textCarrier runs scenario for one message and returns what it logged.
func textCarrier(t *testing.T, scenario string) (*sipptest.Proc, func() sipptest.Record) {
	p := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: scenario, Calls: 1})
	return p, func() sipptest.Record {
		t.Helper()
		waitProc(t, p)
		records, err := p.Log()
		if err != nil || len(records) != 1 {
			t.Fatalf("SIPp logged %d messages (%v), want 1", len(records), err)
		}
		return records[0]
	}
}

func hasEvent(kind string) func(map[string]any) bool {
	return func(v map[string]any) bool { return slices.Contains(eventTypes(v), kind) }
}

func TestSMSCodeReachesTheCarrier(t *testing.T) {
	t.Parallel()
	sipp, received := textCarrier(t, "uas_message.xml")
	srv := startServer(t, testConfig(t, sipp.Addr))
	v := srv.createMethod("sms", testNumber)
	if v["code"] != nil {
		t.Fatalf("an sms verification's code was returned: %v", v)
	}
	id := v["id"].(string)
	got := srv.waitFor(id, "the text sent", hasEvent("sent"))
	if got["status"] != "pending" {
		t.Fatalf("after the carrier took the text: %v", got)
	}
	m := received()
	code := m.Fields["code"]
	srv.noteCode(code)
	if m.From != "+442079460000" || m.To != testNumber || m.Fields["content_type"] != "text/plain" {
		t.Fatalf("the carrier got a text from %s to %s (%s), want from the first caller ID to %s, text/plain", m.From, m.To, m.Fields["content_type"], testNumber)
	}
	if code != srv.storedCode(id) {
		t.Fatal("the text does not carry the verification's code")
	}
	wrong := "0000"
	if code == wrong {
		wrong = "1111"
	}
	if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+wrong+`"}`); c["status"] != "pending" || c["attempts_left"] != float64(2) {
		t.Fatalf("a wrong code: %v", c)
	}
	if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`); c["status"] != "verified" {
		t.Fatalf("the texted code did not verify: %v", c)
	}
}

func TestSMSRefusedByTheCarrierFails(t *testing.T) {
	t.Parallel()
	sipp, received := textCarrier(t, "uas_message_forbidden.xml")
	c := testConfig(t, sipp.Addr)
	c.SMS.From = "+15005550006"
	c.SMS.Text = "Ringproof: {code} is your code"
	srv := startServer(t, c)
	id := srv.createMethod("sms", testNumber)["id"].(string)
	v := srv.waitFor(id, "failed", status("failed"))
	m := received()
	srv.noteCode(m.Fields["code"])
	if v["reason"] != "sms_failed" || m.From != "+15005550006" {
		t.Fatalf("verification %v; the carrier saw a text from %s", v, m.From)
	}
	events := v["events"].([]any)
	if last := events[len(events)-1].(map[string]any); last["type"] != "failed" || last["sip_status"] != float64(403) {
		t.Fatalf("events %v, want failed with 403", events)
	}
	// The code of a text that never left cannot be checked.
	if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+m.Fields["code"]+`"}`); c["status"] != "failed" {
		t.Fatalf("a check after the text failed: %v", c)
	}
}

func TestPhoneShowsTheTextedCode(t *testing.T) {
	t.Parallel()
	lines, carrier := phoneCarrier(t, 1)
	srv := startServer(t, testConfig(t, carrier))
	id := srv.createMethod("sms", testNumber)["id"].(string)
	m := nextLine(t, lines, regexp.MustCompile(`^phone: text from (\+\d+) to (\+\d+): Your verification code is (\d{4})$`))
	srv.noteCode(m[3])
	if m[1] != "+442079460000" || m[2] != testNumber {
		t.Fatalf("phone printed %q", m[0])
	}
	srv.waitFor(id, "the text sent", hasEvent("sent"))
	if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+m[3]+`"}`); c["status"] != "verified" {
		t.Fatalf("the code the phone showed did not verify: %v", c)
	}
}

// TestFlashCallFallsBackToSMS is the RingCaptcha flow: a flash call the
// user says never came (HANGUP) is followed by a text, on the same number.
func TestFlashCallFallsBackToSMS(t *testing.T) {
	t.Parallel()
	lines, carrier := phoneCarrier(t, 2)
	srv := startServer(t, testConfig(t, carrier))
	st, v := srv.call("POST", "/v1/verifications", `{"number":"`+testNumber+`","method":"flashcall","fallback":["sms","voice"]}`)
	if st != 201 || !slices.Equal(v["fallback"].([]any), []any{"sms", "voice"}) {
		t.Fatalf("create: %d %v", st, v)
	}
	id := v["id"].(string)
	nextLine(t, lines, regexp.MustCompile(`^phone: cancelled: call from`))
	srv.waitFor(id, "rang", status("rang"))
	if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"HANGUP"}`); c["status"] != "rang" || c["valid"] != false {
		t.Fatalf("HANGUP: %v", c)
	}
	first := srv.waitFor(id, "a next verification", func(v map[string]any) bool { return v["next_id"] != nil })
	// The call had ended: the request is recorded all the same.
	if first["reason"] != "hangup_requested" || !slices.Contains(eventTypes(first), "hangup_requested") {
		t.Fatalf("HANGUP after the call ended: %v", first)
	}
	next := first["next_id"].(string)
	m := nextLine(t, lines, regexp.MustCompile(`^phone: text from \+\d+ to (\+\d+): Your verification code is (\d{4})$`))
	srv.noteCode(m[2])
	_, nv := srv.call("GET", "/v1/verifications/"+next, "")
	if nv["method"] != "sms" || nv["previous_id"] != id || m[1] != testNumber || !slices.Equal(nv["fallback"].([]any), []any{"voice"}) {
		t.Fatalf("the next verification %v; the phone got a text for %s", nv, m[1])
	}
	if _, c := srv.call("POST", "/v1/verifications/"+next+"/check", `{"code":"`+m[2]+`"}`); c["status"] != "verified" {
		t.Fatalf("the texted code did not verify: %v", c)
	}
}

// TestFallbackLinkStreamEndsWithItsNext: a web page follows a flash call
// with fallback sms on its watch token; after HANGUP the first link's
// stream ends with the state that names the next link, long before the
// link expires, and the next link's stream opens with the same token.
func TestFallbackLinkStreamEndsWithItsNext(t *testing.T) {
	t.Parallel()
	lines, carrier := phoneCarrier(t, 2)
	srv := startServer(t, testConfig(t, carrier))
	st, v := srv.call("POST", "/v1/verifications", `{"number":"`+testNumber+`","method":"flashcall","fallback":["sms"]}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, v)
	}
	id, token := v["id"].(string), v["watch_token"].(string)
	events := srv.streamURL("/v1/verifications/" + id + "/events?token=" + token)
	nextLine(t, lines, regexp.MustCompile(`^phone: cancelled: call from`))
	srv.waitFor(id, "rang", status("rang"))
	if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"HANGUP"}`); c["status"] != "rang" {
		t.Fatalf("HANGUP: %v", c)
	}
	// The link expires in verification.expiry_s (minutes): a stream
	// still open at this deadline stays open until then.
	deadline := time.After(30 * time.Second)
	var last map[string]any
	for open := true; open; {
		select {
		case ev, ok := <-events:
			if open = ok; ok {
				last = ev
			}
		case <-deadline:
			t.Fatalf("the first link's stream is still open; last sent: %v", last)
		}
	}
	if last == nil || last["next_id"] == nil || last["status"] != "rang" {
		t.Fatalf("the stream ended on %v, want the link naming its next", last)
	}
	next := last["next_id"].(string)
	m := nextLine(t, lines, regexp.MustCompile(`^phone: text from \+\d+ to \+\d+: Your verification code is (\d{4})$`))
	srv.noteCode(m[1])
	first, ok := <-srv.streamURL("/v1/verifications/" + next + "/events?token=" + token)
	if !ok || first["id"] != next || first["previous_id"] != id || first["method"] != "sms" {
		t.Fatalf("the next link's stream with the same token: %v", first)
	}
}
