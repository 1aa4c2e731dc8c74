package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/store/storetest"
)

// Benchmarks of what every verification costs in this package: the code
// check, the record's JSON round trip (each store update decodes and
// re-encodes the whole record), number parsing, and the whole service on a
// real embedded etcd with the SIP side faked. See docs/performance.md.
//
//	go test ./verify -run '^$' -bench . -benchmem
//	go test ./verify -run '^$' -bench ServiceFlow -cpuprofile cpu.out

// benchRecord is a flash-call verification as stored once its call is
// over: three events.
func benchRecord() *record {
	t := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	return &record{
		ID: "v0123456789abcdef0123456789abcdef", WatchToken: "0123456789abcdef0123456789abcdef",
		Method: MethodFlashCall, Status: StatusRang,
		Number: "+447911123456", NumberKey: "8c7dd922ad47494fc02c388e12c00eac",
		CallerID: "+442079461234", CodeLength: 4, MaxAttempts: 3,
		CodeHash:  testCodeHash("v0123456789abcdef0123456789abcdef", "1234"),
		Node:      "node-1/127.0.0.1:5060",
		CreatedAt: t, UpdatedAt: t.Add(3 * time.Millisecond), ExpiresAt: t.Add(5 * time.Minute),
		Events: []Event{
			{Type: "dialing", At: t.Add(time.Millisecond)},
			{Type: "ringing", Status: 180, At: t.Add(2 * time.Millisecond)},
			{Type: "cancelled", Status: 487, Reason: "rang", At: t.Add(3 * time.Millisecond)},
		},
	}
}

func BenchmarkCodeMatches(b *testing.B) {
	for _, bc := range []struct{ name, given string }{{"right", "1234"}, {"wrong", "1243"}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				codeMatches("1234", bc.given)
			}
		})
	}
}

func BenchmarkApplyCheck(b *testing.B) {
	now := benchRecord().CreatedAt.Add(time.Second)
	for _, bc := range []struct {
		name, code string
		want       outcome
	}{{"right", "1234", outcomeMatch}, {"wrong", "1243", outcomeWrong}} {
		b.Run(bc.name, func(b *testing.B) {
			r := benchRecord()
			b.ReportAllocs()
			for b.Loop() {
				r.Status, r.Attempts = StatusRang, 0
				if got := r.applyCheck(testCodeHash(r.ID, bc.code), now); got != bc.want {
					b.Fatalf("outcome %d, want %d", got, bc.want)
				}
			}
		})
	}
}

func BenchmarkRecordEncode(b *testing.B) {
	r := benchRecord()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		val, err := json.Marshal(r)
		if err != nil {
			b.Fatal(err)
		}
		n = len(val)
	}
	b.ReportMetric(float64(n), "bytes/record")
}

func BenchmarkRecordDecode(b *testing.B) {
	val, err := json.Marshal(benchRecord())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var r record
		if err := json.Unmarshal(val, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordUpdate is the CPU of one Service.update apart from the
// store: decode, apply a call event, encode. A verification makes four
// (dialing, ringing, cancelled, the check).
func BenchmarkRecordUpdate(b *testing.B) {
	val, err := json.Marshal(benchRecord())
	if err != nil {
		b.Fatal(err)
	}
	ev := CallEvent{Kind: CallCancelled, Status: 487, At: benchRecord().CreatedAt.Add(4 * time.Millisecond)}
	b.ReportAllocs()
	for b.Loop() {
		var r record
		if err := json.Unmarshal(val, &r); err != nil {
			b.Fatal(err)
		}
		r.applyCallEvent(ev)
		if _, err := json.Marshal(&r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseNumber(b *testing.B) {
	number.Parse("+447911123456", "") // load the metadata
	for _, bc := range []struct{ name, number, region string }{
		{"E164", "+447911123456", ""},
		{"national", "07911 123456", "GB"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := number.Parse(bc.number, bc.region); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchDialer draws caller IDs in turn, remembering each by number key so
// that the benchmark can give the right code, and plays a call that rings
// and is cancelled at once, reporting its three events as the SIP endpoint
// does.
type benchDialer struct {
	n      atomic.Int64
	leased sync.Map // number key → caller ID
}

func (d *benchDialer) DrawCallerID(_, numberKey string) (CallerIDLease, error) {
	id := fmt.Sprintf("+44207946%04d", d.n.Add(1)%10000)
	d.leased.Store(numberKey, id)
	return CallerIDLease{CallerID: id, Key: "callerid/" + numberKey + "/" + id, TTL: time.Minute}, nil
}

// code is the code of the last caller ID leased for numberKey.
func (d *benchDialer) code(numberKey string) string {
	id, _ := d.leased.Load(numberKey)
	s, _ := id.(string)
	return s[len(s)-4:]
}

func (d *benchDialer) Flash(ctx context.Context, callerID, number string, report func(CallEvent)) CallEvent {
	report(CallEvent{Kind: CallDialing, At: time.Now()})
	report(CallEvent{Kind: CallRinging, Status: 180, At: time.Now()})
	ev := CallEvent{Kind: CallCancelled, Status: 487, Reason: "rang", At: time.Now()}
	report(ev)
	return ev
}

// BenchmarkServiceFlow runs whole verifications, create then check with
// the right code, 32 at a time, on a real embedded etcd with the SIP side
// faked: the server's hot path without SIP, in one process, for
// -cpuprofile and -memprofile. "service" calls the Service; "http" goes
// through the API handler (auth, JSON in and out) without a network.
func BenchmarkServiceFlow(b *testing.B) {
	for _, via := range []string{"service", "http"} {
		b.Run(via, func(b *testing.B) {
			st := storetest.New(b)
			idx, err := privacy.NewIndex([]byte(strings.Repeat("k", privacy.KeySize)))
			if err != nil {
				b.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			d := &benchDialer{}
			svc := NewService(st, d, Config{
				CodeLength: 4, MaxCodeLength: 6, Expiry: 5 * time.Minute,
				MaxAttempts: 3, MaxPerNumberPerHour: 1 << 30, Node: "bench", Vault: testVault(b, st),
			}, idx.Of, log)
			b.Cleanup(func() { svc.Close(context.Background()) })
			h := NewHandler(svc, []string{"bench-key"}, 64<<10, log)

			var next atomic.Int64
			b.SetParallelism(16)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					number := fmt.Sprintf("+4479110%05d", next.Add(1)%100000)
					code := func() string { return d.code(idx.Of(number)) }
					var status Status
					if via == "service" {
						status = serviceVerify(b, ctx, svc, number, code)
					} else {
						status = httpVerify(b, h, number, code)
					}
					if status != StatusVerified {
						b.Errorf("status %s after the right code", status)
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verifications/s")
		})
	}
}

func serviceVerify(b *testing.B, ctx context.Context, svc *Service, number string, code func() string) Status {
	v, err := svc.Create(ctx, CreateRequest{Number: number, Method: string(MethodFlashCall)})
	if err != nil {
		b.Error(err)
		return ""
	}
	r, err := svc.Check(ctx, v.ID, code())
	if err != nil {
		b.Error(err)
		return ""
	}
	return r.Status
}

func httpVerify(b *testing.B, h http.Handler, number string, code func() string) Status {
	var v Verification
	if status := serve(h, "/v1/verifications", `{"number":"`+number+`","method":"flashcall"}`, &v); status != http.StatusCreated {
		b.Errorf("create: %d", status)
		return ""
	}
	var res CheckResult
	if status := serve(h, "/v1/verifications/"+v.ID+"/check", `{"code":"`+code()+`"}`, &res); status != http.StatusOK {
		b.Errorf("check: %d", status)
		return ""
	}
	return res.Status
}

func serve(h http.Handler, path, body string, out any) int {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer bench-key")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	_ = json.Unmarshal(w.Body.Bytes(), out)
	return w.Code
}
