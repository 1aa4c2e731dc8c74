package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/media"
)

// CheckMobi's validation API end to end: a real node answering an
// application written against CheckMobi, with SIPp, the test handset and
// an RTP peer on the other side of each type's call or text.

// checkmobiCall sends one request as CheckMobi's clients do (the secret
// key alone in Authorization, unless auth says otherwise) and decodes the
// JSON answer.
func (s *testServer) checkmobiCall(method, path, auth, body string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		s.t.Fatalf("%s %s: %d %q is not JSON", method, path, res.StatusCode, data)
	}
	return res.StatusCode, out
}

// validationRequest asks for a validation of number by type and returns
// the answer, which must be 200.
func (s *testServer) validationRequest(typ, number string) map[string]any {
	s.t.Helper()
	status, v := s.checkmobiCall("POST", "/v1/validation/request", apiKey, fmt.Sprintf(`{"number":%q,"type":%q,"platform":"android"}`, number, typ))
	if status != 200 || v["type"] != typ || v["id"] == "" {
		s.t.Fatalf("validation request %s: %d %v", typ, status, v)
	}
	return v
}

// verifyPin sends a pin and returns whether it validated the number,
// checking the answer's shape.
func (s *testServer) verifyPin(id, pin string, serverHangup bool) bool {
	s.t.Helper()
	status, v := s.checkmobiCall("POST", "/v1/validation/verify", apiKey, fmt.Sprintf(`{"id":%q,"pin":%q,"use_server_hangup":%v}`, id, pin, serverHangup))
	return s.validated(status, v)
}

// validationStatus asks for a validation's status and returns whether it
// is validated.
func (s *testServer) validationStatus(id string) bool {
	s.t.Helper()
	status, v := s.checkmobiCall("GET", "/v1/validation/status/"+id, apiKey, "")
	return s.validated(status, v)
}

// validated checks CheckMobi's answer to a pin or a status request.
func (s *testServer) validated(status int, v map[string]any) bool {
	s.t.Helper()
	ok, isBool := v["validated"].(bool)
	date, hasDate := v["validation_date"]
	if status != 200 || !isBool || v["number"] != testNumber || v["charged_amount"] != float64(0) || !hasDate {
		s.t.Fatalf("not CheckMobi's answer: %d %v", status, v)
	}
	if ok != (date != nil) {
		s.t.Fatalf("validated %v with validation_date %v", ok, date)
	}
	return ok
}

func TestCheckMobiReverseCLI(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_ring_cancel.xml", 1)
	srv := startServer(t, testConfig(t, sipp.Addr))
	// CheckMobi takes a number without its +.
	code, v := srv.checkmobiCall("POST", "/v1/validation/request", apiKey, `{"number":"447911123456","type":"reverse_cli","platform":"ios"}`)
	if code != 200 || v["type"] != "reverse_cli" || v["pin_hash"] != nil {
		t.Fatalf("request: %d %v", code, v)
	}
	info := v["validation_info"].(map[string]any)
	if info["country_code"] != float64(44) || info["e164_format"] != testNumber || info["formatting"] != "+44 7911 123456" || info["is_mobile"] != true || info["country_iso_code"] != "GG" {
		t.Fatalf("validation_info %v", info)
	}
	id := v["id"].(string)
	srv.waitFor(id, "call over", callOver)
	if srv.validationStatus(id) {
		t.Fatal("validated before any pin")
	}
	waitProc(t, sipp)
	records, err := sipp.Log()
	if err != nil || len(records) != 1 {
		t.Fatalf("SIPp records: %v %v", records, err)
	}
	from := records[0].From
	if prefix := v["cli_prefix"].(string); from != prefix+from[len(prefix):] || len(from)-len(prefix) != 4 {
		t.Fatalf("cli_prefix %q is not the caller ID %q but its last 4 digits", prefix, from)
	}
	pin := from[len(from)-4:]
	if srv.verifyPin(id, fmt.Sprintf("%04d", (mustAtoi(t, pin)+1)%10000), true) {
		t.Fatal("a wrong pin validated")
	}
	if !srv.verifyPin(id, pin, true) {
		t.Fatal("the caller ID's last 4 digits did not validate")
	}
	if !srv.validationStatus(id) {
		t.Fatal("status does not say validated")
	}
	// The validation date is the first match's.
	_, first := srv.checkmobiCall("GET", "/v1/validation/status/"+id, apiKey, "")
	if _, again := srv.checkmobiCall("POST", "/v1/validation/verify", apiKey, `{"id":"`+id+`","pin":"`+pin+`"}`); again["validation_date"] != first["validation_date"] {
		t.Fatalf("validation_date moved: %v then %v", first["validation_date"], again["validation_date"])
	}
}

func TestCheckMobiHangupWithServerHangup(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_silent.xml", 1)
	srv := startServer(t, testConfig(t, sipp.Addr))
	id := srv.validationRequest("reverse_cli", testNumber)["id"].(string)
	// The carrier answers 100 Trying and nothing more: no call reaches
	// the handset, whose application gives up and has the server hang up.
	srv.waitFor(id, "dialing", func(v map[string]any) bool { return len(v["events"].([]any)) > 0 })
	if srv.verifyPin(id, "HANGUP", true) {
		t.Fatal("HANGUP validated")
	}
	v := srv.waitFor(id, "call over", callOver)
	if got := eventTypes(v); got[len(got)-1] != "cancelled" || v["reason"] != "hangup_requested" {
		t.Fatalf("after HANGUP: %v", v)
	}
	waitProc(t, sipp) // the scenario expects the CANCEL
	if srv.validationStatus(id) {
		t.Fatal("validated after HANGUP")
	}
}

func TestCheckMobiCLI(t *testing.T) {
	t.Parallel()
	srv := startServer(t, inboundConfig(t))
	v := srv.validationRequest("cli", testNumber)
	id, dial := v["id"].(string), v["dialing_number"].(string)
	if !strings.HasPrefix(dial, "+44163296000") {
		t.Fatalf("dialing_number %q is not a system number: %v", dial, v)
	}
	if srv.validationStatus(id) {
		t.Fatal("validated before the call")
	}
	// A cli validation has no pin: the user's call is the proof.
	if status, e := srv.checkmobiCall("POST", "/v1/validation/verify", apiKey, `{"id":"`+id+`","pin":"1234"}`); status != 400 || e["code"] != float64(7) || e["field"] != "pin" {
		t.Fatalf("pin for a cli validation: %d %v", status, e)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"phone", "call", "--from", testNumber, "--to", dial, "--server", srv.SIPAddr().String(), "--timeout", "10s"}, &out, io.Discard); code != 0 {
		t.Fatalf("phone call: exit %d\n%s", code, out.String())
	}
	if !srv.validationStatus(id) {
		t.Fatal("the user's call did not validate")
	}
}

func TestCheckMobiSMS(t *testing.T) {
	t.Parallel()
	sipp, received := textCarrier(t, "uas_message.xml")
	srv := startServer(t, testConfig(t, sipp.Addr))
	id := srv.validationRequest("sms", testNumber)["id"].(string)
	code := received().Fields["code"]
	srv.noteCode(code)
	if code == "" || code != srv.storedCode(id) {
		t.Fatalf("the text does not carry the validation's code")
	}
	wrong := "0000"
	if code == wrong {
		wrong = "1111"
	}
	if srv.verifyPin(id, wrong, false) {
		t.Fatal("a wrong pin validated")
	}
	if !srv.verifyPin(id, code, false) || !srv.validationStatus(id) {
		t.Fatal("the texted pin did not validate")
	}
}

func TestCheckMobiIVR(t *testing.T) {
	t.Parallel()
	peer := newRTPPeer(t)
	sipp := callee(t, "uas_answer_media.xml", fmt.Sprint(peer.port()))
	srv := startServer(t, testConfig(t, sipp.Addr))
	res, v := srv.checkmobiCall("POST", "/v1/validation/request", apiKey, `{"number":"+447911123456","type":"ivr","language":"en-GB"}`)
	if res != 200 || v["type"] != "ivr" {
		t.Fatalf("request: %d %v", res, v)
	}
	id := v["id"].(string)
	waitProc(t, sipp) // SIPp got the BYE: the call is over
	code := srv.storedCode(id)
	want := spoken(t, codePrompt(code, 2)...)
	checkStream(t, peer.waitPackets(len(want)/media.FrameSamples), media.PCMU, want)
	if !srv.verifyPin(id, code, false) {
		t.Fatal("the spoken pin did not validate")
	}
}

// TestCheckMobiErrors: what a client gets wrong is answered in CheckMobi's
// error shape, {"code", "error"}, with its numeric codes.
func TestCheckMobiErrors(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:5070")
	c.Inbound.Numbers = nil // no dial numbers: no cli validations
	srv := startServer(t, c)
	tests := []struct {
		name, method, path, auth, body string
		status, code                   int
	}{
		{"no key", "POST", "/v1/validation/request", "", `{"number":"+447911123456","type":"sms"}`, 401, 1},
		{"wrong key", "GET", "/v1/validation/status/x", "not-the-key", "", 401, 1},
		{"bad JSON", "POST", "/v1/validation/request", apiKey, `{"number":"+4479`, 400, 7},
		{"bad JSON to verify", "POST", "/v1/validation/verify", apiKey, `not json`, 400, 7},
		{"invalid number", "POST", "/v1/validation/request", apiKey, `{"number":"+44791112","type":"sms"}`, 400, 2},
		{"invalid type", "POST", "/v1/validation/request", apiKey, `{"number":"+447911123456","type":"carrier_pigeon"}`, 400, 4},
		{"cli without dial numbers", "POST", "/v1/validation/request", apiKey, `{"number":"+447911123456","type":"cli"}`, 400, 8},
		{"unknown id", "POST", "/v1/validation/verify", apiKey, `{"id":"v0123456789abcdef0123456789abcdef","pin":"1234"}`, 404, 3},
		{"unknown id, HANGUP", "POST", "/v1/validation/verify", apiKey, `{"id":"v0123456789abcdef0123456789abcdef","pin":"HANGUP","use_server_hangup":true}`, 404, 3},
		{"unknown status", "GET", "/v1/validation/status/nosuchid", apiKey, "", 404, 3},
	}
	for _, tt := range tests {
		status, e := srv.checkmobiCall(tt.method, tt.path, tt.auth, tt.body)
		if status != tt.status || e["code"] != float64(tt.code) || e["error"] == "" {
			t.Errorf("%s: %d %v, want %d with code %d", tt.name, status, e, tt.status, tt.code)
		}
	}
	// ringproof's own API is unchanged beside it.
	if status, _ := srv.call("GET", "/v1/verifications/nosuchid", ""); status != 404 {
		t.Errorf("GET /v1/verifications/nosuchid: %d", status)
	}
}

// TestCheckMobiTestNumber: test_numbers work through CheckMobi's API as
// through ringproof's: no call, the configured code validates, even when
// its length is not the 4 digits reverse_cli otherwise takes.
func TestCheckMobiTestNumber(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:5070") // never dialled
	c.FlashCall.CodeLength = 6
	c.TestNumbers = []conf.TestNumber{{Number: "+15005550006", Code: "654321"}}
	srv := startServer(t, c)
	srv.noteCode("654321")
	status, v := srv.checkmobiCall("POST", "/v1/validation/request", apiKey, `{"number":"+15005550006","type":"reverse_cli"}`)
	if status != 200 || v["validation_info"].(map[string]any)["e164_format"] != "+15005550006" {
		t.Fatalf("request: %d %v", status, v)
	}
	id := v["id"].(string)
	for _, tt := range []struct {
		pin  string
		want bool
	}{{"111111", false}, {"654321", true}} {
		status, res := srv.checkmobiCall("POST", "/v1/validation/verify", apiKey, `{"id":"`+id+`","pin":"`+tt.pin+`"}`)
		if status != 200 || res["validated"] != tt.want || res["number"] != "+15005550006" {
			t.Fatalf("pin %s: %d %v", tt.pin, status, res)
		}
	}
}

// TestCheckMobiServices: CheckMobi's API serves each key's service, as
// ringproof's does: its methods and test numbers, and another service's
// validations are absent to it.
func TestCheckMobiServices(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:5070") // never dialled
	c.Services = []conf.Service{
		{Name: "shop", APIKeys: []string{shopKey}, CodeLength: 6, Methods: []string{"sms"},
			TestNumbers: []conf.TestNumber{{Number: "+447911123470", Code: "135790"}}},
		{Name: "clinic", APIKeys: []string{clinicKey}},
	}
	srv := startServer(t, c)
	srv.noteCode("135790")
	status, v := srv.checkmobiCall("POST", "/v1/validation/request", shopKey, `{"number":"+447911123470","type":"sms"}`)
	if status != 200 {
		t.Fatalf("the shop's request: %d %v", status, v)
	}
	id := v["id"].(string)
	if status, e := srv.checkmobiCall("POST", "/v1/validation/request", shopKey, `{"number":"+447911123456","type":"ivr"}`); status != 403 || e["code"] != float64(8) || e["field"] != "type" {
		t.Fatalf("ivr for the shop, whose methods exclude voice: %d %v, want 403 code 8", status, e)
	}
	if status, e := srv.checkmobiCall("GET", "/v1/validation/status/"+id, clinicKey, ""); status != 404 || e["code"] != float64(3) {
		t.Fatalf("the clinic asks for the shop's validation: %d %v, want 404 code 3", status, e)
	}
	if status, e := srv.checkmobiCall("POST", "/v1/validation/verify", clinicKey, `{"id":"`+id+`","pin":"135790"}`); status != 404 || e["code"] != float64(3) {
		t.Fatalf("the clinic checks the shop's pin: %d %v, want 404 code 3", status, e)
	}
	if status, res := srv.checkmobiCall("POST", "/v1/validation/verify", shopKey, `{"id":"`+id+`","pin":"135790"}`); status != 200 || res["validated"] != true {
		t.Fatalf("the shop's test pin: %d %v", status, res)
	}
}
