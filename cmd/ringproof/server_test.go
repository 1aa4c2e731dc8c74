package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/sip/sipptest"
	"github.com/ringproof/ringproof/store/storetest"
)

const apiKey = "test-api-key"

// logBuffer captures a server's log so tests can check what it holds.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// testServer is a ringproof node running in the test process.
type testServer struct {
	*server
	t    *testing.T
	base string
	logs *logBuffer

	mu    sync.Mutex
	codes []string // codes the test learnt, checked absent from the log
}

// noteCode adds a verification code to those the log must not hold.
func (s *testServer) noteCode(code string) {
	s.mu.Lock()
	s.codes = append(s.codes, code)
	s.mu.Unlock()
}

// freeTCPPort returns a loopback TCP port free at the time of the call,
// drawn below the kernel's ephemeral range so that no client socket takes
// it before the server binds it (see sipptest.FreeUDPPort).
func freeTCPPort(t *testing.T) int {
	t.Helper()
	return sipptest.FreeUDPPort(t)
}

// testConfig is a valid configuration on free loopback ports with one trunk
// at carrier.
func testConfig(t *testing.T, carrier string) *conf.Config {
	c := conf.Default()
	c.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
	c.HTTP.APIKeys = []string{apiKey}
	c.SIP.Listen = fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	c.Store = storetest.Config(t)
	// Generous: several servers start at once in parallel tests, on a
	// machine that may be busy with other things too.
	c.Store.DialTimeoutS = 30
	c.Trunks[0].Address = carrier
	c.Trunks[0].Domain = ""
	// SIPp carriers take an OPTIONS ping for a call they did not expect.
	c.Trunks[0].OptionsPingS = 0
	c.Callers = []string{"+442079460000-+442079469999"}
	c.Log.Level = "debug"
	// Tests call numbers of one prefix without verifying most of them:
	// the pumping guard counts them but judges none (fraud_test.go
	// tests it).
	c.Fraud.PumpingGuard.MinAttempts = 1_000_000
	return c
}

// startServer runs a node on c until the test ends.
func startServer(t *testing.T, c *conf.Config) *testServer {
	t.Helper()
	logs := &logBuffer{}
	log := newLogger(c.Log, logs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := start(ctx, c, log)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	ts := &testServer{server: srv, t: t, base: "http://" + srv.HTTPAddr().String(), logs: logs}
	t.Cleanup(func() {
		codes := ts.storedCodes()
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		checkLogsHoldNoNumber(t, logs.String())
		checkLogsHoldNoCode(t, logs.String(), codes)
	})
	return ts
}

// storedCodes returns the codes the test noted and those of every flash
// call still in the store: the last code_length digits of the caller ID
// presented, opened from the record's sealed data. (The store keeps other
// codes only as keyed hashes: tests note them as they learn them.) A store
// already closed gives only the noted ones.
func (s *testServer) storedCodes() []string {
	s.mu.Lock()
	codes := slices.Clone(s.codes)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kvs, err := s.store.List(ctx, "v/")
	if err != nil {
		return codes
	}
	for _, kv := range kvs {
		var r storedRecord
		if json.Unmarshal(kv.Value, &r) != nil || s.open(&r) != nil {
			continue
		}
		if id := r.CallerID; r.CodeLength > 0 && len(id) > r.CodeLength {
			codes = append(codes, id[len(id)-r.CodeLength:])
		}
	}
	return codes
}

// checkLogsHoldNoCode fails t if the log holds any of codes as a number of
// its own (not inside a longer number, a time or an address).
func checkLogsHoldNoCode(t *testing.T, logs string, codes []string) {
	t.Helper()
	for _, c := range codes {
		re := regexp.MustCompile(`(^|[^0-9A-Za-z:.\-])` + regexp.QuoteMeta(c) + `([^0-9A-Za-z:.\-]|$)`)
		if loc := re.FindStringIndex(logs); loc != nil {
			from, to := max(loc[0]-200, 0), min(loc[1]+200, len(logs))
			t.Errorf("log holds the code %s: …%s…", c, logs[from:to])
		}
	}
}

// checkLogsHoldNoNumber fails t if the log holds any test number in full.
func checkLogsHoldNoNumber(t *testing.T, logs string) {
	t.Helper()
	for _, n := range []string{"447911123456", "7911123456", "4420794"} {
		if strings.Contains(logs, n) {
			t.Errorf("log holds a phone number (%s):\n%s", n, logs)
		}
	}
}

// call sends one API request and decodes the JSON answer.
func (s *testServer) call(method, path, body string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
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

// create starts a flash-call verification and returns its id.
func (s *testServer) create(number string) string {
	s.t.Helper()
	status, v := s.call("POST", "/v1/verifications", fmt.Sprintf(`{"number":%q,"method":"flashcall"}`, number))
	if status != http.StatusCreated {
		s.t.Fatalf("create: %d %v", status, v)
	}
	return v["id"].(string)
}

// waitFor polls the verification until cond holds, failing after a
// deadline. It returns the verification that satisfied cond.
func (s *testServer) waitFor(id string, what string, cond func(v map[string]any) bool) map[string]any {
	s.t.Helper()
	var v map[string]any
	if !poll(20*time.Second, func() bool {
		_, v = s.call("GET", "/v1/verifications/"+id, "")
		return cond(v)
	}) {
		s.t.Fatalf("verification never reached %s: %v", what, v)
	}
	return v
}

// status is a waitFor condition.
func status(want string) func(map[string]any) bool {
	return func(v map[string]any) bool { return v["status"] == want }
}

// callOver is a waitFor condition: the call's last event is final.
func callOver(v map[string]any) bool {
	evs, _ := v["events"].([]any)
	if len(evs) == 0 {
		return false
	}
	switch evs[len(evs)-1].(map[string]any)["type"] {
	case "cancelled", "failed", "timeout", "hungup":
		return true
	}
	return false
}

func eventTypes(v map[string]any) []string {
	var out []string
	for _, e := range v["events"].([]any) {
		out = append(out, e.(map[string]any)["type"].(string))
	}
	return out
}

var _ = slog.Default
