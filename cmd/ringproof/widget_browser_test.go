package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/resulttoken"
	"github.com/ringproof/ringproof/widget"
)

// The widget in a real browser: headless Chromium, driven over the
// DevTools protocol, against a running node with the test handset as the
// carrier (SIPp as the caller for the inbound missed call). One browser
// serves every case of this file; each case has a tab of its own.
//
// The demo page (/demo) is served by the node itself; the host page is
// another origin's page that embeds the script with its integrity hash,
// as a customer's sign-up page would. Screenshots of each final state go
// to $RINGPROOF_TEST_ARTIFACTS when set (else a temporary directory); the
// test logs where.

const widgetKey = "pk_test_browser"

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// startBrowser starts headless Chromium for the test and returns its
// context. Without Chromium the test is skipped, or fails under CI=true.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is not installed (apt-get install chromium); CI=true needs it")
		} else {
			t.Skip("chromium is not installed (apt-get install chromium)")
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first action starts the browser; the Go context ends nothing
	// of it but the wait.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browser) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("chromium did not start within 60 s")
	}
	return browser
}

// tab is one browser tab of a test case, with what its pages wrote to the
// console.
type tab struct {
	ctx context.Context
	t   *testing.T

	mu      sync.Mutex
	console []string
}

// newTab opens a tab in browser for the test case t, closed when it ends.
func newTab(t *testing.T, browser context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	tb := &tab{ctx: ctx, t: t}
	messages := chromedp.Console(ctx)
	// A phone's screen: Chromium's windows are at least 500 px wide.
	tb.do("emulate a 360 px screen", chromedp.EmulateViewport(360, 780))
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				tb.mu.Lock()
				tb.console = append(tb.console, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1))
				tb.mu.Unlock()
			}
		}
	}()
	return tb
}

// do runs actions, failing the test on error.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.fail("%s: %v", what, err)
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](tb *tab, expr string, opts ...chromedp.EvaluateOption) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		tb.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression cond holds in the page,
// checking at every change of the DOM.
func (tb *tab) waitFor(what, cond string) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(40*time.Second))); err != nil {
		tb.fail("waiting for %s (%s): %v\nthe widget shows: %q", what, cond, err, tb.text(".ringproof"))
	}
}

// text returns the visible text of the first element sel matches, or "".
func (tb *tab) text(sel string) string {
	v, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel)))
	return v
}

// focused returns the id (or class) of the element with the keyboard focus.
func (tb *tab) focused() string {
	return eval[string](tb, `(e => e.id || e.className || e.tagName)(document.activeElement)`)
}

// press sends keys to whatever has the focus, as a keyboard would.
func (tb *tab) press(keys string) {
	tb.t.Helper()
	tb.do("press "+strings.ReplaceAll(keys, "\t", "<tab>"), chromedp.KeyEvent(keys))
}

// fail saves a screenshot of the page and fails the test.
func (tb *tab) fail(format string, args ...any) {
	tb.t.Helper()
	tb.screenshot(strings.ReplaceAll(tb.t.Name(), "/", "-") + "-failed")
	tb.t.Fatalf(format, args...)
}

// screenshot saves the whole page as name.png among the test's artifacts.
func (tb *tab) screenshot(name string) string {
	tb.t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(artifactDir(tb.t), name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		tb.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	tb.t.Logf("screenshot: %s", path)
	return path
}

// checkConsole fails the test if the pages wrote an error to the console.
func (tb *tab) checkConsole() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.console) > 0 {
		tb.t.Errorf("console errors:\n%s", strings.Join(tb.console, "\n"))
	}
}

var (
	artifactsOnce sync.Once
	artifacts     string
)

// artifactDir is where screenshots go: $RINGPROOF_TEST_ARTIFACTS, or a
// temporary directory kept for the run.
func artifactDir(t *testing.T) string {
	artifactsOnce.Do(func() {
		artifacts = os.Getenv("RINGPROOF_TEST_ARTIFACTS")
		if artifacts == "" {
			artifacts, _ = os.MkdirTemp("", "ringproof-browser-")
		}
		os.MkdirAll(artifacts, 0o755)
	})
	return artifacts
}

// hostPage serves, on an origin of its own, a sign-up page that embeds the
// widget from ringproof at *server with its integrity hash.
func hostPage(t *testing.T, server *string) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Shop sign-up</title>
<script src="%s%s" integrity="%s" crossorigin="anonymous" defer></script></head>
<body><main><h1>Create an account</h1>
<form method="post" action="/signup"><div id="phone" data-ringproof-key="%s" data-country="GB"></div>
<button type="submit">Sign up</button></form></main></body></html>`, *server, widget.ScriptPath, widget.Integrity(), widgetKey)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// verifiedToken waits for the widget to say verified, and returns the
// result token it put in the form, checked as an application would.
func (tb *tab) verifiedToken(srv *testServer, number string) {
	tb.t.Helper()
	tb.waitFor("verified", `!!document.querySelector(".rp-done")`)
	if s := tb.text(".rp-status"); !strings.Contains(s, "Verified") {
		tb.fail("the status says %q", s)
	}
	token := eval[string](tb, `document.querySelector("input[name=ringproof_result_token]").value`)
	c, err := resulttoken.Verify(srv.tokenKey, token, time.Minute, time.Now())
	if err != nil || c.Number != number || c.Status != "verified" {
		tb.fail("the form's result token %q: %+v, %v", token, c, err)
	}
	if n := eval[string](tb, `document.querySelector("input[name=ringproof_number]").value`); n != number {
		tb.fail("the form's number is %q", n)
	}
}

func TestWidgetInBrowser(t *testing.T) {
	t.Parallel()
	browser := startBrowser(t)
	var base string
	host := hostPage(t, &base)
	_, hostPort, _ := net.SplitHostPort(strings.TrimPrefix(host.URL, "http://"))
	lines, carrier := phoneCarrier(t, 20)
	c := testConfig(t, carrier)
	c.HTTP.Demo = true
	c.HTTP.PublishableKeys = []conf.PublishableKey{{
		Key: widgetKey, Origins: []string{"http://" + c.HTTP.Listen, host.URL},
		Methods: []string{"flashcall", "sms", "inbound_missed"}, PerIPPerMinute: 1000,
	}}
	srv := startServer(t, c)
	base = srv.base
	t.Logf("screenshots go to %s", artifactDir(t))
	flashCode := regexp.MustCompile(`^phone: cancelled: call from \+\d+ to \+\d+ after .* \(flash-call code (\d{4})\)`)

	t.Run("flash call by keyboard on the demo page", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.do("open the demo", chromedp.Navigate(srv.base+"/demo"), chromedp.WaitVisible(`.ringproof input[type=tel]`))
		tb.press(kb.Tab)
		if f := tb.focused(); !strings.HasSuffix(f, "-country") {
			tb.fail("the first Tab reached %q, want the country list", f)
		}
		tb.press(kb.Tab)
		if f := tb.focused(); !strings.HasSuffix(f, "-phone") {
			tb.fail("the second Tab reached %q, want the phone number", f)
		}
		tb.press("07911123456")
		if v := eval[string](tb, `document.activeElement.value`); v != "07911 123456" {
			tb.fail("the number typed shows as %q, want it formatted as 07911 123456", v)
		}
		tb.press(kb.Tab) // the method chosen: flash call, the first
		if f := tb.focused(); !strings.HasSuffix(f, "-method-flashcall") {
			tb.fail("Tab reached %q, want the flash call choice", f)
		}
		tb.press(kb.Tab)
		if f := tb.focused(); f != "rp-primary" {
			tb.fail("Tab reached %q, want the Verify button", f)
		}
		tb.press(kb.Enter)
		tb.waitFor("the code field focused", `document.activeElement.classList.contains("rp-code")`)
		code := nextLine(t, lines, flashCode)[1]
		srv.noteCode(code)
		if p := tb.text(".rp-prefix"); p != "+44207946" {
			tb.fail("the page shows the caller-ID prefix %q, want +44207946", p)
		}
		tb.waitFor("the call's status", `/ringing|call has ended/.test(document.querySelector(".rp-status").textContent)`)
		tb.screenshot("flashcall-code")
		tb.press(code)
		tb.press(kb.Enter)
		tb.verifiedToken(srv, testNumber)
		// The form goes to the demo's server, which checks the token.
		tb.press(kb.Tab)
		if f := tb.focused(); f != "submit" {
			tb.fail("Tab from the outcome reached %q, want the form's button", f)
		}
		loaded := chromedp.Events(tb.ctx, page.LoadEventFired)
		tb.press(kb.Enter)
		for _, err := range loaded {
			if err != nil {
				tb.fail("the form's page did not load: %v", err)
			}
			break
		}
		if r := tb.text("#result"); !strings.Contains(r, "The server accepted the result token") || !strings.Contains(r, testNumber) {
			tb.fail("the demo's server says %q", r)
		}
		tb.screenshot("flashcall-verified")
		tb.checkConsole()
	})

	t.Run("wrong code, then no call came and the text verifies", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.do("open the host page", chromedp.Navigate(host.URL+"/signup"), chromedp.WaitVisible(`.ringproof input[type=tel]`),
			chromedp.SendKeys(`.ringproof input[type=tel]`, "07911 123456"), chromedp.Click(`.ringproof .rp-primary`))
		tb.waitFor("the code field", `!!document.querySelector(".rp-code")`)
		code := nextLine(t, lines, flashCode)[1]
		srv.noteCode(code)
		tb.do("type a wrong code", chromedp.SendKeys(`.rp-code`, wrongCode(code)), chromedp.Click(`.rp-code-stage .rp-primary`))
		tb.waitFor("attempts left", `/2 attempts left/.test(document.querySelector(".rp-code-stage .rp-error").textContent)`)
		if inv := eval[string](tb, `document.querySelector(".rp-code").getAttribute("aria-invalid")`); inv != "true" {
			tb.fail("the wrong code's field has aria-invalid %q", inv)
		}
		if b := tb.text(".rp-code-stage .rp-link"); b != "Text me a code instead" {
			tb.fail("the fallback button says %q", b)
		}
		tb.do("no call came", chromedp.Click(`.rp-code-stage .rp-link`))
		tb.waitFor("the text's code field", `!!document.querySelector('.rp-code-stage[data-method="sms"] .rp-code')`)
		sms := nextLine(t, lines, regexp.MustCompile(`^phone: text from .*: Your verification code is (\d{4})`))[1]
		srv.noteCode(sms)
		tb.waitFor("the text sent", `/sent a text/.test(document.querySelector(".rp-status").textContent)`)
		tb.do("type the text's code", chromedp.SendKeys(`.rp-code`, sms), chromedp.Click(`.rp-code-stage .rp-primary`))
		tb.verifiedToken(srv, testNumber)
		tb.screenshot("sms-fallback-verified")
		tb.checkConsole()
	})

	t.Run("inbound missed call turns verified without a reload", func(t *testing.T) {
		const number = "+447911123458"
		tb := newTab(t, browser)
		tb.do("open the host page", chromedp.Navigate(host.URL+"/signup"), chromedp.WaitVisible(`.ringproof input[type=tel]`),
			chromedp.SendKeys(`.ringproof input[type=tel]`, "07911 123458"),
			chromedp.Click(`.ringproof input[value=inbound_missed]`), chromedp.Click(`.ringproof .rp-primary`))
		tb.waitFor("the number to call", `!!document.querySelector("a.rp-dial")`)
		href := eval[string](tb, `document.querySelector("a.rp-dial").getAttribute("href")`)
		dial, ok := strings.CutPrefix(href, "tel:+44163296000")
		if !ok || len(dial) != 1 || !strings.Contains(tb.text("a.rp-dial"), "1632 96000") {
			tb.fail("the page shows %q linking to %q, want a system number", tb.text("a.rp-dial"), href)
		}
		tb.waitFor("waiting for the call", `/Waiting for your call/.test(document.querySelector(".rp-status").textContent)`)
		tb.screenshot("inbound-dial")
		callers(t, srv, "uac_missed_call.xml", local(t, "127.0.0.1"), []string{number + ";" + strings.TrimPrefix(href, "tel:")})
		tb.verifiedToken(srv, number)
		tb.screenshot("inbound-verified")
		tb.checkConsole()
	})

	t.Run("foreign origin refused and others' verifications unreadable", func(t *testing.T) {
		tb := newTab(t, browser)
		// The same page on another origin: localhost is not 127.0.0.1.
		tb.do("open the page on a foreign origin", chromedp.Navigate("http://localhost:"+hostPort+"/signup"))
		tb.waitFor("the refusal", `!!document.querySelector(".ringproof .rp-error") && document.querySelector(".ringproof .rp-error").textContent.length > 0`)
		if e := tb.text(".ringproof .rp-error"); !strings.Contains(e, "can't reach the verification service") {
			tb.fail("on a foreign origin the widget says %q", e)
		}
		tb.screenshot("foreign-origin-refused")
		// A page on the key's origin cannot read a verification the key
		// did not create, nor list them.
		theirs := srv.create("+447911123459")
		tb.do("open the host page", chromedp.Navigate(host.URL+"/signup"), chromedp.WaitVisible(`.ringproof input[type=tel]`))
		for path, want := range map[string]int{"/v1/verifications/" + theirs: 404, "/v1/verifications": 403} {
			status := eval[int](tb, fmt.Sprintf(`fetch(%q, {headers: {Authorization: "Bearer %s"}}).then(r => r.status)`, srv.base+path, widgetKey), chromedp.EvalAwaitPromise)
			if status != want {
				tb.fail("GET %s from the page: %d, want %d", path, status, want)
			}
		}
	})

	t.Run("360 px, labels, Spanish", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.do("open the demo in Spanish", chromedp.Navigate(srv.base+"/demo?lang=es"), chromedp.WaitVisible(`.ringproof input[type=tel]`))
		if w := eval[int](tb, `document.documentElement.scrollWidth`); w > 360 {
			tb.fail("the page is %d px wide in a 360 px window", w)
		}
		unlabelled := eval[[]string](tb, `[...document.querySelectorAll(".ringproof input:not([type=hidden]), .ringproof select")].filter(e => !e.labels || e.labels.length === 0 || !e.labels[0].textContent.trim()).map(e => e.id || e.name)`)
		if len(unlabelled) > 0 {
			tb.fail("controls without a label: %v", unlabelled)
		}
		if l := tb.text(`.ringproof label[for$="-phone"]`); l != "Número de teléfono" {
			tb.fail("the phone label in Spanish is %q", l)
		}
		if r := eval[string](tb, `document.querySelector(".ringproof .rp-status").getAttribute("aria-live")`); r != "polite" {
			tb.fail("the status has aria-live %q", r)
		}
		tb.screenshot("demo-es-360px")
		tb.checkConsole()
	})
}
