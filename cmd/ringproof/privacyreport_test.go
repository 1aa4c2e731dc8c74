package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/privacy"
)

// TestHoldingsReport asks what is held over the API of a running server,
// reads the gauges on /metrics, and asks again from the command line with
// the server stopped.
func TestHoldingsReport(t *testing.T) {
	t.Parallel()
	c := privacyConfig(t, "127.0.0.1:5070")
	cfgPath := writeConfig(t, c)
	srv := startServer(t, c)
	sc, v := srv.call("POST", "/v1/verifications", `{"number":"+447911123456","method":"inbound_missed",`+
		`"consent":{"purpose":"account sign-up","given_at":"2026-01-02T03:04:05Z"}}`)
	if sc != http.StatusCreated {
		t.Fatalf("create: %d %v", sc, v)
	}
	srv.createInbound(otherNumber)
	if status, body := srv.admin("GET", "/v1/privacy/export?number=%2B447911123457", adminKey, ""); status != 200 {
		t.Fatalf("export: %d %s", status, body)
	}
	held := func(r privacy.Report) map[string]privacy.Holding {
		out := map[string]privacy.Holding{}
		for _, h := range r.Holdings {
			out[h.Kind] = h
		}
		return out
	}
	var rep privacy.Report
	waitUntil(t, 20*time.Second, "both verifications reach the history store", func() bool {
		status, body := srv.admin("GET", "/v1/privacy/report", adminKey, "")
		if status != 200 {
			t.Fatalf("report: %d %s", status, body)
		}
		rep = decode[privacy.Report](t, body)
		return held(rep)[privacy.HeldVerifications].Count == 2
	})
	h := held(rep)
	if len(rep.Holdings) != 5 || h[privacy.HeldConsent].Count != 1 || h[privacy.HeldDataKeys].Count != 2 || h[privacy.HeldAudit].Count != 1 ||
		h[privacy.HeldMasking].Count != 0 || h[privacy.HeldAudit].RetentionDays != 2190 || h[privacy.HeldVerifications].RetentionDays != 30 ||
		h[privacy.HeldVerifications].Oldest.IsZero() || !h[privacy.HeldMasking].Oldest.IsZero() || !strings.Contains(h[privacy.HeldAudit].Where, "history_audit") {
		t.Fatalf("report: %+v", rep)
	}
	if status, _ := srv.admin("GET", "/v1/privacy/report", apiKey, ""); status != 403 {
		t.Errorf("report with an API key: %d", status)
	}
	if status, body := srv.admin("GET", "/v1/privacy/audit/verify", adminKey, ""); status != 200 || !decode[privacy.AuditCheck](t, body).OK {
		t.Errorf("audit/verify: %d %s", status, body)
	}

	res, err := http.Get(srv.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`ringproof_privacy_held{kind="consent"}`, `ringproof_privacy_oldest_age_seconds{kind="audit"}`,
		`ringproof_privacy_retention_seconds{kind="audit"} 1.89216e+08`, `ringproof_privacy_retention_seconds{kind="data_keys"} 2.592e+06`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cli := held(decode[privacy.Report](t, []byte(privacyCLI(t, 0, "report", "--config", cfgPath))))
	if cli[privacy.HeldVerifications].Count != 2 || cli[privacy.HeldConsent].Count != 1 || cli[privacy.HeldAudit].Count != 1 {
		t.Fatalf("report from the command line: %+v", cli)
	}
}
