package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringproof/ringproof/media"
	"github.com/ringproof/ringproof/sip/sipptest"
)

// Voice and keypad methods end to end: SIPp does the signalling (as the
// callee answering ringproof's call, or as the user calling in) and an
// rtpPeer in the test plays the audio side. What the methods do with the
// keys typed and the calls taken (wrong codes, attempts, unknown callers)
// is tested in verify with a fake conversation (verify/talk_test.go);
// these keep what only a real call shows: the audio, DTMF in its forms,
// SIP INFO, SDP.

// csvFile writes a SIPp injection file.
func csvFile(t *testing.T, lines ...string) string {
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte("SEQUENTIAL\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// callee starts SIPp answering one call with its audio at peer's port.
func callee(t *testing.T, scenario string, fields ...string) *sipptest.Proc {
	return sipptest.Start(context.Background(), t, sipptest.Options{
		Scenario: scenario, Calls: 1, ExtraArgs: []string{"-inf", csvFile(t, strings.Join(fields, ";"))},
	})
}

// storedCode reads a verification's code from the store, as only the
// spoken audio carries it.
// storedCode finds the code of verification id as only the server can: its
// record holds the code's keyed hash, never the code, so the test tries
// every code of its length under the server's key until one hashes alike.
func (s *testServer) storedCode(id string) string {
	s.t.Helper()
	val, _, err := s.store.Get(context.Background(), "v/"+id)
	if err != nil {
		s.t.Fatal(err)
	}
	var r struct {
		Code       string `json:"code"`
		CodeHash   string `json:"code_hash"`
		CodeLength int    `json:"code_length"`
	}
	if err := json.Unmarshal(val, &r); err != nil || r.CodeHash == "" || r.Code != "" {
		s.t.Fatalf("the record does not hold its code's hash alone: %v %s", err, val)
	}
	idx := s.vault.Index()
	limit := 1
	for range r.CodeLength {
		limit *= 10
	}
	// Six digits are a million hashes: on every core.
	workers := runtime.GOMAXPROCS(0)
	found := make(chan string, workers)
	var wg sync.WaitGroup
	var done atomic.Bool
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := w; n < limit && !done.Load(); n += workers {
				if code := fmt.Sprintf("%0*d", r.CodeLength, n); idx.CodeHash(id, code) == r.CodeHash {
					done.Store(true)
					found <- code
				}
			}
		}()
	}
	wg.Wait()
	close(found)
	if code, ok := <-found; ok {
		s.noteCode(code)
		return code
	}
	s.t.Fatalf("no code of %d digits hashes to the record's", r.CodeLength)
	return ""
}

func (s *testServer) createMethod(method, number string) map[string]any {
	s.t.Helper()
	status, v := s.call("POST", "/v1/verifications", fmt.Sprintf(`{"number":%q,"method":%q}`, number, method))
	if status != 201 {
		s.t.Fatalf("create %s: %d %v", method, status, v)
	}
	return v
}

func waitProc(t *testing.T, p *sipptest.Proc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if res, err := p.Wait(ctx); err != nil {
		t.Fatalf("SIPp: %v\n%s", err, res.Errors)
	}
}

// checkStream asserts that pkts carry want whole, in order: at least
// len(want)/160 packets, consecutive sequence numbers and timestamps 160
// apart from one SSRC, one payload type, the marker on the first packet
// only, and the payloads of the first packets equal to want, frame by
// frame. Pacing (50 packets a second) is not an end-to-end property to
// assert on a shared machine: media's BenchmarkPromptStreams measures it.
func checkStream(t *testing.T, pkts []rtpPacket, pt uint8, want []byte) {
	t.Helper()
	frames := len(want) / media.FrameSamples
	if len(pkts) < frames {
		t.Fatalf("%d RTP packets, want at least %d (%d bytes of audio)", len(pkts), frames, len(want))
	}
	for i, p := range pkts {
		if p.hdr.PayloadType != pt {
			t.Fatalf("packet %d: payload type %d, want %d", i, p.hdr.PayloadType, pt)
		}
		if p.hdr.Marker != (i == 0) {
			t.Fatalf("packet %d: marker %v", i, p.hdr.Marker)
		}
		if len(p.payload) != media.FrameSamples {
			t.Fatalf("packet %d: %d bytes of audio", i, len(p.payload))
		}
		if i > 0 {
			prev := pkts[i-1].hdr
			if p.hdr.SequenceNumber != prev.SequenceNumber+1 {
				t.Fatalf("packet %d: sequence %d after %d", i, p.hdr.SequenceNumber, prev.SequenceNumber)
			}
			if p.hdr.Timestamp-prev.Timestamp != media.FrameSamples {
				t.Fatalf("packet %d: timestamp step %d", i, p.hdr.Timestamp-prev.Timestamp)
			}
			if p.hdr.SSRC != prev.SSRC {
				t.Fatalf("packet %d: SSRC changed", i)
			}
		}
		if i < frames && !bytes.Equal(p.payload, want[i*media.FrameSamples:(i+1)*media.FrameSamples]) {
			t.Fatalf("packet %d of %d: its audio is not frame %d of what should be heard", i, len(pkts), i)
		}
	}
}

// spoken is the audio ringproof plays for names.
func spoken(t *testing.T, names ...string) []byte {
	t.Helper()
	p, err := media.LoadPrompts("")
	if err != nil {
		t.Fatal(err)
	}
	audio, err := p.Sequence("en", media.CodecPCMU, names...)
	if err != nil {
		t.Fatal(err)
	}
	return audio
}

func codePrompt(code string, repeat int) []string {
	names := []string{media.PromptCodeIs}
	for i := range repeat {
		if i > 0 {
			names = append(names, media.PromptAgain)
		}
		for _, d := range code {
			names = append(names, string(d))
		}
	}
	return names
}

func TestVoiceCallSpeaksTheCode(t *testing.T) {
	t.Parallel()
	peer := newRTPPeer(t)
	sipp := callee(t, "uas_answer_media.xml", fmt.Sprint(peer.port()))
	srv := startServer(t, testConfig(t, sipp.Addr))
	v := srv.createMethod("voice", testNumber)
	id := v["id"].(string)
	if v["code"] != nil {
		t.Fatalf("a voice verification's code was returned: %v", v)
	}
	waitProc(t, sipp) // SIPp got the BYE: the call is over
	code := srv.storedCode(id)
	want := spoken(t, codePrompt(code, 2)...)
	checkStream(t, peer.waitPackets(len(want)/media.FrameSamples), media.PCMU, want)
	// A different code's sequence would not match: the check can fail.
	other := fmt.Sprintf("%04d", (mustAtoi(t, code)+1)%10000)
	if bytes.Equal(want, spoken(t, codePrompt(other, 2)...)) {
		t.Fatal("audio matches another code too")
	}
	got := srv.waitFor(id, "hung up", func(v map[string]any) bool {
		return strings.Contains(fmt.Sprint(eventTypes(v)), "hungup")
	})
	if types := fmt.Sprint(eventTypes(got)); !strings.Contains(types, "answered") || !strings.Contains(types, "code_spoken") {
		t.Fatalf("events %s", types)
	}
	if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`); c["status"] != "verified" {
		t.Fatalf("spoken code did not verify: %v", c)
	}
}

func TestKeypadOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  func(p *rtpPeer, keys string)
	}{
		{"rfc4733", (*rtpPeer).typeRFC4733},
		{"in-band", (*rtpPeer).typeInBand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			peer := newRTPPeer(t)
			sipp := callee(t, "uas_answer_media.xml", fmt.Sprint(peer.port()))
			srv := startServer(t, testConfig(t, sipp.Addr))
			v := srv.createMethod("keypad_out", testNumber)
			id, code := v["id"].(string), v["code"].(string)
			if len(code) != 4 {
				t.Fatalf("keypad_out create did not return the code: %v", v)
			}
			peer.waitFirst()
			tt.typ(peer, code+"#")
			srv.waitFor(id, "verified", status("verified"))
			waitProc(t, sipp)
			_, got := srv.call("GET", "/v1/verifications/"+id, "")
			if !strings.Contains(fmt.Sprint(eventTypes(got)), "keys_entered") {
				t.Fatalf("events %v", eventTypes(got))
			}
			// The digits typed never reach the record's events (their
			// times aside, whose digits may hold any four).
			for _, e := range got["events"].([]any) {
				ev := e.(map[string]any)
				delete(ev, "at")
				if strings.Contains(fmt.Sprint(ev), code) {
					t.Fatalf("an event holds the code: %v", ev)
				}
			}
		})
	}
}

// keypadInCall starts a server, creates a keypad_in verification and has
// SIPp call its dial number with audio to and from peer. It returns once
// ringproof's first RTP packet has reached peer; done closes when the call
// is over.
func keypadInCall(t *testing.T) (srv *testServer, id, code string, peer *rtpPeer, done <-chan struct{}) {
	t.Helper()
	srv = startServer(t, inboundConfig(t))
	v := srv.createMethod("keypad_in", testNumber)
	id, code = v["id"].(string), v["code"].(string)
	dial := v["dial_number"].(string)
	peer = newRTPPeer(t)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		callers(t, srv, "uac_call_media.xml", local(t, "127.0.0.1"), []string{fmt.Sprintf("%s;%s;%d", testNumber, dial, peer.port())})
	}()
	peer.waitFirst()
	return srv, id, code, peer, ended
}

func TestInboundVoiceAndKeypadIn(t *testing.T) {
	t.Parallel()
	t.Run("inbound_voice", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, inboundConfig(t))
		v := srv.createMethod("inbound_voice", testNumber)
		id, dial := v["id"].(string), v["dial_number"].(string)
		peer := newRTPPeer(t)
		callers(t, srv, "uac_call_media.xml", local(t, "127.0.0.1"), []string{fmt.Sprintf("%s;%s;%d", testNumber, dial, peer.port())})
		code := srv.storedCode(id)
		want := spoken(t, codePrompt(code, 2)...)
		checkStream(t, peer.waitPackets(len(want)/media.FrameSamples), media.PCMU, want)
		if _, c := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`); c["status"] != "verified" {
			t.Fatalf("spoken code did not verify: %v", c)
		}
	})
	t.Run("keypad_in by SIP INFO", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, inboundConfig(t))
		v := srv.createMethod("keypad_in", testNumber)
		id, dial, code := v["id"].(string), v["dial_number"].(string), v["code"].(string)
		peer := newRTPPeer(t)
		keys := strings.Join(strings.Split(code+"#", ""), ";")
		callers(t, srv, "uac_call_info.xml", local(t, "127.0.0.1"), []string{fmt.Sprintf("%s;%s;%d;%s", testNumber, dial, peer.port(), keys)})
		srv.waitFor(id, "verified", status("verified"))
	})
	t.Run("keypad_in by RFC 4733", func(t *testing.T) {
		t.Parallel()
		srv, id, code, peer, done := keypadInCall(t)
		peer.typeRFC4733(code + "#")
		srv.waitFor(id, "verified", status("verified"))
		<-done
	})
	t.Run("no common codec gets 488", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, inboundConfig(t))
		v := srv.createMethod("inbound_voice", testNumber)
		callers(t, srv, "uac_call_g729.xml", local(t, "127.0.0.1"), []string{testNumber + ";" + v["dial_number"].(string)})
		if _, got := srv.call("GET", "/v1/verifications/"+v["id"].(string), ""); got["status"] != "pending" {
			t.Fatalf("after a 488: %v", got)
		}
	})
}

// keypadOutEndedBy creates a keypad_out verification and waits until one of
// its events gives reason for the hang-up; it returns the verification then.
func (s *testServer) keypadOutEndedBy(reason string) map[string]any {
	v := s.createMethod("keypad_out", testNumber)
	return s.waitFor(v["id"].(string), "hung up ("+reason+")", func(v map[string]any) bool {
		return strings.Contains(fmt.Sprint(v["events"]), reason)
	})
}

func TestCallWithoutRTPEndsWithAnEvent(t *testing.T) {
	t.Parallel()
	// The callee answers but never sends audio: the call ends on the
	// no-media timer, hung up, with an event saying so.
	mute := newRTPPeer(t)
	close(mute.frames) // the peer's sender stops at once: nothing is sent
	sipp := callee(t, "uas_answer_media.xml", fmt.Sprint(mute.port()))
	c := testConfig(t, sipp.Addr)
	c.Media.NoRTPTimeoutS = 1
	srv := startServer(t, c)
	got := srv.keypadOutEndedBy("no_media")
	if got["status"] != "answered" {
		t.Fatalf("status %v after a silent call, want answered (still checkable)", got["status"])
	}
	waitProc(t, sipp)
}

func TestMaxCallDurationEndsTheCall(t *testing.T) {
	t.Parallel()
	// The callee answers and keeps sending audio but never types the code:
	// keypad_out would wait 10 s for a key, so media.max_call_s (5 s, its
	// least) hangs up first, with an event saying why.
	peer := newRTPPeer(t)
	sipp := callee(t, "uas_answer_media.xml", fmt.Sprint(peer.port()))
	c := testConfig(t, sipp.Addr)
	c.Media.MaxCallS = 5
	c.Media.NoRTPTimeoutS = 60
	srv := startServer(t, c)
	got := srv.keypadOutEndedBy("max_duration")
	if events := fmt.Sprint(got["events"]); strings.Contains(events, "no_media") || strings.Contains(events, "remote_bye") {
		t.Fatalf("events %s: the call ended for another reason too", events)
	}
	if got["status"] != "answered" {
		t.Fatalf("status %v after the longest call, want answered (still checkable)", got["status"])
	}
	waitProc(t, sipp) // SIPp got ringproof's BYE and answered it
}

func TestRemoteByeEndsTheCall(t *testing.T) {
	t.Parallel()
	peer := newRTPPeer(t)
	sipp := callee(t, "uas_answer_bye.xml", fmt.Sprint(peer.port()))
	srv := startServer(t, testConfig(t, sipp.Addr))
	v := srv.createMethod("voice", testNumber)
	id := v["id"].(string)
	waitProc(t, sipp) // SIPp's BYE got its 200
	got := srv.waitFor(id, "hung up", func(v map[string]any) bool {
		return strings.Contains(fmt.Sprint(v["events"]), "remote_bye")
	})
	if got["status"] != "answered" {
		t.Fatalf("status %v after the callee hung up", got["status"])
	}
}
