package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/store/storetest"
)

// What an attacker on the host finds at rest: after a mixed workload of
// every method, no code is anywhere under store.data_dir, and the store
// answers no client that lacks the server's credentials (issue 14, item 4).

// TestNoCodeInClearAtRest runs flash calls, texts, a voice call, keypad
// calls out and in, an inbound voice call, an inbound missed call and
// checks (right and wrong) on one node, with six-digit codes, against the
// test handset and SIPp as carrier and callers. Then, while the node runs
// and again once it has stopped, it reads every file under store.data_dir
// (etcd's WAL and snap/db, history.db and its -wal, the keys) and finds
// none of the ten codes in clear, nor the caller ID a flash call presented
// (whose last digits are its code). It also checks that neither the unix
// socket (for another user) nor any TCP port of the node (for a client
// without the generated certificate) lets a client read or write a key.
func TestNoCodeInClearAtRest(t *testing.T) {
	t.Parallel()
	lines, carrierAddr := answeringPhone(t)
	c := inboundConfig(t)
	c.Trunks[0].Address = carrierAddr
	// A pool as wide as the codes: any six digits may be the code.
	c.Callers = []string{"+442079000000-+442079999999"}
	c.Store.ClientURL = fmt.Sprintf("https://127.0.0.1:%d", freeTCPPort(t))
	srv := startServer(t, c)
	began := time.Now()
	phase := func(what string) { t.Logf("%v: %s", time.Since(began).Round(time.Millisecond), what) }
	create := func(method, number string) map[string]any {
		t.Helper()
		st, v := srv.call("POST", "/v1/verifications", fmt.Sprintf(`{"number":%q,"method":%q,"code_length":6}`, number, method))
		if st != 201 {
			t.Fatalf("create %s: %d %v", method, st, v)
		}
		return v
	}
	// check checks code and wants the status to be want, or, if want is
	// "", anything but verified.
	check := func(id, code, want string) {
		t.Helper()
		_, v := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`)
		if want == "" && v["status"] != "verified" && v["error"] == nil {
			return
		}
		if v["status"] != want {
			t.Fatalf("check %s: %v, want %s", id, v, cmp.Or(want, "not verified"))
		}
	}
	var (
		codes     []string // the ten codes, six digits each
		callerIDs []string // the flash calls' caller IDs
	)
	learn := func(code string) {
		t.Helper()
		if !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
			t.Fatalf("code %q is not six digits", code)
		}
		codes = append(codes, code)
		srv.noteCode(code)
	}

	// Three flash calls: the handset prints each code from the caller ID.
	for i, check1 := range []func(id, code string){
		func(id, code string) { check(id, wrong6(code), ""); check(id, code, "verified") },
		func(id, code string) { check(id, code, "verified") },
		func(id, code string) {
			check(id, wrong6(code), "")
			check(id, wrong6(code), "")
			check(id, wrong6(code), "failed")
		},
	} {
		number := mobile(50, i)
		id := create("flashcall", number)["id"].(string)
		m := nextLine(t, lines, regexp.MustCompile(`^phone: cancelled: call from (\+\d+) to `+regexp.QuoteMeta(number)+` after .* \(flash-call code (\d{6})\)$`))
		callerIDs = append(callerIDs, m[1])
		learn(m[2])
		srv.waitFor(id, "rang", status("rang"))
		check1(id, m[2])
	}
	phase("flash calls done")
	// Two texts.
	for i := range 2 {
		number := mobile(51, i)
		id := create("sms", number)["id"].(string)
		m := nextLine(t, lines, regexp.MustCompile(`^phone: text from \+\d+ to `+regexp.QuoteMeta(number)+`: Your verification code is (\d{6})$`))
		learn(m[1])
		srv.waitFor(id, "the text sent", hasEvent("sent"))
		if i == 0 {
			check(id, m[1], "verified")
		} else {
			check(id, wrong6(m[1]), "")
		}
	}
	phase("texts done")
	// A voice call the handset answers and hears to its end.
	id := create("voice", mobile(52, 0))["id"].(string)
	srv.waitFor(id, "hung up", hasEvent("hungup"))
	code := srv.storedCode(id)
	learn(code)
	check(id, code, "verified")
	phase("voice done")
	// A keypad call out, answered by a handset that types nothing, hung up
	// by the application.
	v := create("keypad_out", mobile(53, 0))
	learn(v["code"].(string))
	id = v["id"].(string)
	srv.waitFor(id, "answered", hasEvent("answered"))
	if st, v := srv.call("POST", "/v1/verifications/"+id+"/hangup", ""); st != 200 {
		t.Fatalf("hangup: %d %v", st, v)
	}
	srv.waitFor(id, "call over", callOver)
	phase("keypad out done")
	// Two keypad calls in: one typed (RFC 4733), one never called.
	v = create("keypad_in", mobile(54, 0))
	learn(v["code"].(string))
	typed := v
	learn(create("keypad_in", mobile(54, 1))["code"].(string))
	peer := newRTPPeer(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		callers(t, srv, "uac_call_media.xml", local(t, "127.0.0.1"), []string{fmt.Sprintf("%s;%s;%d", mobile(54, 0), typed["dial_number"], peer.port())})
	}()
	peer.waitFirst()
	peer.typeRFC4733(typed["code"].(string) + "#")
	srv.waitFor(typed["id"].(string), "verified", status("verified"))
	<-done
	phase("keypad in done")
	// An inbound voice call: the caller hears the code.
	v = create("inbound_voice", mobile(55, 0))
	peer = newRTPPeer(t)
	callers(t, srv, "uac_call_media.xml", local(t, "127.0.0.1"), []string{fmt.Sprintf("%s;%s;%d", mobile(55, 0), v["dial_number"], peer.port())})
	code = srv.storedCode(v["id"].(string))
	learn(code)
	check(v["id"].(string), wrong6(code), "")
	check(v["id"].(string), code, "verified")
	phase("inbound voice done")
	// An inbound missed call, which has no code.
	id, dial := srv.createInbound(mobile(56, 0))
	var out bytes.Buffer
	if rc := run(context.Background(), []string{"phone", "call", "--from", mobile(56, 0), "--to", dial, "--server", srv.SIPAddr().String(), "--timeout", "10s"}, &out, io.Discard); rc != 0 {
		t.Fatalf("phone call: exit %d\n%s", rc, out.String())
	}
	srv.waitFor(id, "verified", status("verified"))
	if len(codes) != 10 {
		t.Fatalf("%d codes, want 10", len(codes))
	}
	t.Logf("codes %v; flash caller IDs %v", codes, callerIDs)

	phase("workload done")
	// Every history entry written: history.db holds the workload.
	waitUntil(t, 30*time.Second, "the history outbox is empty", func() bool {
		return historyMetric(t, srv, "ringproof_history_pending") == 0 && historyMetric(t, srv, "ringproof_history_queued") == 0
	})
	if _, err := os.Stat(filepath.Join(c.Store.DataDir, history.EmbeddedFile)); err != nil {
		t.Fatalf("no history database: %v", err)
	}
	forms := atRestForms(codes, callerIDs)
	checkDiskHoldsNoCode(t, c.Store.DataDir, forms)

	phase("disk checked")
	// No way into the store without the server's credentials.
	sock := strings.TrimPrefix(srv.store.ClientURL(), "unix://")
	t.Run("unix socket, another user", func(t *testing.T) { storetest.OtherUserCannotConnect(t, sock) })
	t.Run("TCP ports", func(t *testing.T) {
		ca, err := os.ReadFile(filepath.Join(c.Store.DataDir, "keys", "etcd-ca.crt"))
		if err != nil {
			t.Fatal(err)
		}
		ports := []string{strings.TrimPrefix(c.Store.ClientURL, "https://"), c.HTTP.Listen, c.SIP.Listen, "127.0.0.1:2379", "127.0.0.1:2380"}
		var wg sync.WaitGroup
		for _, addr := range ports {
			wg.Add(1)
			go func() { defer wg.Done(); checkNoAnonymousEtcd(t, addr, ca, c.Store.Prefix) }()
		}
		wg.Wait()
	})

	phase("ports checked")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Stopped: what etcd and SQLite flushed on the way out.
	checkDiskHoldsNoCode(t, c.Store.DataDir, forms)
}

// answeringPhone runs the test handset as the carrier, answering calls
// after a second (a flash call is hung up before) and printing six-digit
// flash-call codes; it returns its output lines, once it listens, and its
// address.
func answeringPhone(t *testing.T) (<-chan string, string) {
	t.Helper()
	addr := local(t, "127.0.0.1")
	lines := runPhone(t, "--listen", addr, "--answer", "--code-length", "6")
	nextLine(t, lines, regexp.MustCompile(`^phone: listening on`))
	return lines, addr
}

// wrong6 is a six-digit code other than code.
func wrong6(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

// atRest is a string that must not be at rest: a code, as a number of its
// own (standalone: not within a longer run of digits, where six given
// digits turn up by chance in times and revisions), or a caller ID,
// anywhere.
type atRest struct {
	s          string
	standalone bool
}

// atRestForms are the codes and the caller IDs (without their '+') that
// must not be at rest.
func atRestForms(codes, callerIDs []string) []atRest {
	var forms []atRest
	for _, c := range codes {
		forms = append(forms, atRest{c, true})
	}
	for _, id := range callerIDs {
		forms = append(forms, atRest{strings.TrimPrefix(id, "+"), false})
	}
	return forms
}

// find returns the offset of f in data, or -1.
func (f atRest) find(data []byte) int {
	isDigit := func(i int) bool { return i >= 0 && i < len(data) && data[i] >= '0' && data[i] <= '9' }
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte(f.s))
		if i < 0 {
			return -1
		}
		i += off
		if !f.standalone || (!isDigit(i-1) && !isDigit(i+len(f.s))) {
			return i
		}
		off = i + 1
	}
}

// checkDiskHoldsNoCode fails t if any file under dir holds any of forms.
func checkDiskHoldsNoCode(t *testing.T, dir string, forms []atRest) {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() { // directories, etcd's socket
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files = append(files, fmt.Sprintf("%s (%d bytes)", rel, len(data)))
		for _, f := range forms {
			if i := f.find(data); i >= 0 {
				t.Errorf("%s holds %q: …%q…", path, f.s, data[max(i-80, 0):min(i+len(f.s)+80, len(data))])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	for _, want := range []string{"member/wal/", "member/snap/db", history.EmbeddedFile} {
		if !strings.Contains(strings.Join(files, " "), want) {
			t.Fatalf("no %s among the files read: %v", want, files)
		}
	}
	t.Logf("read %d files: %v", len(files), files)
}

// checkNoAnonymousEtcd fails t if an etcd client without the server's
// client certificate, over TLS (trusting the server's CA) or in plain
// text, can read or write a key at addr.
func checkNoAnonymousEtcd(t *testing.T, addr string, ca []byte, prefix string) {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	for name, cfg := range map[string]clientv3.Config{
		"TLS without a client certificate": {Endpoints: []string{"https://" + addr}, TLS: &tls.Config{RootCAs: roots}},
		"plain text":                       {Endpoints: []string{"http://" + addr}},
	} {
		cfg.DialTimeout = time.Second
		cli, err := clientv3.New(cfg)
		if err != nil {
			continue // refused before any request
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if res, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly()); err == nil {
			t.Errorf("%s, %s: read the store (%d keys)", addr, name, res.Count)
		}
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
		if _, err := cli.Put(ctx, prefix+"v/intruder", `{"status":"verified"}`); err == nil {
			t.Errorf("%s, %s: wrote a key", addr, name)
		}
		cancel()
		cli.Close()
	}
}

// TestAtRestFind: the search TestNoCodeInClearAtRest relies on finds a code
// written in clear as JSON, text or a protobuf field, and a caller ID
// anywhere, but not six digits inside a longer number.
func TestAtRestFind(t *testing.T) {
	code, callerID := atRest{"123456", true}, atRest{"442079123456", false}
	for _, tt := range []struct {
		f    atRest
		data string
		want bool
	}{
		{code, `{"code":"123456"}`, true},
		{code, "Your verification code is 123456", true},
		{code, "\x12\x06123456\x1a", true},
		{code, "123456", true},
		{code, `"at":"2026-12-02T11:28:02.1234567Z","rev":9123456`, false},
		{code, "+442079123456", false},
		{code, "91234560 123456", true},
		{callerID, "/callerid/k/+442079123456\x10", true},
		{callerID, "+4420791234", false},
	} {
		if got := tt.f.find([]byte(tt.data)) >= 0; got != tt.want {
			t.Errorf("%q in %q: found %v, want %v", tt.f.s, tt.data, got, tt.want)
		}
	}
}
