package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/sip"
)

// TestMetricsExistFromStart checks that a node that has done nothing
// exports every counter with its label values at zero, the histograms'
// main series, and its build.
func TestMetricsExistFromStart(t *testing.T) {
	t.Parallel()
	srv := startServer(t, testConfig(t, "127.0.0.1:9")) // no call is placed
	body := metricsText(t, srv)
	for _, want := range []string{
		`ringproof_verifications_created_total{method="flashcall"} 0`,
		`ringproof_verifications_created_total{method="keypad_in"} 0`,
		`ringproof_checks_total{outcome="wrong"} 0`,
		`ringproof_flash_calls_ended_total{event="timeout"} 0`,
		`ringproof_texts_ended_total{event="sent"} 0`,
		`ringproof_inbound_calls_total{outcome="verified"} 0`,
		`ringproof_answered_calls_ended_total{end="no_media",method="keypad_out"} 0`,
		`ringproof_answered_calls_ended_total{end="remote_bye",method="voice"} 0`,
		`ringproof_masking_sessions_created_total 0`,
		`ringproof_masked_calls_total{outcome="bridged"} 0`,
		`ringproof_masked_texts_total{outcome="sent"} 0`,
		`ringproof_store_request_duration_seconds_count{op="compact",result="error"} 0`,
		`ringproof_http_request_duration_seconds_count{code="201",route="POST /v1/verifications"} 0`,
		`ringproof_trunk_up{trunk="carrier1"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	b := readBuild()
	if want := fmt.Sprintf(`ringproof_build_info{commit=%q,go=%q,version=%q} 1`, b.Commit, b.Go, b.Version); !strings.Contains(body, want) {
		t.Errorf("metrics lack %s", want)
	}
}

// TestDashboardAndAlertsUseExportedMetrics checks that every ringproof
// metric the Grafana dashboard and the Prometheus rules use is one a node
// exports.
func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:9")
	c.Masking.Numbers = []string{proxyPool}
	body := metricsText(t, startServer(t, c))
	exported := map[string]string{} // name -> type
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)$`).FindAllStringSubmatch(body, -1) {
		exported[m[1]] = m[2]
	}
	used := regexp.MustCompile(`\bringproof_[a-z0-9_]+`)
	for _, file := range []string{"../../deploy/grafana/ringproof.json", "../../deploy/prometheus/alerts.yml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		names := used.FindAllString(string(data), -1)
		if len(names) == 0 {
			t.Fatalf("%s uses no ringproof metric", file)
		}
		slices.Sort(names)
		for _, name := range slices.Compact(names) {
			base := name
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if b, ok := strings.CutSuffix(name, suffix); ok && exported[b] == "histogram" {
					base = b
				}
			}
			if _, ok := exported[base]; !ok {
				t.Errorf("%s uses %s, which a node does not export", file, name)
			}
		}
	}
}

// TestStrangerWithAnInvalidCallerID calls a proxy number from a caller ID
// libphonenumber rejects: the log and the metrics say invalid_caller_id,
// not no_caller_id.
func TestStrangerWithAnInvalidCallerID(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "127.0.0.1:5070")
	c.Masking.Numbers = []string{proxyPool}
	c.Masking.UnknownCaller = "reject"
	srv := startServer(t, c)
	_, sess := srv.call("POST", "/v1/masking/sessions", `{"a":"`+rider+`","b":"`+driver+`","ttl_s":600}`)
	stranger, err := sip.Listen(context.Background(), sip.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	_, ev := stranger.Dial(context.Background(), sip.Call{Trunk: sip.Trunk{Name: "ringproof", Address: srv.SIPAddr().String()},
		From: "+99912345678", To: sess["proxy_number"].(string)}, sip.DialOptions{Timeout: 10 * time.Second}, nil)
	if ev.Status != 404 {
		t.Fatalf("the stranger's call: %+v, want 404", ev)
	}
	if body := metricsText(t, srv); !strings.Contains(body, `ringproof_masked_calls_total{outcome="invalid_caller_id"} 1`) {
		t.Errorf("metrics do not count the invalid caller ID:\n%s", body)
	}
	if logs := srv.logs.String(); !strings.Contains(logs, "outcome=invalid_caller_id") {
		t.Errorf("the log does not say invalid_caller_id:\n%s", logs)
	}
}
