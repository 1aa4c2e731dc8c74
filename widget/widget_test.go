package widget

import (
	"bytes"
	"compress/gzip"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/resulttoken"
)

// TestDocumentedIntegrity keeps the integrity hash that docs/widget.md
// gives for <script integrity=…> true of the script served.
func TestDocumentedIntegrity(t *testing.T) {
	doc, err := os.ReadFile("../docs/widget.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte(`integrity="`+Integrity()+`"`)) {
		t.Fatalf("docs/widget.md does not give the script's integrity: want integrity=%q", Integrity())
	}
}

// TestBundleMatchesSources rebuilds the script from js/src with the locked
// esbuild, when npm has installed it (bash widget/js/build.sh does), and
// compares it with the committed one.
func TestBundleMatchesSources(t *testing.T) {
	if _, err := os.Stat("js/node_modules/esbuild"); err != nil {
		t.Skip("widget/js/node_modules is not installed: bash widget/js/build.sh --check does this check")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node")
	}
	out := filepath.Join(t.TempDir(), "ringproof.js")
	cmd := exec.Command(node, "build.mjs", out)
	cmd.Dir = "js"
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, msg)
	}
	built, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, script) {
		t.Fatal("widget/static/v1/ringproof.js is not what widget/js/src builds to: run bash widget/js/build.sh and commit it")
	}
}

func TestScriptHandler(t *testing.T) {
	srv := httptest.NewServer(ScriptHandler())
	defer srv.Close()
	get := func(headers ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+ScriptPath, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, body
	}
	res, body := get()
	if res.StatusCode != 200 || !bytes.Equal(body, script) || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		res.Header.Get("Access-Control-Allow-Origin") != "*" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("plain GET: %d %v (%d bytes)", res.StatusCode, res.Header, len(body))
	}
	etag := res.Header.Get("ETag")
	res, body = get("Accept-Encoding", "br, gzip;q=0.8")
	if res.Header.Get("Content-Encoding") != "gzip" || len(body) >= len(script)/2 {
		t.Fatalf("gzip: %v, %d bytes", res.Header, len(body))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, script) {
		t.Fatal("the gzipped script is not the script")
	}
	if res, _ = get("Accept-Encoding", "gzip;q=0"); res.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip;q=0 got gzip")
	}
	if res, body = get("If-None-Match", etag); res.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("If-None-Match: %d", res.StatusCode)
	}
}

func TestDemoChecksTheToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	srv := httptest.NewServer(Demo("pk_demo", key, nil))
	defer srv.Close()
	res, err := http.Get(srv.URL + DemoPath)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`data-ringproof-key="pk_demo"`, `integrity="` + Integrity() + `"`, `src="/widget/v1/ringproof.js"`} {
		if !strings.Contains(html.UnescapeString(string(page)), want) {
			t.Fatalf("the demo page lacks %s:\n%s", want, page)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Fatalf("Content-Security-Policy %q", csp)
	}
	good := resulttoken.Sign(key, resulttoken.Claims{ID: "v1", Number: "+447911123456", Status: "verified", Time: time.Now().Unix()})
	for _, tt := range []struct{ token, number, want string }{
		{good, "+447911123456", "The server accepted the result token"},
		{good, "+447911000000", "for another number"},
		{"", "+447911123456", "holds no result token"},
		{good + "x", "+447911123456", "bad signature"},
	} {
		res, err := http.PostForm(srv.URL+DemoPath, url.Values{"ringproof_result_token": {tt.token}, "ringproof_number": {tt.number}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(body), tt.want) {
			t.Fatalf("token %q for %s: the page does not say %q", tt.token, tt.number, tt.want)
		}
	}
}
