// Package widget serves the verification widget that web pages embed
// (/widget/v1/ringproof.js) and a demonstration page that uses it
// (/demo). The script is built from js/ by esbuild (js/build.sh) and the
// build is committed in static/, so that neither CI nor `go run` needs
// npm; a test keeps the integrity hash in docs/widget.md true.
package widget

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// ScriptPath is where the widget's script is served: versioned, so that a
// change that breaks pages gets a new path.
const ScriptPath = "/widget/v1/ringproof.js"

//go:embed static/v1/ringproof.js
var script []byte

//go:embed static/demo.html
var demoPage string

// Script returns the widget's script.
func Script() []byte { return bytes.Clone(script) }

// Integrity returns the script's Subresource Integrity value, for
// <script integrity="…">: "sha384-" and the base64 of its SHA-384.
func Integrity() string {
	sum := sha512.Sum384(script)
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

// scriptETag names this build of the script for caches.
var scriptETag = func() string {
	sum := sha256.Sum256(script)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// gzipped is the script compressed once, for clients that accept gzip.
var gzipped = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(script)
	zw.Close()
	return b.Bytes()
})

// ScriptHandler serves the widget's script at ScriptPath, to any page:
// it is public, and pages that pin it with integrity load it in CORS mode
// (crossorigin="anonymous"), which needs Access-Control-Allow-Origin.
func ScriptHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("ETag", scriptETag)
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Vary", "Accept-Encoding")
		if etagMatches(r.Header.Get("If-None-Match"), scriptETag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := script
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body = gzipped()
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(body)
	})
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip: it
// names gzip with a q-value above 0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}
