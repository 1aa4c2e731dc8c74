package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ringproof/ringproof/cluster"
	"github.com/ringproof/ringproof/cluster/etcdtest"
	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/sip/sipptest"
)

// A cluster: ringproof nodes sharing one three-member etcd cluster
// (cluster/etcdtest, in this process, on loopback), SIPp as the carrier and
// the callers. Any node answers for any verification; the attempt limit and
// the caller-ID leases hold across nodes; the loss of an etcd member, of a
// node (a child process, killed) or of etcd's quorum loses no verification.
// docs/cluster.md walks through them.

// testCluster is an etcd cluster and the ringproof nodes on it, with their
// shared history store (a PostgreSQL database).
type testCluster struct {
	t       *testing.T
	etcd    *etcdtest.Cluster
	history string // the history database's URL
	carrier string // every node's trunk
	keys    conf.Privacy
	nodes   []*testServer
}

// startCluster starts three etcd members and n nodes on them whose trunk
// is carrier; mod, if not nil, changes each node's configuration. Start
// SIPp carriers that outlive calls before it: cleanups run in reverse, and
// a node hangs up its calls when it stops.
func startCluster(t *testing.T, n int, carrier string, mod func(*conf.Config)) *testCluster {
	t.Helper()
	// One cluster at a time: three etcd members and their nodes under the
	// race detector take the CPU of a small machine, and starved of it
	// their requests would pass the store's timeout. The other tests run
	// beside it.
	oneCluster <- struct{}{}
	t.Cleanup(func() { <-oneCluster })
	start := time.Now()
	tc := &testCluster{t: t, etcd: etcdtest.Start(t, 3), history: historyDatabase(t), carrier: carrier}
	tc.keys = conf.Privacy{HMACKeyHex: randomHex(t), EncryptionKeyHex: randomHex(t), SigningKeyHex: randomHex(t)}
	for range n {
		tc.nodes = append(tc.nodes, startServer(t, tc.config(mod)))
	}
	tc.waitListed(n, tc.nodes...)
	t.Logf("3 etcd members and %d nodes up in %v", n, time.Since(start).Round(time.Millisecond))
	return tc
}

// TestCluster runs the cluster tests one after another, each with three
// etcd members and its nodes, beside the package's other tests: run at
// once, their clusters would starve each other of CPU on a small machine
// and pass the store's timeouts. (go test -run Cluster/NodeCrash runs one.)
func TestCluster(t *testing.T) {
	t.Parallel()
	t.Run("AnyNodeServesAnyVerification", testClusterAnyNodeServesAnyVerification)
	t.Run("SurvivesTheLossOfAnEtcdMember", testClusterSurvivesTheLossOfAnEtcdMember)
	t.Run("QuorumLossAnswers503ThenRecovers", testClusterQuorumLossAnswers503ThenRecovers)
	t.Run("NodeCrash", testClusterNodeCrash)
}

// oneCluster is held by the test whose cluster runs, should a cluster
// test run outside TestCluster.
var oneCluster = make(chan struct{}, 1)

// config is a node's configuration: ports of its own, the cluster's etcd
// and the privacy keys every node must share.
func (tc *testCluster) config(mod func(*conf.Config)) *conf.Config {
	c := testConfig(tc.t, tc.carrier)
	c.Store.Endpoints = tc.etcd.Endpoints()
	c.Privacy.HMACKeyHex, c.Privacy.EncryptionKeyHex, c.Privacy.SigningKeyHex = tc.keys.HMACKeyHex, tc.keys.EncryptionKeyHex, tc.keys.SigningKeyHex
	c.History = conf.History{Backend: "postgres", PostgresURL: tc.history}
	if mod != nil {
		mod(c)
	}
	return c
}

// leader returns the index of the etcd member that leads the cluster now.
func (tc *testCluster) leader() int {
	tc.t.Helper()
	cli := tc.nodes[0].store.Client()
	for i, ep := range tc.etcd.Endpoints() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := cli.Status(ctx, ep)
		cancel()
		if err == nil && st.Leader == st.Header.MemberId {
			return i
		}
	}
	tc.t.Fatal("no etcd member says it leads")
	return -1
}

// listed returns the IDs of the nodes that node lists in GET /v1/cluster.
func listed(s *testServer) (self string, ids []string, err error) {
	r, err := s.try("GET", "/v1/cluster", "")
	if err != nil {
		return "", nil, err
	}
	nodes, _ := r.body["nodes"].([]any)
	for _, n := range nodes {
		id, _ := n.(map[string]any)["id"].(string)
		ids = append(ids, id)
	}
	self, _ = r.body["self"].(string)
	return self, ids, nil
}

// waitListed waits until each of nodes lists exactly want nodes, the same
// ones, and returns their IDs.
func (tc *testCluster) waitListed(want int, nodes ...*testServer) []string {
	tc.t.Helper()
	var got [][]string
	ok := poll(20*time.Second, func() bool {
		got = got[:0]
		for _, s := range nodes {
			_, ids, err := listed(s)
			if err != nil || len(ids) != want {
				return false
			}
			got = append(got, ids)
		}
		for _, ids := range got[1:] {
			if !slices.Equal(ids, got[0]) {
				return false
			}
		}
		return true
	})
	if !ok {
		tc.t.Fatalf("nodes never listed %d nodes alike: %v", want, got)
	}
	return got[0]
}

// poll checks cond every 20 ms until it holds (true) or d passes (false).
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}

// clusterHTTP bounds each request, so that a node that hangs fails the
// test instead of stalling it.
var clusterHTTP = &http.Client{Timeout: 15 * time.Second}

// reply is one API answer.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	took   time.Duration
}

// try sends one API request. Unlike call it never stops the test, so
// goroutines use it, and requests to nodes that may be down.
func (s *testServer) try(method, path, body string) (reply, error) {
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	start := time.Now()
	res, err := clusterHTTP.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	r := reply{status: res.StatusCode, header: res.Header, took: time.Since(start)}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r.body); err != nil {
		return r, fmt.Errorf("%s %s: %d %q is not JSON", method, path, res.StatusCode, data)
	}
	return r, nil
}

// storedRecord is what the tests read of a verification record in etcd.
// Its caller ID is sealed with the number's data key: record opens it.
type storedRecord struct {
	ID         string        `json:"id"`
	Node       string        `json:"node"`
	NumberKey  string        `json:"number_key"`
	Sealed     []byte        `json:"sealed"`
	CallerID   string        `json:"-"`
	CodeLength int           `json:"code_length"`
	Events     []storedEvent `json:"events"`
}

type storedEvent struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// record reads verification id straight from the store.
func (s *testServer) record(id string) storedRecord {
	s.t.Helper()
	val, _, err := s.store.Get(context.Background(), "v/"+id)
	if err != nil {
		s.t.Fatal(err)
	}
	var r storedRecord
	if err := json.Unmarshal(val, &r); err != nil {
		s.t.Fatal(err)
	}
	if err := s.open(&r); err != nil {
		s.t.Fatal(err)
	}
	return r
}

// open decrypts r's sealed personal data with this node's vault, as the
// node itself does, and fills in its caller ID.
func (s *testServer) open(r *storedRecord) error {
	k, err := s.vault.Key(context.Background(), r.NumberKey, false)
	if err != nil {
		return err
	}
	p, err := k.OpenPersonal(r.ID, r.Sealed)
	if err != nil {
		return err
	}
	r.CallerID = p.CallerID
	return nil
}

// code is the code a flash call presented: the caller ID's last digits.
func (r storedRecord) code() string { return r.CallerID[len(r.CallerID)-r.CodeLength:] }

// lastEvent returns the type and reason of v's last call event.
func lastEvent(v map[string]any) (typ, reason string) {
	evs, _ := v["events"].([]any)
	if len(evs) == 0 {
		return "", ""
	}
	e := evs[len(evs)-1].(map[string]any)
	typ, _ = e["type"].(string)
	reason, _ = e["reason"].(string)
	return typ, reason
}

// wrongCode returns a code of the same length as code that is not code.
func wrongCode(code string) string {
	w := []byte(code)
	w[0] = '0' + (w[0]-'0'+1)%10
	return string(w)
}

func testClusterAnyNodeServesAnyVerification(t *testing.T) {
	carrier := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	tc := startCluster(t, 3, carrier, func(c *conf.Config) {
		// Two caller IDs: the third concurrent call to one number finds
		// none free, whichever node places it.
		c.Callers = []string{"+442079467351-+442079467352"}
	})
	a, b, c := tc.nodes[0], tc.nodes[1], tc.nodes[2]
	ids := tc.waitListed(3, a, b, c)
	t.Logf("nodes: %v", ids)

	// carrierRun plays the carrier for calls calls; every node's trunk
	// points at it.
	carrierRun := func(scenario string, calls int) *sipptest.Proc {
		return sipptest.Start(context.Background(), t, sipptest.Options{Scenario: scenario, Listen: carrier, Calls: calls})
	}
	waitCarrier := func(p *sipptest.Proc) []sipptest.Record {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := p.Wait(ctx); err != nil {
			t.Fatalf("SIPp carrier: %v", err)
		}
		records, err := p.Log()
		if err != nil {
			t.Fatal(err)
		}
		return records
	}

	// Created on A, checked on B, watched on C, hung up on B: the carrier
	// never rings, and passes only if A sends the CANCEL that B was asked
	// for.
	sipp := carrierRun("uas_silent.xml", 1)
	id := a.create(testNumber)
	events := c.stream(id)
	if first := <-events; first["status"] != "pending" {
		t.Fatalf("first event on C: %v", first)
	}
	b.waitFor(id, "dialing", func(v map[string]any) bool { return len(v["events"].([]any)) > 0 })
	if _, v := b.call("POST", "/v1/verifications/"+id+"/check", `{"code":"0000"}`); v["attempts_left"] != float64(2) {
		t.Fatalf("wrong code on B: %v", v)
	}
	if status, v := b.call("POST", "/v1/verifications/"+id+"/hangup", ""); status != 200 {
		t.Fatalf("hangup on B: %d %v", status, v)
	}
	records := waitCarrier(sipp)
	if len(records) != 1 || !records[0].Cancelled || !records[0].BranchMatch {
		t.Fatalf("carrier records %+v", records)
	}
	v := c.waitFor(id, "call over", callOver)
	if v["status"] != "rang" || v["reason"] != "hangup_requested" {
		t.Fatalf("after a hang-up on B: %v", v)
	}
	code := records[0].From[len(records[0].From)-4:]
	if _, v := a.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`); v["status"] != "verified" {
		t.Fatalf("right code on A: %v", v)
	}
	var seen []string
	for ev := range events { // the stream ends after the final status
		seen = append(seen, ev["status"].(string))
	}
	if !slices.Contains(seen, "rang") || seen[len(seen)-1] != "verified" {
		t.Fatalf("C streamed %v, want rang then verified", seen)
	}

	// An inbound missed call: created on A, the user's call reaches B.
	inID, dial := a.createInbound(otherNumber)
	callers(t, b, "uac_missed_call.xml", local(t, "127.0.0.1"), []string{otherNumber + ";" + dial})
	if _, v := c.call("GET", "/v1/verifications/"+inID, ""); v["status"] != "verified" {
		t.Fatalf("inbound call to B, read on C: %v", v)
	}

	// The attempt limit holds across nodes: wrong codes to A, B and C in
	// turn, then all at once.
	sipp = carrierRun("uas_ring_cancel.xml", 2)
	turns := a.create("+447911123460")
	all := b.create("+447911123461")
	a.waitFor(turns, "rang", status("rang"))
	a.waitFor(all, "rang", status("rang"))
	waitCarrier(sipp)
	right := a.record(turns).code()
	for i, want := range []float64{2, 1, 0} {
		_, v := tc.nodes[i%3].call("POST", "/v1/verifications/"+turns+"/check", `{"code":"`+wrongCode(right)+`"}`)
		if v["attempts_left"] != want {
			t.Fatalf("wrong code %d, on node %d: %v, want attempts_left %v", i+1, i%3, v, want)
		}
	}
	if _, v := c.call("POST", "/v1/verifications/"+turns+"/check", `{"code":"`+right+`"}`); v["status"] != "failed" {
		t.Fatalf("right code after 3 wrong ones: %v", v)
	}
	left := make(chan any, 9)
	wrong := wrongCode(a.record(all).code())
	var wg sync.WaitGroup
	for i := range 9 {
		wg.Go(func() {
			r, err := tc.nodes[i%3].try("POST", "/v1/verifications/"+all+"/check", `{"code":"`+wrong+`"}`)
			if err != nil || r.status != 200 {
				left <- fmt.Sprintf("%d %v %v", r.status, r.body, err)
				return
			}
			left <- r.body["attempts_left"]
		})
	}
	wg.Wait()
	close(left)
	counts := map[any]int{}
	for l := range left {
		counts[l]++
	}
	if counts[float64(2)] != 1 || counts[float64(1)] != 1 || counts[float64(0)] != 7 {
		t.Fatalf("9 concurrent wrong codes over 3 nodes: attempts_left counts %v, want one 2, one 1, seven 0", counts)
	}
	if _, v := b.call("GET", "/v1/verifications/"+all, ""); v["status"] != "failed" || v["reason"] != "attempts_exhausted" {
		t.Fatalf("after 9 wrong codes: %v", v)
	}

	// Two nodes never present one caller ID to one number at once: with
	// two caller IDs, A and B get one each, and C none.
	const number = "+447911123470"
	sipp = carrierRun("uas_ring_cancel.xml", 2)
	a.create(number)
	// Leasing draws 8 caller IDs at random: with one of two taken, all 8
	// miss the free one once in 256 tries. Try again then.
	for try := 1; ; try++ {
		r, err := b.try("POST", "/v1/verifications", `{"number":"`+number+`","method":"flashcall"}`)
		if err != nil {
			t.Fatal(err)
		}
		if r.status == 201 {
			break
		}
		if r.status != 503 || try == 4 {
			t.Fatalf("second verification of one number, on B: %d %v", r.status, r.body)
		}
	}
	r, err := c.try("POST", "/v1/verifications", `{"number":"`+number+`","method":"flashcall"}`)
	if e, _ := r.body["error"].(map[string]any); err != nil || r.status != 503 || e["code"] != "no_caller_id" || r.header.Get("Retry-After") == "" {
		t.Fatalf("third verification of one number, on C: %d %v %v, want 503 no_caller_id", r.status, r.body, err)
	}
	records = waitCarrier(sipp)
	if len(records) != 2 || records[0].To != number || records[1].To != number || records[0].From == records[1].From {
		t.Fatalf("carrier records %+v, want two calls to %s from different caller IDs", records, number)
	}
}

// quietLog keeps the nodes of a load test from logging each verification.
// The check that logs hold no code, run when a node stops, takes a code
// found between letters for a leak: with hundreds of codes, some would
// turn up inside the hex ids and pointers of the log lines.
func quietLog(c *conf.Config) { c.Log.Level = "warn" }

// load creates flash-call verifications with 6-digit codes (for the same
// reason as quietLog), one goroutine per node, each of a number of its own,
// every interval until stop is closed. A request that fails on the network
// stops that node's goroutine: the node is gone.
type load struct {
	mu          sync.Mutex
	created     map[*testServer][]created
	unavailable int      // 503 with Retry-After
	gone        []string // network errors: the node died
	problems    []string // any other answer
	trace       []string // every request: when, where, how long, the answer
	wg          sync.WaitGroup
}

// created is a verification the load created, and when it asked for it.
type created struct {
	id string
	at time.Time
}

func startLoad(nodes []*testServer, prefix string, interval time.Duration, stop <-chan struct{}) *load {
	l := &load{created: map[*testServer][]created{}}
	for i, s := range nodes {
		l.wg.Go(func() {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for n := 0; ; n++ {
				number := fmt.Sprintf("%s%d%03d", prefix, i, n)
				at := time.Now()
				r, err := s.try("POST", "/v1/verifications", `{"number":"`+number+`","method":"flashcall","code_length":6}`)
				l.mu.Lock()
				l.trace = append(l.trace, fmt.Sprintf("%s node %d: %d after %v %v",
					at.Format("15:04:05.000"), i, r.status, time.Since(at).Round(time.Millisecond), err))
				switch {
				case err != nil:
					l.gone = append(l.gone, err.Error())
				case r.status == 201:
					l.created[s] = append(l.created[s], created{r.body["id"].(string), at})
				case r.status == 503 && r.header.Get("Retry-After") != "":
					l.unavailable++
				default:
					l.problems = append(l.problems, fmt.Sprintf("%d %v", r.status, r.body))
				}
				l.mu.Unlock()
				if err != nil {
					return
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		})
	}
	return l
}

// ids returns the verifications created on nodes, or on every node when
// none is named.
func (l *load) ids(nodes ...*testServer) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for s, cs := range l.created {
		if len(nodes) > 0 && !slices.Contains(nodes, s) {
			continue
		}
		for _, c := range cs {
			out = append(out, c.id)
		}
	}
	return out
}

// since counts the verifications created on s that were asked for after t.
func (l *load) since(s *testServer, t time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.created[s] {
		if c.at.After(t) {
			n++
		}
	}
	return n
}

// logTraceIfFailed shows every request of the load if t has failed.
func (l *load) logTraceIfFailed(t *testing.T) {
	if t.Failed() {
		l.mu.Lock()
		defer l.mu.Unlock()
		t.Logf("load:\n%s", strings.Join(l.trace, "\n"))
	}
}

// waitCallsOver waits until every verification in ids has a final call
// event, reading each from the nodes in turn, and returns them by id.
func waitCallsOver(t *testing.T, nodes []*testServer, ids []string, within time.Duration) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	deadline := time.Now().Add(within)
	for i, id := range ids {
		var (
			r   reply
			err error
		)
		if !poll(time.Until(deadline), func() bool {
			r, err = nodes[i%len(nodes)].try("GET", "/v1/verifications/"+id, "")
			return err == nil && r.status == 200 && callOver(r.body)
		}) {
			t.Fatalf("verification %s: no final call event within %v: %d %v %v\nwhat the nodes logged of it:\n%s",
				id, within, r.status, r.body, err, logLinesOf(nodes, id))
		}
		out[id] = r.body
	}
	return out
}

// logLinesOf returns the lines of the nodes' logs that hold s.
func logLinesOf(nodes []*testServer, s string) string {
	var out []string
	for _, n := range nodes {
		if n.logs == nil {
			continue
		}
		for line := range strings.Lines(n.logs.String()) {
			if strings.Contains(line, s) {
				out = append(out, strings.TrimSpace(line))
			}
		}
	}
	return strings.Join(out, "\n")
}

// checkReadable fails t unless every node returns every verification.
func checkReadable(t *testing.T, nodes []*testServer, ids []string) {
	t.Helper()
	for _, s := range nodes {
		for _, id := range ids {
			r, err := s.try("GET", "/v1/verifications/"+id, "")
			// A 503 with Retry-After asks to try again: a busy machine can
			// pass the store's request timeout.
			for tries := 0; err == nil && r.status == 503 && r.header.Get("Retry-After") != "" && tries < 5; tries++ {
				time.Sleep(time.Second)
				r, err = s.try("GET", "/v1/verifications/"+id, "")
			}
			if err != nil || r.status != 200 {
				t.Fatalf("verification %s on %s: %d %v %v", id, s.base, r.status, r.body, err)
			}
		}
	}
}

func testClusterSurvivesTheLossOfAnEtcdMember(t *testing.T) {
	sipp := sipptest.Start(context.Background(), t, sipptest.Options{Scenario: "uas_ring_cancel.xml", Timeout: 2 * time.Minute})
	tc := startCluster(t, 3, sipp.Addr, quietLog)

	// Verifications on every node; once 15 exist, the etcd leader stops, as
	// a crash would: the worst case, since the others must elect a new
	// one. The load goes on until each node has created 10 more.
	stop := make(chan struct{})
	l := startLoad(tc.nodes, "+44791112", 50*time.Millisecond, stop)
	defer l.logTraceIfFailed(t)
	if !poll(30*time.Second, func() bool { return len(l.ids()) >= 15 }) {
		t.Fatal("the load created fewer than 15 verifications in 30 s")
	}
	leader := tc.leader()
	stopped := time.Now()
	tc.etcd.Stop(leader)
	t.Logf("member %d, the leader, stopped in %v", leader, time.Since(stopped).Round(time.Millisecond))
	// A liveness check, not a timing: the margin is for a busy machine.
	recovered := poll(60*time.Second, func() bool {
		for _, s := range tc.nodes {
			if l.since(s, stopped) < 10 {
				return false
			}
		}
		return true
	})
	close(stop)
	l.wg.Wait()
	if !recovered {
		t.Fatal("with 2 of 3 etcd members, some node did not create 10 verifications within 60 s")
	}
	t.Logf("every node created 10 verifications %v after the stop", time.Since(stopped).Round(time.Millisecond))
	restart := time.Now()
	tc.etcd.Restart(leader)
	t.Logf("member %d restarted in %v", leader, time.Since(restart).Round(time.Millisecond))

	ids := l.ids()
	t.Logf("%d verifications created, %d answers 503 (Retry-After)", len(ids), l.unavailable)
	if len(l.problems) > 0 || len(l.gone) > 0 {
		t.Fatalf("answers other than 201 or 503 with Retry-After: %v %v", l.problems, l.gone)
	}
	for id, v := range waitCallsOver(t, tc.nodes, ids, 20*time.Second) {
		if typ, _ := lastEvent(v); typ != "cancelled" {
			t.Fatalf("verification %s: call ended %s, want cancelled: %v", id, typ, v)
		}
	}
	checkReadable(t, tc.nodes, ids)
	tc.waitListed(3, tc.nodes...)
}

func testClusterQuorumLossAnswers503ThenRecovers(t *testing.T) {
	tc := startCluster(t, 3, "127.0.0.1:5070", func(c *conf.Config) {
		c.Store.RequestTimeoutS = 1
	})
	// Inbound missed calls place no call: only the store is at stake. On
	// a busy machine a request can pass the 1 s timeout even with quorum:
	// try again.
	var id string
	if !poll(20*time.Second, func() bool {
		r, err := tc.nodes[0].try("POST", "/v1/verifications", `{"number":"`+testNumber+`","method":"inbound_missed"}`)
		id, _ = r.body["id"].(string)
		return err == nil && r.status == 201
	}) {
		t.Fatal("no verification created with quorum within 20 s")
	}

	// Two of three members down: no quorum. Every request that needs the
	// store answers 503 with Retry-After within the request timeout.
	tc.etcd.Stop(0)
	tc.etcd.Stop(1)
	down := time.Now()
	requests := []struct{ method, path, body string }{
		{"POST", "/v1/verifications", `{"number":"+447911123457","method":"inbound_missed"}`},
		{"GET", "/v1/verifications/" + id, ""},
		// A write (an inbound_missed verification takes no code; HANGUP is
		// the check it accepts).
		{"POST", "/v1/verifications/" + id + "/check", `{"code":"HANGUP"}`},
		{"GET", "/readyz", ""},
	}
	type outcome struct {
		node int
		req  string
		r    reply
		err  error
	}
	outcomes := make(chan outcome, len(tc.nodes)*len(requests))
	var wg sync.WaitGroup
	for i, s := range tc.nodes {
		for _, q := range requests {
			wg.Go(func() {
				r, err := s.try(q.method, q.path, q.body)
				outcomes <- outcome{i, q.method + " " + q.path, r, err}
			})
		}
	}
	wg.Wait()
	close(outcomes)
	var slowest time.Duration
	for o := range outcomes {
		slowest = max(slowest, o.r.took)
		// Speed is not asserted (a busy machine decides it); a request
		// that hung would fail on clusterHTTP's timeout.
		if o.err != nil || o.r.status != 503 || o.r.header.Get("Retry-After") == "" {
			t.Errorf("node %d, %s without quorum: %d (Retry-After %q) after %v: %v %v, want 503 with Retry-After",
				o.node, o.req, o.r.status, o.r.header.Get("Retry-After"), o.r.took.Round(time.Millisecond), o.r.body, o.err)
		}
	}

	t.Logf("without quorum: %d requests answered 503, the slowest in %v", len(tc.nodes)*len(requests), slowest.Round(time.Millisecond))

	// Back to quorum: the same nodes serve again, with no restart.
	tc.etcd.Restart(0)
	tc.etcd.Restart(1)
	tries := 0
	for i, s := range tc.nodes {
		ok := poll(20*time.Second, func() bool {
			tries++ // a number per try: failed tries may count towards its hourly limit
			r, err := s.try("POST", "/v1/verifications", fmt.Sprintf(`{"number":"+4479111%05d","method":"inbound_missed"}`, tries))
			return err == nil && r.status == 201
		})
		if !ok {
			t.Fatalf("node %d does not create verifications again within 20 s of quorum", i)
		}
		if _, v := s.call("GET", "/v1/verifications/"+id, ""); v["status"] != "pending" {
			t.Fatalf("node %d after the outage: %v", i, v)
		}
	}
	t.Logf("quorum lost for %v; every node serves again", time.Since(down).Round(time.Millisecond))
	tc.waitListed(3, tc.nodes...)
}

func testClusterNodeCrash(t *testing.T) {
	// Calls held ringing wait up to two minutes for their CANCEL.
	sipp := sipptest.Start(context.Background(), t, sipptest.Options{
		Scenario: "uas_ring_cancel.xml", Timeout: 3 * time.Minute, RecvTimeout: 2 * time.Minute,
	})
	bin := buildRingproof(t)
	tc := startCluster(t, 2, sipp.Addr, quietLog)
	a, b := tc.nodes[0], tc.nodes[1]
	dc := tc.config(func(c *conf.Config) { c.FlashCall.RingMS = 60000 })
	d := startNodeProcess(t, bin, dc)
	tc.waitListed(3, a, b, d.testServer)
	dID, _, err := listed(d.testServer)
	if err != nil {
		t.Fatal(err)
	}

	// Load on all three nodes. D's calls ring for a minute before their
	// CANCEL; D dies with some ringing and maybe some not yet.
	stop := make(chan struct{})
	l := startLoad([]*testServer{a, b, d.testServer}, "+44791113", 50*time.Millisecond, stop)
	defer l.logTraceIfFailed(t)
	if !poll(30*time.Second, func() bool {
		onD := l.ids(d.testServer)
		if len(onD) < 5 {
			return false
		}
		r, err := a.try("GET", "/v1/verifications/"+onD[0], "")
		return err == nil && r.body["status"] == "ringing"
	}) {
		t.Fatal("node D placed no ringing call within 30 s")
	}
	d.kill()
	killed := time.Now()
	// The load goes on against the dead node and the live ones until each
	// live node has created a few more.
	if !poll(30*time.Second, func() bool { return l.since(a, killed) >= 5 && l.since(b, killed) >= 5 }) {
		t.Fatal("the live nodes created no verifications within 30 s of the crash")
	}
	close(stop)
	l.wg.Wait()
	if len(l.problems) > 0 || len(l.gone) > 1 {
		t.Fatalf("answers other than 201 or 503, or network errors from live nodes: %v %v", l.problems, l.gone)
	}
	onD, ab := l.ids(d.testServer), l.ids(a, b)
	t.Logf("D created %d verifications before SIGKILL, A and B %d; %d answers 503",
		len(onD), len(ab), l.unavailable)

	// Once D's lease runs out, A and B close D's calls: failed, node_lost.
	// A call that rang stays checkable: its caller ID reached the phone.
	survivors := []*testServer{a, b}
	over := waitCallsOver(t, survivors, onD, cluster.DefaultTTL+15*time.Second)
	t.Logf("D's calls closed %v after SIGKILL (lease %v)", time.Since(killed).Round(time.Millisecond), cluster.DefaultTTL)
	rang := 0
	for _, id := range onD {
		v := over[id]
		if typ, reason := lastEvent(v); typ != "failed" || reason != "node_lost" {
			t.Fatalf("D's verification %s: last event %s %s, want failed node_lost: %v", id, typ, reason, v)
		}
		if !slices.Contains(eventTypes(v), "ringing") {
			if v["status"] != "failed" {
				t.Fatalf("D's call that never rang: %v, want failed", v)
			}
			continue
		}
		rang++
		if v["status"] != "ringing" {
			t.Fatalf("D's call that rang: %v, want still ringing (checkable)", v)
		}
		if _, c := b.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+a.record(id).code()+`"}`); c["status"] != "verified" {
			t.Fatalf("D's rung verification checked on B: %v", c)
		}
	}
	if rang == 0 {
		t.Fatal("none of D's calls had rung")
	}
	t.Logf("of D's %d calls, %d had rung and stay checkable, %d had not and failed", len(onD), rang, len(onD)-rang)
	// Creations cut short by the kill: whatever D stored is closed too.
	var open []string
	if !poll(5*time.Second, func() bool {
		open = open[:0]
		kvs, err := a.store.List(context.Background(), "v/")
		for _, kv := range kvs {
			var r storedRecord
			if json.Unmarshal(kv.Value, &r) == nil && r.Node == dID &&
				!slices.ContainsFunc(r.Events, func(e storedEvent) bool { return e.Reason == "node_lost" }) {
				open = append(open, kv.Key)
			}
		}
		return err == nil && len(open) == 0
	}) {
		t.Fatalf("D's records not closed: %v", open)
	}
	for id, v := range waitCallsOver(t, survivors, ab, 20*time.Second) {
		if typ, _ := lastEvent(v); typ != "cancelled" {
			t.Fatalf("verification %s of a live node: call ended %s: %v", id, typ, v)
		}
	}
	checkReadable(t, survivors, append(ab, onD...))
	tc.waitListed(2, a, b)

	// D comes back on the same configuration and joins again.
	d.start()
	tc.waitListed(3, a, b, d.testServer)
	if _, v := d.call("GET", "/v1/verifications/"+onD[0], ""); v["id"] != onD[0] {
		t.Fatalf("D after restart: %v", v)
	}

	// Killed again and back at once, before its lease runs out: A and B
	// never see it leave, so D closes the calls it left open itself.
	id := d.create("+447911139999")
	a.waitFor(id, "ringing", status("ringing"))
	d.kill()
	d.start()
	v := a.waitFor(id, "call closed", callOver)
	if typ, reason := lastEvent(v); typ != "failed" || reason != "node_lost" || v["status"] != "ringing" {
		t.Fatalf("D's call after a quick restart: %v, want failed node_lost, still ringing", v)
	}
	tc.waitListed(3, a, b, d.testServer)
}

// nodeProcess is a ringproof node in a child process, so that a crash is a
// real SIGKILL: no deferred call, no goodbye to etcd.
type nodeProcess struct {
	*testServer // the API; it has no in-process server
	bin, config string
	log         string // stderr of every run, appended
	cmd         *exec.Cmd
	exited      chan struct{}
}

// startNodeProcess runs "ringproof serve" on c until the test ends.
func startNodeProcess(t *testing.T, bin string, c *conf.Config) *nodeProcess {
	t.Helper()
	p := &nodeProcess{
		testServer: &testServer{t: t, base: "http://" + c.HTTP.Listen},
		bin:        bin, config: writeConfig(t, c),
		log: filepath.Join(t.TempDir(), "node.log"),
	}
	t.Cleanup(func() {
		p.terminate()
		data, _ := os.ReadFile(p.log)
		checkLogsHoldNoNumber(t, string(data))
		if t.Failed() {
			t.Logf("node process log:\n%s", data)
		}
	})
	p.start()
	return p
}

// start runs the process and waits until its API answers.
func (p *nodeProcess) start() {
	p.t.Helper()
	logFile, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(p.bin, "serve", "--config", p.config)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	go func() {
		cmd.Wait()
		close(exited)
	}()
	ok := poll(30*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		r, err := p.try("GET", "/healthz", "")
		return err == nil && r.status == 200
	})
	select {
	case <-exited:
		data, _ := os.ReadFile(p.log)
		p.t.Fatalf("ringproof serve exited: %v\n%s", p.cmd.ProcessState, data)
	default:
	}
	if !ok {
		p.t.Fatal("ringproof serve: no answer on /healthz within 30 s")
	}
}

// kill ends the process with SIGKILL and waits until it is gone.
func (p *nodeProcess) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	// Connections kept alive to the dead process would fail the next
	// requests.
	clusterHTTP.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
}

// terminate stops the process as an operator would (SIGTERM: it hangs up
// its calls and leaves the cluster), killing it after 40 s.
func (p *nodeProcess) terminate() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			p.t.Errorf("ringproof serve exited %d after SIGTERM", code)
		}
	case <-time.After(40 * time.Second):
		p.t.Error("ringproof serve still running 40 s after SIGTERM")
		p.kill()
	}
}
