package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/sip/sipptest"
)

// End-to-end flash calls: the HTTP API of a real node, its embedded etcd,
// and SIPp playing the carrier. What the method makes of its call's end
// (attempts, a busy callee, no route) is tested in verify with a scripted
// dialer (verify/flashcall_test.go); SIPp's busy callee in sip's tests.

const testNumber = "+447911123456"

// carrier starts SIPp with scenario for calls calls and returns it.
func carrier(t *testing.T, scenario string, calls int) *sipptest.Proc {
	return sipptest.Start(context.Background(), t, sipptest.Options{Scenario: scenario, Calls: calls})
}

func TestFlashCallVerifiesWithCallerIDDigits(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_ring_cancel.xml", 3)
	srv := startServer(t, testConfig(t, sipp.Addr))

	// Three verifications of three numbers; each is verified only by the
	// last digits of the caller ID its own call presented.
	numbers := []string{"+447911123456", "+447911123457", "+447911123458"}
	ids := map[string]string{}
	for _, n := range numbers {
		ids[n] = srv.create(n)
	}
	for _, n := range numbers {
		v := srv.waitFor(ids[n], "rang", status("rang"))
		if got, want := eventTypes(v), []string{"dialing", "ringing", "cancelled"}; !slices.Equal(got, want) {
			t.Fatalf("%s: events %v, want %v", ids[n], got, want)
		}
	}
	if _, err := sipp.Wait(context.Background()); err != nil {
		t.Fatalf("SIPp: %v", err)
	}
	records, err := sipp.Log()
	if err != nil || len(records) != 3 {
		t.Fatalf("SIPp records: %v %v", records, err)
	}
	for _, r := range records {
		if !r.BranchMatch || !r.CSeqMatch || r.Prov != 180 || r.CancelAt.Before(r.ProvAt) {
			t.Fatalf("CANCEL does not follow the 180 per RFC 3261: %+v", r)
		}
		if !inPool(r.From) {
			t.Fatalf("INVITE From %q is not in the caller-ID pool", r.From)
		}
		id := ids[r.To]
		if id == "" {
			t.Fatalf("INVITE to %q, which no verification asked for", r.To)
		}
		_, v := srv.call("GET", "/v1/verifications/"+id, "")
		if !strings.HasPrefix(r.From, v["cli_prefix"].(string)) || len(r.From)-len(v["cli_prefix"].(string)) != 4 {
			t.Fatalf("cli_prefix %q does not prefix the caller ID %q", v["cli_prefix"], r.From)
		}
		code := r.From[len(r.From)-4:]
		wrong := fmt.Sprintf("%04d", (mustAtoi(t, code)+1)%10000)
		if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+wrong+`"}`); c["status"] == "verified" || c["attempts_left"] != float64(2) {
			t.Fatalf("wrong code: %v", c)
		}
		if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`); c["status"] != "verified" {
			t.Fatalf("caller ID digits %s did not verify: %v", code, c)
		}
	}
	// Over UDP every CANCEL left from the socket's read path.
	if want := "ringproof_sip_fast_cancels_total 3\n"; !strings.Contains(metricsText(t, srv), want) {
		t.Errorf("metrics lack %q", want)
	}
}

// metricsText returns srv's GET /metrics.
func metricsText(t *testing.T, srv *testServer) string {
	t.Helper()
	res, err := http.Get(srv.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func inPool(callerID string) bool {
	n, err := strconv.ParseUint(strings.TrimPrefix(callerID, "+"), 10, 64)
	return err == nil && strings.HasPrefix(callerID, "+") && n >= 442079460000 && n <= 442079469999
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHangupCancelsACallThatNeverRang(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_silent.xml", 1)
	srv := startServer(t, testConfig(t, sipp.Addr))
	id := srv.create(testNumber)
	// The carrier answers 100 Trying and nothing more; once the call is
	// dialing, the application says no call came.
	srv.waitFor(id, "dialing", func(v map[string]any) bool { return len(v["events"].([]any)) > 0 })
	if status, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"HANGUP"}`); status != 200 {
		t.Fatalf("HANGUP: %d %v", status, c)
	}
	v := srv.waitFor(id, "call over", callOver)
	if got := eventTypes(v); got[len(got)-1] != "cancelled" || v["status"] != "rang" || v["reason"] != "hangup_requested" {
		t.Fatalf("after HANGUP: %v", v)
	}
	if _, err := sipp.Wait(context.Background()); err != nil {
		t.Fatalf("SIPp (expects a CANCEL): %v", err)
	}
}

func TestHangupEndpoint(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_silent.xml", 1)
	srv := startServer(t, testConfig(t, sipp.Addr))
	id := srv.create(testNumber)
	srv.waitFor(id, "dialing", func(v map[string]any) bool { return len(v["events"].([]any)) > 0 })
	if status, v := srv.call("POST", "/v1/verifications/"+id+"/hangup", ""); status != 200 || v["id"] != id {
		t.Fatalf("hangup: %d %v", status, v)
	}
	srv.waitFor(id, "rang", status("rang"))
	if _, err := sipp.Wait(context.Background()); err != nil {
		t.Fatalf("SIPp: %v", err)
	}
}

// TestCancelEndsTheVerification: POST …/cancel hangs up the call in
// progress and makes the verification final canceled; the right code no
// longer verifies it, and canceling it again answers the same.
func TestCancelEndsTheVerification(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_silent.xml", 1)
	srv := startServer(t, testConfig(t, sipp.Addr))
	id := srv.create(testNumber)
	srv.waitFor(id, "dialing", func(v map[string]any) bool { return len(v["events"].([]any)) > 0 })
	status, v := srv.call("POST", "/v1/verifications/"+id+"/cancel", "")
	if status != 200 || v["status"] != "canceled" || v["reason"] != "cancel_requested" {
		t.Fatalf("cancel: %d %v", status, v)
	}
	if _, err := sipp.Wait(context.Background()); err != nil {
		t.Fatalf("SIPp (expects a CANCEL): %v", err)
	}
	v = srv.waitFor(id, "call over", callOver)
	if types := eventTypes(v); v["status"] != "canceled" || !slices.Contains(types, "cancel_requested") {
		t.Fatalf("after the call ended: %v", v)
	}
	records, _ := sipp.Log()
	if len(records) != 1 || !records[0].Cancelled {
		t.Fatalf("the carrier saw %+v, want one call cancelled", records)
	}
	code := records[0].From[len(records[0].From)-4:]
	srv.noteCode(code)
	if status, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`); status != 200 || c["status"] != "canceled" || c["valid"] != false {
		t.Fatalf("the right code after cancel: %d %v", status, c)
	}
	if status, again := srv.call("POST", "/v1/verifications/"+id+"/cancel", ""); status != 200 || again["status"] != "canceled" || len(again["events"].([]any)) != len(v["events"].([]any)) {
		t.Fatalf("cancel again: %d %v, want the same canceled verification", status, again)
	}
}

func TestBusyIsRecorded(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_busy.xml", 1)
	srv := startServer(t, testConfig(t, sipp.Addr))
	id := srv.create(testNumber)
	v := srv.waitFor(id, "failed", status("failed"))
	evs := v["events"].([]any)
	last := evs[len(evs)-1].(map[string]any)
	if last["type"] != "failed" || last["sip_status"] != float64(486) || v["reason"] != "call_failed" {
		t.Fatalf("486 not recorded: %v", v)
	}
	if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"1234"}`); c["status"] != "failed" {
		t.Fatalf("check after a failed call: %v", c)
	}
	if _, err := sipp.Wait(context.Background()); err != nil {
		t.Fatalf("SIPp: %v", err)
	}
}

func TestNoRingTimesOutAndFails(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_silent.xml", 1)
	c := testConfig(t, sipp.Addr)
	c.FlashCall.TimeoutS = 1
	srv := startServer(t, c)
	id := srv.create(testNumber)
	v := srv.waitFor(id, "failed", status("failed"))
	if v["reason"] != "no_ring" || !slices.Contains(eventTypes(v), "timeout") {
		t.Fatalf("no-ring timeout: %v", v)
	}
	if _, err := sipp.Wait(context.Background()); err != nil {
		t.Fatalf("SIPp (expects a CANCEL): %v", err)
	}
}

func TestPendingVerificationSurvivesRestart(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_ring_cancel.xml", 1)
	c := testConfig(t, sipp.Addr)
	srv := startServer(t, c)
	id := srv.create(testNumber)
	srv.waitFor(id, "rang", status("rang"))
	sipp.Wait(context.Background())
	records, _ := sipp.Log()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// The same data directory, a new process-worth of server.
	c.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
	c.SIP.Listen = fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	srv2 := startServer(t, c)
	if _, v := srv2.call("GET", "/v1/verifications/"+id, ""); v["status"] != "rang" {
		t.Fatalf("after restart: %v", v)
	}
	code := records[0].From[len(records[0].From)-4:]
	if _, v := srv2.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`); v["status"] != "verified" {
		t.Fatalf("check after restart: %v", v)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_busy.xml", 1)
	srv := startServer(t, testConfig(t, sipp.Addr))
	id := srv.create(testNumber)
	srv.waitFor(id, "failed", status("failed"))
	srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"1234"}`)
	body := metricsText(t, srv)
	for _, want := range []string{
		`ringproof_verifications_created_total{method="flashcall"} 1`,
		`ringproof_flash_calls_ended_total{event="failed"} 1`,
		`ringproof_checks_total{outcome="final"} 1`,
		`ringproof_cluster_nodes 1`,
		// Latency histograms: one create answered 201, by its route.
		`ringproof_http_request_duration_seconds_count{code="201",route="POST /v1/verifications"} 1`,
		`route="POST /v1/verifications/{id}/check"`,
		`ringproof_store_request_duration_seconds_count{op="txn",result="ok"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "7911123456") {
		t.Error("metrics hold a number")
	}
	if strings.Contains(body, id) {
		t.Error("metrics hold a verification id")
	}
}
