package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ringproof/ringproof/conf"
)

// Fraud and abuse protection (issue 16) against the running server:
// destinations, limits, the pumping guard, the fallback chain, masking,
// and STIR/SHAKEN results on inbound calls.

// errorField returns error.<name> of an error answer.
func (r pageReply) errorField(name string) string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e[name].(string)
	return s
}

// request sends one API request with key and, unless empty, an
// X-Forwarded-For header (the test server trusts loopback as a proxy).
func (s *testServer) request(method, path, key, xff, body string) pageReply {
	s.t.Helper()
	if xff == "" {
		return s.page(method, path, key, "", body)
	}
	return s.page(method, path, key, "", body, "X-Forwarded-For", xff)
}

// inboundBody is a create of an inbound_missed verification of number:
// nothing is dialled or texted for it.
func inboundBody(number string) string {
	return fmt.Sprintf(`{"number":%q,"method":"inbound_missed"}`, number)
}

// mobile returns a valid UK mobile number whose first 6 digits (the
// pumping guard's prefix) are 4474 and p (10 to 99).
func mobile(p, n int) string { return fmt.Sprintf("+4474%02d%06d", p, n) }

// retryAfter returns r's Retry-After in seconds, failing t unless it is
// within lo..hi.
func retryAfter(t *testing.T, r pageReply, lo, hi int) {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < lo || n > hi {
		t.Fatalf("Retry-After %q, want %d to %d s: %d %v", r.header.Get("Retry-After"), lo, hi, r.status, r.body)
	}
}

// records counts the verifications in the store.
func (s *testServer) records() int {
	s.t.Helper()
	kvs, err := s.store.List(context.Background(), "v/")
	if err != nil {
		s.t.Fatal(err)
	}
	return len(kvs)
}

// keyed are API keys of their own for subtests: limits.per_key_per_minute
// counts per key.
var keyed = []string{"fraud-key-0", "fraud-key-1", "fraud-key-2", "fraud-key-3", "fraud-key-4", "fraud-key-5",
	"fraud-key-6", "fraud-key-7", "fraud-key-8", "fraud-key-9"}

func fraudConfig(t *testing.T) *conf.Config {
	c := testConfig(t, "127.0.0.1:5070")
	c.HTTP.APIKeys = append([]string{apiKey}, keyed...)
	c.HTTP.AdminKeys = conf.AdminKeysOf(adminKey)
	c.HTTP.TrustedProxies = []string{"127.0.0.1"}
	c.Inbound.Numbers = []string{dialRange}
	c.Masking.Numbers = []string{"+442079460900-+442079460909"}
	c.Callers = []string{"+442079460000-+442079460899"}
	c.Verification.MaxPerNumberPerHour = 2
	c.Fraud.AllowedCountries = []string{"GB", "GG", "US"}
	c.Fraud.SafeNumbers = []string{"+447499000000-+447499999999"}
	c.Fraud.PumpingGuard = conf.PumpingGuard{Enabled: true, PrefixDigits: 6, WindowS: 3600, MinAttempts: 3, MaxUnverifiedRatio: 0.5}
	c.Limits = conf.Limits{PerKeyPerMinute: 3, PerIPPerMinute: 2, ChecksPerIPPerMinute: 3}
	return c
}

// TestFraudProtection runs every rule but the global limit, the fallback
// chain and inbound calls against one running server.
func TestFraudProtection(t *testing.T) {
	t.Parallel()
	srv := startServer(t, fraudConfig(t))

	t.Run("destinations", func(t *testing.T) {
		before := srv.records()
		for _, tt := range []struct{ number, reason string }{
			{"+33612345678", "country"},      // France
			{"+449098790123", "number_type"}, // UK premium rate
			{"+19005550111", "number_type"},  // US premium rate
			{"+447012345678", "number_type"}, // UK personal number
		} {
			for _, method := range []string{"inbound_missed", "flashcall", "sms", "voice", "keypad_out"} {
				r := srv.request("POST", "/v1/verifications", keyed[0], "198.51.100.10", fmt.Sprintf(`{"number":%q,"method":%q}`, tt.number, method))
				if r.status != 403 || r.errorField("code") != "destination_blocked" || r.errorField("reason") != tt.reason {
					t.Fatalf("%s by %s: %d %v, want 403 destination_blocked, reason %s", tt.number, method, r.status, r.body, tt.reason)
				}
			}
		}
		if n := srv.records(); n != before {
			t.Fatalf("refused creates stored %d verifications", n-before)
		}
		// Refused destinations took nothing from the key's or the address's budget.
		for i := range 2 {
			if r := srv.request("POST", "/v1/verifications", keyed[0], "198.51.100.10", inboundBody(mobile(10+i, 1))); r.status != 201 {
				t.Fatalf("create after refusals: %d %v", r.status, r.body)
			}
		}
	})

	t.Run("per_key", func(t *testing.T) {
		for i := range 3 {
			if r := srv.request("POST", "/v1/verifications", keyed[1], fmt.Sprintf("198.51.100.%d", 20+i), inboundBody(mobile(20+i, 1))); r.status != 201 {
				t.Fatalf("create %d: %d %v", i+1, r.status, r.body)
			}
		}
		r := srv.request("POST", "/v1/verifications", keyed[1], "198.51.100.23", inboundBody(mobile(23, 1)))
		if r.status != 429 || r.errorField("code") != "rate_limited" || r.errorField("limit") != "per_key" || r.errorField("reason") != "per_key" {
			t.Fatalf("4th create of 3 a minute: %d %v", r.status, r.body)
		}
		retryAfter(t, r, 10, 20) // one back every 20 s
	})

	t.Run("per_ip", func(t *testing.T) {
		n := mobile(30, 1)
		for i := range 2 {
			if r := srv.request("POST", "/v1/verifications", keyed[2], "198.51.100.30", inboundBody(mobile(31+i, 1))); r.status != 201 {
				t.Fatalf("create %d: %d %v", i+1, r.status, r.body)
			}
		}
		r := srv.request("POST", "/v1/verifications", keyed[3], "198.51.100.30", inboundBody(n))
		if r.status != 429 || r.errorField("limit") != "per_ip" {
			t.Fatalf("3rd create from one address: %d %v", r.status, r.body)
		}
		retryAfter(t, r, 20, 30)
		// Another client behind the proxy has a budget of its own, and the
		// refused create counted nothing against the number: its hourly
		// limit of 2 still holds 2.
		for i := range 2 {
			if r := srv.request("POST", "/v1/verifications", keyed[3], fmt.Sprintf("198.51.100.%d", 31+i), inboundBody(n)); r.status != 201 {
				t.Fatalf("create %d of the refused number: %d %v", i+1, r.status, r.body)
			}
		}
		if r := srv.request("POST", "/v1/verifications", keyed[4], "198.51.100.33", inboundBody(n)); r.status != 429 || r.errorField("code") != "rate_limited" {
			t.Fatalf("3rd create of a number limited to 2 an hour: %d %v", r.status, r.body)
		}
	})

	t.Run("checks_per_ip", func(t *testing.T) {
		r := srv.request("POST", "/v1/verifications", keyed[5], "198.51.100.40", `{"number":"`+mobile(40, 1)+`","method":"keypad_in"}`)
		if r.status != 201 {
			t.Fatalf("create: %d %v", r.status, r.body)
		}
		path := "/v1/verifications/" + r.body["id"].(string) + "/check"
		for i := range 3 {
			if c := srv.request("POST", path, keyed[5], "198.51.100.41", `{"code":"000"}`); c.status == 429 {
				t.Fatalf("check %d: %v", i+1, c.body)
			}
		}
		c := srv.request("POST", path, keyed[5], "198.51.100.41", `{"code":"000"}`)
		if c.status != 429 || c.errorField("limit") != "checks_per_ip" {
			t.Fatalf("4th check of 3 a minute: %d %v", c.status, c.body)
		}
		retryAfter(t, c, 10, 20)
	})

	t.Run("pumping_guard", func(t *testing.T) {
		for i := range 3 {
			if r := srv.request("POST", "/v1/verifications", keyed[6], fmt.Sprintf("198.51.100.%d", 50+i), inboundBody(mobile(50, i))); r.status != 201 {
				t.Fatalf("create %d: %d %v", i+1, r.status, r.body)
			}
		}
		// 3 unverified in prefix 447450: the next would make 4 of 4.
		before := srv.records()
		r := srv.request("POST", "/v1/verifications", keyed[6], "198.51.100.53", inboundBody(mobile(50, 3)))
		if r.status != 429 || r.errorField("code") != "prefix_suspended" || r.errorField("reason") != "prefix_suspended" {
			t.Fatalf("create past the ratio: %d %v", r.status, r.body)
		}
		retryAfter(t, r, 3500, 3600)
		r = srv.request("POST", "/v1/verifications", keyed[6], "198.51.100.54", inboundBody(mobile(50, 4)))
		if r.status != 429 || r.errorField("code") != "prefix_suspended" {
			t.Fatalf("create to the suspended prefix: %d %v", r.status, r.body)
		}
		if n := srv.records(); n != before {
			t.Fatalf("refused creates stored %d verifications", n-before)
		}
		// Safe numbers are exempt: never counted nor judged.
		for i := range 4 {
			r := srv.request("POST", "/v1/verifications", keyed[7+i/2], fmt.Sprintf("198.51.100.%d", 55+i), inboundBody(fmt.Sprintf("+44749900000%d", i)))
			if r.status != 201 {
				t.Fatalf("safe number %d: %d %v", i+1, r.status, r.body)
			}
		}

		lst := srv.request("GET", "/v1/fraud/prefixes", adminKey, "", "")
		prefixes, _ := lst.body["prefixes"].([]any)
		if lst.status != 200 || len(prefixes) != 1 {
			t.Fatalf("GET /v1/fraud/prefixes: %d %v", lst.status, lst.body)
		}
		p := prefixes[0].(map[string]any)
		if p["prefix"] != "447450" || p["attempts"] != 4.0 || p["verified"] != 0.0 || p["unverified_ratio"] != 1.0 {
			t.Fatalf("suspended prefix %v", p)
		}
		if r := srv.request("GET", "/v1/fraud/prefixes", apiKey, "", ""); r.status != 401 {
			t.Fatalf("GET with an API key: %d", r.status)
		}
		m := metricsText(t, srv)
		for _, want := range []string{
			"ringproof_fraud_suspended_prefixes 1",
			`ringproof_fraud_pumping_decisions_total{decision="suspended"} 1`,
			`ringproof_fraud_pumping_decisions_total{decision="refused"} 1`,
			`ringproof_fraud_refusals_total{country="GB",reason="prefix_suspended"} 2`,
			`ringproof_fraud_refusals_total{country="FR",reason="country"} 5`,
			`ringproof_fraud_refusals_total{country="US",reason="number_type"} 5`,
			`ringproof_fraud_refusals_total{country="GB",reason="per_key"} 1`,
			`ringproof_fraud_refusals_total{country="",reason="checks_per_ip"} 1`,
		} {
			if !strings.Contains(m, want+"\n") {
				t.Errorf("metrics lack %s", want)
			}
		}

		if r := srv.request("DELETE", "/v1/fraud/prefixes/447450", adminKey, "", ""); r.status != 200 || r.body["prefix"] != "447450" {
			t.Fatalf("DELETE: %d %v", r.status, r.body)
		}
		if r := srv.request("DELETE", "/v1/fraud/prefixes/447450", adminKey, "", ""); r.status != 404 {
			t.Fatalf("second DELETE: %d %v", r.status, r.body)
		}
		if r := srv.request("DELETE", "/v1/fraud/prefixes/+447450", adminKey, "", ""); r.status != 400 || r.errorField("field") != "prefix" {
			t.Fatalf("DELETE with '+': %d %v", r.status, r.body)
		}
		if r := srv.request("POST", "/v1/verifications", keyed[9], "198.51.100.59", inboundBody(mobile(50, 5))); r.status != 201 {
			t.Fatalf("create after the lift: %d %v", r.status, r.body)
		}
	})

	t.Run("masking", func(t *testing.T) {
		for _, tt := range []struct{ a, b, field, reason string }{
			{"+33612345678", mobile(60, 1), "a", "country"},
			{mobile(60, 1), "+449098790123", "b", "number_type"},
		} {
			r := srv.request("POST", "/v1/masking/sessions", apiKey, "", fmt.Sprintf(`{"a":%q,"b":%q,"ttl_s":600}`, tt.a, tt.b))
			if r.status != 403 || r.errorField("code") != "destination_blocked" || r.errorField("reason") != tt.reason || r.errorField("field") != tt.field {
				t.Fatalf("session %s-%s: %d %v", tt.a, tt.b, r.status, r.body)
			}
		}
		if r := srv.request("POST", "/v1/masking/sessions", apiKey, "", fmt.Sprintf(`{"a":%q,"b":%q,"ttl_s":600}`, mobile(60, 1), mobile(61, 1))); r.status != 201 {
			t.Fatalf("allowed session: %d %v", r.status, r.body)
		}
	})
}

// TestGlobalLimit: creates past limits.global_per_second across the
// cluster get 429 global with the seconds to wait.
func TestGlobalLimit(t *testing.T) {
	t.Parallel()
	c := fraudConfig(t)
	c.Limits = conf.Limits{GlobalPerSecond: 1}
	srv := startServer(t, c)
	// One a second: of creates sent one after another, the second is
	// refused unless a whole second passed since the first.
	for i := range 20 {
		r := srv.request("POST", "/v1/verifications", apiKey, "", inboundBody(mobile(70+i, 1)))
		if r.status == 201 {
			continue
		}
		if r.status != 429 || r.errorField("code") != "rate_limited" || r.errorField("limit") != "global" {
			t.Fatalf("create %d: %d %v", i+1, r.status, r.body)
		}
		if i == 0 {
			t.Fatal("the first create was refused")
		}
		retryAfter(t, r, 1, 1)
		return
	}
	t.Fatal("20 creates in a row, none refused under 1 a second")
}

// TestFallbackStopsAtABlockedLink: a chain whose next link's prefix was
// suspended meanwhile ends with fallback_failed, and nothing is texted.
func TestFallbackStopsAtABlockedLink(t *testing.T) {
	t.Parallel()
	lines, carrier := phoneCarrier(t, 1)
	c := testConfig(t, carrier)
	c.Fraud.PumpingGuard = conf.PumpingGuard{Enabled: true, PrefixDigits: 6, WindowS: 3600, MinAttempts: 1, MaxUnverifiedRatio: 0.5}
	srv := startServer(t, c)
	st, v := srv.call("POST", "/v1/verifications", `{"number":"`+testNumber+`","method":"flashcall","fallback":["sms"]}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, v)
	}
	id := v["id"].(string)
	nextLine(t, lines, regexp.MustCompile(`^phone: cancelled: call from`))
	srv.waitFor(id, "rang", status("rang"))
	// The flash call counts, unverified: the next create to its prefix
	// suspends it.
	if st, v := srv.call("POST", "/v1/verifications", `{"number":"+447911123457","method":"flashcall"}`); st != 429 {
		t.Fatalf("create to the prefix: %d %v", st, v)
	}
	srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"HANGUP"}`)
	v = srv.waitFor(id, "fallback_failed", hasEvent("fallback_failed"))
	if v["next_id"] != nil {
		t.Fatalf("a next verification was started: %v", v)
	}
	for _, e := range v["events"].([]any) {
		if ev := e.(map[string]any); ev["type"] == "fallback_failed" && ev["reason"] != "prefix_suspended" {
			t.Fatalf("fallback_failed for %v, want prefix_suspended", ev["reason"])
		}
	}
}

// passportOf is a PASSporT attesting level (its signature made up: it is
// not checked).
func passportOf(level string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.example.org/passport.cer"}`)) + "." +
		enc([]byte(`{"attest":"`+level+`","dest":{"tn":["441632960000"]},"iat":1443208345,"orig":{"tn":"447911123456"},"origid":"123e4567-e89b-12d3-a456-426655440000"}`)) + "." +
		enc([]byte("signature"))
}

// TestInboundCallerIDSTIR: trunks that require verstat or an attestation
// level let only such callers verify a number; the results are recorded
// on the inbound_call event and counted.
func TestInboundCallerIDSTIR(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:5070")
	c.Inbound.Numbers = []string{dialRange}
	c.Trunks[0].InboundCIDRs = []string{"127.0.0.1/32"}
	c.Trunks[0].TrustPAI = true
	c.Trunks[0].RequireVerstat = true
	c.Trunks = append(c.Trunks, conf.Trunk{
		Name: "attested", Address: "127.0.0.3:5070", Transport: "udp", MaxCPS: 10,
		InboundCIDRs: []string{"127.0.0.3/32"}, TrustPAI: true, MinAttestation: "B",
	})
	srv := startServer(t, c)
	type call struct {
		scenario, from, number, verstat, attestation string
		verified                                     bool
	}
	calls := []call{
		{"uac_missed_verstat_tel.xml", "127.0.0.1", "+447411000001", "TN-Validation-Passed", "A", true},
		{"uac_missed_verstat_sip.xml", "127.0.0.1", "+447411000002", "TN-Validation-Failed", "A", false},
		{"uac_missed_verstat_tel.xml", "127.0.0.1", "+447411000003", "No-TN-Validation", "A", false},
		{"uac_missed_verstat_sip.xml", "127.0.0.3", "+447411000004", "TN-Validation-Passed", "C", false},
		{"uac_missed_verstat_sip.xml", "127.0.0.3", "+447411000005", "TN-Validation-Passed", "A", true},
		{"uac_missed_verstat_tel.xml", "127.0.0.3", "+447411000006", "TN-Validation-Passed", "B", true},
	}
	ids := make([]string, len(calls))
	for i, cl := range calls {
		var dial string
		ids[i], dial = srv.createInbound(cl.number)
		attest := cl.attestation
		if cl.scenario == "uac_missed_verstat_sip.xml" {
			attest = passportOf(cl.attestation)
		}
		callers(t, srv, cl.scenario, local(t, cl.from), []string{cl.number + ";" + dial + ";" + cl.verstat + ";" + attest})
	}
	for i, cl := range calls {
		_, v := srv.call("GET", "/v1/verifications/"+ids[i], "")
		if !cl.verified {
			if v["status"] != "pending" {
				t.Fatalf("call %d (%s, attestation %s) verified through a trunk that distrusts it: %v", i, cl.verstat, cl.attestation, v)
			}
			continue
		}
		if v["status"] != "verified" {
			t.Fatalf("call %d (%s, attestation %s) did not verify: %v", i, cl.verstat, cl.attestation, v)
		}
		var ev map[string]any
		for _, e := range v["events"].([]any) {
			if e.(map[string]any)["type"] == "inbound_call" {
				ev = e.(map[string]any)
			}
		}
		if ev == nil || ev["verstat"] != cl.verstat || ev["attestation"] != cl.attestation {
			t.Fatalf("call %d: inbound_call event %v, want verstat %s attestation %s", i, ev, cl.verstat, cl.attestation)
		}
	}
	m := metricsText(t, srv)
	for _, want := range []string{
		`ringproof_inbound_verstat_total{verstat="passed"} 4`,
		`ringproof_inbound_verstat_total{verstat="failed"} 1`,
		`ringproof_inbound_verstat_total{verstat="no_validation"} 1`,
		`ringproof_inbound_attestation_total{attestation="A"} 4`,
		`ringproof_inbound_attestation_total{attestation="C"} 1`,
		`ringproof_inbound_calls_total{outcome="untrusted_verstat"} 2`,
		`ringproof_inbound_calls_total{outcome="untrusted_attestation"} 1`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}
