package widget

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/ringproof/ringproof/resulttoken"
)

// DemoPath is where the demonstration page is served.
const DemoPath = "/demo"

// demoStyle is the demo page's own style sheet, inline and allowed by its
// hash in the page's Content-Security-Policy.
const demoStyle = `
body { margin: 0; font-family: system-ui, sans-serif; color: #1b1b1f; background: #f3f3f6; }
main { max-width: 34rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0; }
.intro { color: #4a4a52; }
code { font-size: 0.9em; background: #e4e4ea; padding: 0.1em 0.3em; border-radius: 4px; overflow-wrap: anywhere; }
form { display: flex; flex-direction: column; gap: 1rem; }
.ringproof { box-shadow: 0 1px 3px rgba(0,0,0,0.15); }
.submit { align-self: flex-start; min-height: 2.75rem; padding: 0.5rem 1.25rem; font: inherit; font-weight: 600; border-radius: 6px; border: 1px solid #1b1b1f; background: #fff; cursor: pointer; }
.submit:focus-visible, a:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
.result { padding: 0.75rem 1rem; border-radius: 8px; margin: 1rem 0; overflow-wrap: anywhere; }
.result.ok { background: #e3f3e6; border: 1px solid #146c2e; }
.result.refused { background: #fbe9e7; border: 1px solid #b3261e; }
.result h2 { font-size: 1.1rem; margin: 0 0 0.25rem; }
.lang a { color: #0b57d0; }
`

var demoTemplate = template.Must(template.New("demo").Parse(demoPage))

// demoCSP is the demo page's Content-Security-Policy: its own script and
// API only, nothing inline but its style sheet.
var demoCSP = func() string {
	sum := sha256.Sum256([]byte(demoStyle))
	return "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; " +
		"style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}()

// demoResult is what the demo's server made of a submitted form.
type demoResult struct {
	OK   bool
	Text string
}

// Demo serves the demonstration page: a sign-up form with the widget
// using the publishable key key. Submitted (POST), it checks the form's
// result token as an application's server would, with tokenKey, and says
// what it found. log may be nil.
func Demo(key string, tokenKey []byte, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var result *demoResult
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			result = checkDemoForm(tokenKey, r.PostFormValue("ringproof_result_token"), r.PostFormValue("ringproof_number"))
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		lang := "en"
		if r.URL.Query().Get("lang") == "es" {
			lang = "es"
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", demoCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		err := demoTemplate.Execute(w, map[string]any{
			"Lang": lang, "Style": template.CSS(demoStyle), "Script": ScriptPath, "Integrity": Integrity(),
			"Key": key, "Result": result, "Action": DemoPath + "?lang=" + lang,
		})
		if err != nil {
			log.Warn("demo page", "err", err)
		}
	})
}

// checkDemoForm checks a submitted result token as docs/widget.md tells
// applications to: signed, verified, recent, for the number submitted.
func checkDemoForm(key []byte, token, number string) *demoResult {
	if token == "" {
		return &demoResult{Text: "The form holds no result token: verify the number first."}
	}
	c, err := resulttoken.Verify(key, token, 10*time.Minute, time.Now())
	switch {
	case err != nil:
		return &demoResult{Text: "The result token does not hold: " + err.Error() + "."}
	case c.Number != number:
		return &demoResult{Text: "The result token is for another number than the form's."}
	}
	return &demoResult{OK: true, Text: fmt.Sprintf("%s is verified (verification %s, token made %s).",
		c.Number, c.ID, time.Unix(c.Time, 0).UTC().Format(time.RFC3339))}
}
