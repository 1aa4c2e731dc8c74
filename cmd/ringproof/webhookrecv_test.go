package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/webhook"
)

// TestWebhookReceiverCommand: "ringproof webhook" prints a delivery and
// whether its signature holds, and refuses a forged one.
func TestWebhookReceiverCommand(t *testing.T) {
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut logBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"webhook", "--listen", addr, "--secret", hookSecret}, &out, &errOut) }()
	if !poll(10*time.Second, func() bool { return strings.Contains(out.String(), "listening") }) {
		t.Fatalf("not listening: %s %s", out.String(), errOut.String())
	}
	send := func(secret string) int {
		body := []byte(`{"id":"evt_1","type":"verification.updated","data":{"id":"v1","status":"verified"}}`)
		req, _ := http.NewRequest("POST", "http://"+addr+"/hook", bytes.NewReader(body))
		req.Header.Set(webhook.SignatureHeader, webhook.Sign([]byte(secret), time.Now(), body))
		req.Header.Set(webhook.EventHeader, "verification.updated")
		req.Header.Set(webhook.IDHeader, "whd_1")
		req.Header.Set(webhook.AttemptHeader, "1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := send(hookSecret); code != 204 {
		t.Fatalf("signed: %d", code)
	}
	if code := send("another secret entirely"); code != 503 {
		t.Fatalf("forged: %d", code)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	want := `webhook: verification.updated whd_1 (attempt 1), signature ok: {"id":"v1","status":"verified"}`
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "BAD SIGNATURE") {
		t.Fatalf("output:\n%s\nwant %s and a BAD SIGNATURE line", out.String(), want)
	}
}
