package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/cluster/etcdtest"
	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/sip/sipptest"
	"github.com/ringproof/ringproof/webhook"
)

const hookSecret = "whsec_test_0123456789"

// hookDelivery is one webhook delivery a receiver took.
type hookDelivery struct {
	id, event, attempt string
	body               map[string]any
	sigErr             error
}

// hookReceiver is an application's webhook endpoint: an HTTP server on a
// loopback port of its own that checks each delivery's signature, can be
// stopped and started again on the same port, and can hold a request
// unanswered.
type hookReceiver struct {
	t    *testing.T
	addr string
	got  chan hookDelivery

	mu   sync.Mutex
	srv  *http.Server
	hold chan struct{} // if set, requests wait for it to close (or their client to go)
	held chan struct{} // told when a request is being held
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{t: t, addr: fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t)), got: make(chan hookDelivery, 64)}
	t.Cleanup(r.stop)
	return r
}

func (r *hookReceiver) url() string { return "http://" + r.addr + "/ringproof" }

// start listens (again) on the receiver's port.
func (r *hookReceiver) start() {
	r.t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(r.serve)}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

// stop closes the receiver: deliveries meet a refused connection.
func (r *hookReceiver) stop() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	hold, held := r.hold, r.held
	r.mu.Unlock()
	if hold != nil {
		held <- struct{}{}
		select {
		case <-hold:
		case <-req.Context().Done():
			return // the sender died
		}
	}
	d := hookDelivery{
		id: req.Header.Get(webhook.IDHeader), event: req.Header.Get(webhook.EventHeader), attempt: req.Header.Get(webhook.AttemptHeader),
		sigErr: webhook.Verify([]byte(hookSecret), req.Header.Get(webhook.SignatureHeader), body, time.Now(), 5*time.Minute),
	}
	json.Unmarshal(body, &d.body)
	// Answer before the test hears of it: a test that stops the
	// receiver next must not cut this answer off (ringproof would count
	// the delivery failed, and send it again).
	w.WriteHeader(http.StatusNoContent)
	http.NewResponseController(w).Flush()
	r.got <- d
}

// next waits for the next delivery.
func (r *hookReceiver) next(within time.Duration) hookDelivery {
	r.t.Helper()
	select {
	case d := <-r.got:
		if d.sigErr != nil {
			r.t.Fatalf("delivery %s: signature: %v", d.id, d.sigErr)
		}
		return d
	case <-time.After(within):
		r.t.Fatalf("no webhook delivery within %v", within)
		return hookDelivery{}
	}
}

// failVerification creates an inbound_voice verification and spends its
// attempts with wrong codes: its status goes from pending to failed.
func failVerification(t *testing.T, s *testServer, number string) string {
	t.Helper()
	r, err := s.try("POST", "/v1/verifications", `{"number":"`+number+`","method":"inbound_voice"}`)
	if err != nil || r.status != 201 {
		t.Fatalf("create: %v %v", r, err)
	}
	id := r.body["id"].(string)
	for range 3 {
		if r, err := s.try("POST", "/v1/verifications/"+id+"/check", `{"code":"0000"}`); err != nil || r.status != 200 {
			t.Fatalf("check: %v %v", r, err)
		}
	}
	return id
}

func hookConfig(t *testing.T, rcv *hookReceiver) *conf.Config {
	c := testConfig(t, "127.0.0.1:5070")
	c.Webhooks = []conf.Webhook{{URL: rcv.url(), Secret: hookSecret, Events: []string{conf.EventVerificationUpdated, conf.EventMaskingCallEnded}}}
	return c
}

// TestWebhookSignedAndRetried: a verification's change of status reaches
// the application's server as a signed POST; while that server is down the
// delivery is retried, and it arrives once the server is back, with the
// same id.
func TestWebhookSignedAndRetried(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	rcv.start()
	srv := startServer(t, hookConfig(t, rcv))
	if v := historyMetric(t, srv, `ringproof_webhook_deliveries_total{outcome="retried"}`); v != 0 {
		t.Fatalf("ringproof_webhook_deliveries_total{outcome=\"retried\"} = %v at start, want 0", v)
	}
	if v := historyMetric(t, srv, "ringproof_webhook_queue_length"); v != 0 {
		t.Fatalf("ringproof_webhook_queue_length = %v at start, want 0", v)
	}

	id := failVerification(t, srv, "+447911123456")
	failed := time.Now()
	d := rcv.next(30 * time.Second)
	t.Logf("the change reached the receiver %v after the check that made it was answered", time.Since(failed).Round(time.Millisecond))
	data, _ := d.body["data"].(map[string]any)
	if d.event != conf.EventVerificationUpdated || d.body["type"] != conf.EventVerificationUpdated || d.attempt != "1" ||
		!strings.HasPrefix(d.id, "whd_") || data["id"] != id || data["status"] != "failed" || data["final"] != true || data["reason"] != "attempts_exhausted" {
		t.Fatalf("delivery: %+v", d)
	}
	if raw, _ := json.Marshal(d.body); strings.Contains(string(raw), "7911123456") {
		t.Fatalf("the event holds the number: %s", raw)
	}

	if !poll(20*time.Second, func() bool {
		return historyMetric(t, srv, `ringproof_webhook_deliveries_total{outcome="delivered"}`) == 1
	}) {
		t.Fatal("the first delivery was not counted delivered")
	}

	// The receiver goes down: the next delivery fails and is retried.
	rcv.stop()
	id2 := failVerification(t, srv, "+447911123457")
	if !poll(30*time.Second, func() bool {
		return historyMetric(t, srv, `ringproof_webhook_deliveries_total{outcome="retried"}`) >= 1
	}) {
		t.Fatal("no failed attempt counted while the receiver was down")
	}
	if q := historyMetric(t, srv, "ringproof_webhook_queue_length"); q < 0 {
		t.Fatal("no ringproof_webhook_queue_length")
	}
	rcv.start()
	d = rcv.next(60 * time.Second)
	data, _ = d.body["data"].(map[string]any)
	if data["id"] != id2 || d.attempt == "1" {
		t.Fatalf("retried delivery: %+v", d)
	}
	if !poll(20*time.Second, func() bool {
		return historyMetric(t, srv, `ringproof_webhook_deliveries_total{outcome="delivered"}`) == 2
	}) {
		t.Fatalf("delivered: %v", historyMetric(t, srv, `ringproof_webhook_deliveries_total{outcome="delivered"}`))
	}
	select {
	case extra := <-rcv.got:
		t.Fatalf("a delivery came twice: %+v", extra)
	default:
	}
}

// TestIdempotentCreate: a create retried with the same Idempotency-Key
// and body gets the first answer and spends nothing of the number's
// budget (one an hour here); another body with the key is 422.
func TestIdempotentCreate(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:5070")
	c.Verification.MaxPerNumberPerHour = 1
	c.HTTP.PublishableKeys = []conf.PublishableKey{{Key: pubKey, Origins: []string{appOrigin}, Methods: []string{"flashcall"}, PerIPPerMinute: 100}}
	c.HTTP.ResultTokenKeyHex = resultTokenKeyHex
	srv := startServer(t, c)
	post := func(key, body string) (int, http.Header, map[string]any) {
		req, _ := http.NewRequest("POST", srv.base+"/v1/verifications", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, res.Header, out
	}
	body := `{"number":"+447911123456","method":"inbound_voice"}`
	s1, h1, v1 := post("order-42", body)
	s2, h2, v2 := post("order-42", body)
	if s1 != 201 || s2 != 201 || v1["id"] != v2["id"] || h2.Get("Idempotent-Replayed") != "true" || h2.Get("Location") != h1.Get("Location") {
		t.Fatalf("first %d %v, retry %d %v %v", s1, v1, s2, v2, h2)
	}
	s3, _, v3 := post("order-42", `{"number":"+447911123456","method":"inbound_missed"}`)
	e3, _ := v3["error"].(map[string]any)
	if s3 != 422 || e3["code"] != "idempotency_key_reused" || e3["field"] != "Idempotency-Key" {
		t.Fatalf("another body: %d %v", s3, v3)
	}
	// The budget was spent once, by the first create.
	if s4, _, v4 := post("order-43", body); s4 != 429 {
		t.Fatalf("a new key for the same number: %d %v, want 429", s4, v4)
	}
	// A publishable key is every visitor's: its creates are never
	// replayed (another visitor would get the first one's answer).
	pub := `{"number":"+447911123460","method":"flashcall"}`
	if r := srv.page("POST", "/v1/verifications", pubKey, appOrigin, pub, "Idempotency-Key", "k1"); r.status != 201 {
		t.Fatalf("publishable create: %d %v", r.status, r.body)
	}
	if r := srv.page("POST", "/v1/verifications", pubKey, appOrigin, pub, "Idempotency-Key", "k1"); r.status != 429 || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("publishable create again: %d %v %v, want it run again (429: the number's budget)", r.status, r.header, r.body)
	}
}

// TestWebhookSurvivesItsNodesDeath: two nodes share etcd and PostgreSQL.
// The node sending a delivery is killed (SIGKILL) while the receiver holds
// the request; the other node delivers it, with the same id, once the dead
// node's lease ends.
func TestWebhookSurvivesItsNodesDeath(t *testing.T) {
	t.Parallel()
	bin := buildRingproof(t)
	rcv := newHookReceiver(t)
	rcv.mu.Lock()
	rcv.hold, rcv.held = make(chan struct{}), make(chan struct{}, 4)
	rcv.mu.Unlock()
	rcv.start()
	etcd := etcdtest.Start(t, 1)
	pgURL := historyDatabase(t)
	keys := conf.Privacy{HMACKeyHex: randomHex(t), EncryptionKeyHex: randomHex(t), SigningKeyHex: randomHex(t)}
	config := func() *conf.Config {
		c := hookConfig(t, rcv)
		c.Store.Endpoints = etcd.Endpoints()
		c.Privacy.HMACKeyHex, c.Privacy.EncryptionKeyHex, c.Privacy.SigningKeyHex = keys.HMACKeyHex, keys.EncryptionKeyHex, keys.SigningKeyHex
		c.History = conf.History{Backend: "postgres", PostgresURL: pgURL}
		c.Log.Level = "info"
		return c
	}
	a := startNodeProcess(t, bin, config())
	id := failVerification(t, a.testServer, "+447911123456")
	select {
	case <-rcv.held: // a is sending it, and waits for an answer
	case <-time.After(30 * time.Second):
		t.Fatal("node a sent no delivery")
	}
	b := startNodeProcess(t, bin, config())
	a.kill()
	rcv.mu.Lock()
	close(rcv.hold)
	rcv.hold = nil
	rcv.mu.Unlock()
	d := rcv.next(90 * time.Second)
	data, _ := d.body["data"].(map[string]any)
	if data["id"] != id || data["status"] != "failed" {
		t.Fatalf("delivery: %+v", d)
	}
	if !poll(20*time.Second, func() bool {
		return historyMetric(t, b.testServer, `ringproof_webhook_deliveries_total{outcome="delivered"}`) == 1
	}) {
		t.Fatal("node b did not count the delivery")
	}
}

// TestWebhookEveryStatusOfAFlashCall: a flash call against SIPp (ring,
// then our CANCEL) and its right code send verification.updated for
// ringing, rang and verified, numbered 1, 2, 3, whatever order they
// arrive in.
func TestWebhookEveryStatusOfAFlashCall(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_ring_cancel.xml", 1)
	rcv := newHookReceiver(t)
	rcv.start()
	c := hookConfig(t, rcv)
	c.Trunks[0].Address = sipp.Addr
	srv := startServer(t, c)
	id := srv.create(testNumber)
	srv.waitFor(id, "rang", status("rang"))
	sipp.Wait(context.Background())
	records, _ := sipp.Log()
	code := records[0].From[len(records[0].From)-4:]
	srv.noteCode(code)
	if _, v := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`); v["status"] != "verified" {
		t.Fatalf("check: %v", v)
	}
	got := map[float64]string{}
	for range 3 {
		d := rcv.next(30 * time.Second)
		data, _ := d.body["data"].(map[string]any)
		if data["id"] != id {
			t.Fatalf("delivery of another verification: %+v", d)
		}
		got[data["seq"].(float64)] = data["status"].(string)
		checkDocumented(t, d)
	}
	if got[1] != "ringing" || got[2] != "rang" || got[3] != "verified" {
		t.Fatalf("statuses by seq: %v", got)
	}
}

// TestWebhookMaskedCallEnded: a masked call bridged and hung up sends
// masking.call_ended, naming its session and neither number.
func TestWebhookMaskedCallEnded(t *testing.T) {
	t.Parallel()
	driverCarrier := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: "uas_answer.xml", Calls: 1})
	rcv := newHookReceiver(t)
	rcv.start()
	c := hookConfig(t, rcv)
	c.Trunks[0].Address = driverCarrier.Addr
	c.Masking.Numbers, c.Masking.UnknownCaller = []string{proxyPool}, "reject"
	srv := startServer(t, c)
	st, sess := srv.call("POST", "/v1/masking/sessions", `{"a":"`+rider+`","b":"`+driver+`","ttl_s":600}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, sess)
	}
	if out := callProxy(t, srv, rider, sess["proxy_number"].(string)); !strings.Contains(out, "phone: answered (200), hung up") {
		t.Fatalf("the rider's call:\n%s", out)
	}
	d := rcv.next(30 * time.Second)
	data, _ := d.body["data"].(map[string]any)
	if d.event != conf.EventMaskingCallEnded || data["session_id"] != sess["id"] || data["outcome"] != "completed" || data["answered_at"] == nil {
		t.Fatalf("delivery: %+v", d)
	}
	checkDocumented(t, d)
	if raw, _ := json.Marshal(d.body); strings.Contains(string(raw), "7911") || strings.Contains(string(raw), "7700") {
		t.Fatalf("the event holds a number: %s", raw)
	}
}

// TestWebhookExpiryOfAnUntouchedVerification: a verification nobody
// checks is announced expired a minute after its expires_at, though no
// request recorded the expiry.
func TestWebhookExpiryOfAnUntouchedVerification(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	rcv.start()
	c := hookConfig(t, rcv)
	c.Verification.ExpiryS = 30
	srv := startServer(t, c)
	r, err := srv.try("POST", "/v1/verifications", `{"number":"+447911123456","method":"inbound_voice"}`)
	if err != nil || r.status != 201 {
		t.Fatalf("create: %v %v", r, err)
	}
	d := rcv.next(3 * time.Minute)
	data, _ := d.body["data"].(map[string]any)
	if data["id"] != r.body["id"] || data["status"] != "expired" || data["reason"] != "expired" || data["final"] != true || data["seq"] != 1.0 {
		t.Fatalf("delivery: %+v", d)
	}
	expires, _ := time.Parse(time.RFC3339Nano, r.body["expires_at"].(string))
	if time.Now().Before(expires) {
		t.Fatalf("announced expired before %v", expires)
	}
}

// checkDocumented validates a delivery's body against the schema
// api/openapi.json documents for its event (and that schema's example, if
// it has one).
func checkDocumented(t *testing.T, d hookDelivery) {
	t.Helper()
	c := loadContract(t)
	at := []string{"webhooks", d.event, "post", "requestBody", "content", "application/json"}
	if err := c.validate(exampleJSON(t, d.body), append(at, "schema")...); err != nil {
		t.Errorf("%s delivery does not match api/openapi.json: %v\n%v", d.event, err, d.body)
	}
	media := asMap(asMap(asMap(asMap(asMap(asMap(c.doc["webhooks"])[d.event])["post"])["requestBody"])["content"])["application/json"])
	if ex, ok := media["example"]; ok {
		if err := c.validate(exampleJSON(t, ex), append(at, "schema")...); err != nil {
			t.Errorf("%s: the documented example: %v", d.event, err)
		}
	}
}
