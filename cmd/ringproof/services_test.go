package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
)

const (
	shopKey   = "shop-key-test"
	clinicKey = "clinic-key-test"
)

// TestServicesKeepTheirVerifications runs a node with two services beside
// the implicit one: each service's settings apply to its creates (its
// methods, code length, test numbers, limits), its verifications and
// sessions are listed to it alone, and another service's key gets 404 for
// them on every route, as if they did not exist; the metrics count by
// service.
func TestServicesKeepTheirVerifications(t *testing.T) {
	t.Parallel()
	c := inboundConfig(t)
	c.Masking.Numbers = []string{"+447700900000-+447700900009"}
	c.Services = []conf.Service{
		{Name: "shop", APIKeys: []string{shopKey}, CodeLength: 6, Methods: []string{"inbound_missed", "sms"},
			TestNumbers: []conf.TestNumber{{Number: "+447911123470", Code: "135790"}},
			Limits:      conf.Limits{PerKeyPerMinute: 2}},
		{Name: "clinic", APIKeys: []string{clinicKey}},
	}
	srv := startServer(t, c)
	srv.noteCode("135790")

	// The shop's settings.
	r := srv.request("POST", "/v1/verifications", shopKey, "", inboundBody(testNumber))
	if r.status != 201 || r.body["service"] != "shop" {
		t.Fatalf("the shop's create: %d %v, want 201 of service shop", r.status, r.body)
	}
	shopID := r.body["id"].(string)
	if r := srv.request("POST", "/v1/verifications", shopKey, "", `{"number":"+447911123457","method":"flashcall"}`); r.status != 403 || r.errorField("code") != "method_not_allowed" || r.errorField("field") != "method" {
		t.Fatalf("a flash call for the shop, whose methods exclude it: %d %v, want 403 method_not_allowed naming method", r.status, r.body)
	}
	r = srv.request("POST", "/v1/verifications", shopKey, "", `{"number":"+447911123470","method":"sms"}`)
	if r.status != 201 || r.body["test"] != true || r.body["code_length"] != float64(6) {
		t.Fatalf("the shop's test number: %d %v, want a test verification with a 6-digit code", r.status, r.body)
	}
	testID := r.body["id"].(string)
	if r := srv.request("POST", "/v1/verifications/"+testID+"/check", shopKey, "", `{"code":"135790"}`); r.body["status"] != "verified" {
		t.Fatalf("the shop's test code: %d %v", r.status, r.body)
	}
	// Test numbers are the shop's: another service's create of one is a
	// real one.
	if r := srv.request("POST", "/v1/verifications", clinicKey, "", `{"number":"+447911123470","method":"inbound_missed"}`); r.status != 201 || r.body["test"] == true {
		t.Fatalf("the clinic's create of the shop's test number: %d %v", r.status, r.body)
	}
	// The shop's own per-key limit, 2 a minute (the test create took none).
	if r := srv.request("POST", "/v1/verifications", shopKey, "", inboundBody("+447911123458")); r.status != 201 {
		t.Fatalf("the shop's second create: %d %v", r.status, r.body)
	}
	if r := srv.request("POST", "/v1/verifications", shopKey, "", inboundBody("+447911123459")); r.status != 429 || r.errorField("limit") != "per_key" {
		t.Fatalf("the shop's third create: %d %v, want 429 per_key", r.status, r.body)
	}
	for i := range 3 {
		if r := srv.request("POST", "/v1/verifications", clinicKey, "", inboundBody("+44791112346"+string(rune('0'+i)))); r.status != 201 {
			t.Fatalf("the clinic's create %d, under no limit: %d %v", i+1, r.status, r.body)
		}
	}

	// Another service's key, and the implicit service's, find nothing of
	// the shop's.
	for _, key := range []string{clinicKey, apiKey} {
		for _, req := range []struct{ method, path, body string }{
			{"GET", "/v1/verifications/" + shopID, ""},
			{"POST", "/v1/verifications/" + shopID + "/check", `{"code":"1234"}`},
			{"POST", "/v1/verifications/" + shopID + "/hangup", ""},
			{"GET", "/v1/verifications/" + shopID + "/events", ""},
		} {
			if r := srv.request(req.method, req.path, key, "", req.body); r.status != 404 {
				t.Errorf("%s %s with another service's key: %d %v, want 404", req.method, req.path, r.status, r.body)
			}
		}
	}
	if r := srv.request("GET", "/v1/verifications/"+shopID, shopKey, "", ""); r.status != 200 {
		t.Fatalf("the shop reads its own: %d %v", r.status, r.body)
	}
	listed := func(key, path string, items string) []string {
		t.Helper()
		r := srv.request("GET", path, key, "", "")
		if r.status != 200 {
			t.Fatalf("GET %s: %d %v", path, r.status, r.body)
		}
		var ids []string
		for _, v := range r.body[items].([]any) {
			ids = append(ids, v.(map[string]any)["id"].(string))
		}
		return ids
	}
	if ids := listed(shopKey, "/v1/verifications?limit=100", "verifications"); len(ids) != 3 {
		t.Fatalf("the shop lists %v, want its 3", ids)
	}
	if ids := listed(clinicKey, "/v1/verifications?limit=100", "verifications"); len(ids) != 4 {
		t.Fatalf("the clinic lists %v, want its 4", ids)
	}
	if ids := listed(apiKey, "/v1/verifications?limit=100", "verifications"); len(ids) != 0 {
		t.Fatalf("the implicit service lists %v, want none", ids)
	}

	// Masking sessions are the service's too.
	r = srv.request("POST", "/v1/masking/sessions", shopKey, "", `{"a":"+447911123456","b":"+447911123457","ttl_s":600}`)
	if r.status != 201 || r.body["service"] != "shop" {
		t.Fatalf("the shop's masking session: %d %v", r.status, r.body)
	}
	sessionID := r.body["id"].(string)
	if r := srv.request("GET", "/v1/masking/sessions/"+sessionID, clinicKey, "", ""); r.status != 404 {
		t.Errorf("the clinic reads the shop's session: %d %v, want 404", r.status, r.body)
	}
	if r := srv.request("DELETE", "/v1/masking/sessions/"+sessionID, clinicKey, "", ""); r.status != 404 {
		t.Errorf("the clinic ends the shop's session: %d %v, want 404", r.status, r.body)
	}
	if ids := listed(clinicKey, "/v1/masking/sessions?limit=100", "sessions"); len(ids) != 0 {
		t.Errorf("the clinic lists sessions %v, want none", ids)
	}
	if ids := listed(shopKey, "/v1/masking/sessions?limit=100", "sessions"); len(ids) != 1 || ids[0] != sessionID {
		t.Errorf("the shop lists sessions %v, want [%s]", ids, sessionID)
	}

	res, err := http.Get(srv.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, want := range []string{
		`ringproof_service_verifications_created_total{method="inbound_missed",service="shop"} 2`,
		`ringproof_service_verifications_created_total{method="sms",service="shop"} 1`,
		`ringproof_service_verifications_created_total{method="inbound_missed",service="clinic"} 4`,
		`ringproof_service_verifications_created_total{method="inbound_missed",service="default"} 0`,
		`ringproof_service_checks_total{outcome="verified",service="shop"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestServiceWebhooks sends a service's verification events to its own
// webhooks, and another service's, which has none, to the top-level ones.
func TestServiceWebhooks(t *testing.T) {
	t.Parallel()
	top, shop := newHookReceiver(t), newHookReceiver(t)
	top.start()
	shop.start()
	c := hookConfig(t, top)
	c.TestNumbers = []conf.TestNumber{{Number: "+447911123470", Code: "2468"}}
	c.Services = []conf.Service{
		{Name: "shop", APIKeys: []string{shopKey}, Webhooks: []conf.Webhook{{URL: shop.url(), Secret: hookSecret, Events: []string{conf.EventVerificationUpdated}}}},
		{Name: "clinic", APIKeys: []string{clinicKey}},
	}
	srv := startServer(t, c)
	srv.noteCode("2468")
	verified := func(key string) string {
		t.Helper()
		r := srv.request("POST", "/v1/verifications", key, "", `{"number":"+447911123470","method":"sms"}`)
		if r.status != 201 {
			t.Fatalf("create: %d %v", r.status, r.body)
		}
		id := r.body["id"].(string)
		if r := srv.request("POST", "/v1/verifications/"+id+"/check", key, "", `{"code":"2468"}`); r.body["status"] != "verified" {
			t.Fatalf("check: %d %v", r.status, r.body)
		}
		return id
	}
	// Waits for rcv's delivery saying id is verified; fails on one about
	// another verification than those of ids.
	await := func(rcv *hookReceiver, id string, ids ...string) {
		t.Helper()
		for {
			d := rcv.next(30 * time.Second)
			data, _ := d.body["data"].(map[string]any)
			if data["id"] == id && data["status"] == "verified" {
				return
			}
			if data["id"] != id && !slices.Contains(ids, data["id"].(string)) {
				t.Fatalf("a delivery about %v, want only %s's", data["id"], id)
			}
		}
	}
	shopID := verified(shopKey)
	clinicID := verified(clinicKey)
	await(top, clinicID)
	await(shop, shopID)
	// The implicit service's go to the top-level ones too.
	await(top, verified(apiKey))
}
