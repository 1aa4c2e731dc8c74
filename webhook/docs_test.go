package webhook_test

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/webhook"
)

func docSnippet(t *testing.T, lang, marker string) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if strings.Contains(m[1], marker) {
			return m[1]
		}
	}
	t.Fatalf("docs/webhooks.md has no %s block with %q", lang, marker)
	return ""
}

// TestDocumentedGoSnippet holds docs/webhooks.md's Go snippet equal to
// verifyRingproofSignature, which Example_verifyRingproofSignature runs.
func TestDocumentedGoSnippet(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	from := strings.Index(s, "// verifyRingproofSignature checks")
	to := from + strings.Index(s[from:], "\n}\n") + 3
	if from < 0 || to < from {
		t.Fatal("example_test.go has no verifyRingproofSignature")
	}
	if doc := docSnippet(t, "go", "func verifyRingproofSignature("); !strings.Contains(doc, s[from:to]) {
		t.Fatalf("docs/webhooks.md's Go snippet differs from example_test.go's verifyRingproofSignature:\n%s", doc)
	}
}

// TestDocumentedPythonSnippet runs docs/webhooks.md's Python snippet on
// deliveries signed as ringproof signs them, when python3 is installed.
func TestDocumentedPythonSnippet(t *testing.T) {
	snippet := docSnippet(t, "python", "def verify_ringproof_signature(")
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is not installed (.ci/run installs it)")
		}
		t.Skip("python3 is not installed")
	}
	secret := []byte("whsec_0123456789abcdef")
	body := `{"id":"evt_1","type":"verification.updated","data":{"id":"v1","status":"verified"}}`
	now := time.Now()
	cases := []struct {
		name, secret, header, body string
		ok                         bool
	}{
		{"signed", string(secret), webhook.Sign(secret, now, []byte(body)), body, true},
		{"body changed", string(secret), webhook.Sign(secret, now, []byte(body)), strings.Replace(body, "verified", "forged", 1), false},
		{"another secret", "whsec_another_secret", webhook.Sign(secret, now, []byte(body)), body, false},
		{"ten minutes old", string(secret), webhook.Sign(secret, now.Add(-10*time.Minute), []byte(body)), body, false},
		{"no t", string(secret), "v1=00", body, false},
		{"empty", string(secret), "", body, false},
	}
	script := snippet + `
import sys
args = sys.argv[1:]
for i in range(0, len(args), 3):
    try:
        verify_ringproof_signature(args[i].encode(), args[i + 1], args[i + 2].encode())
        print("ok")
    except ValueError as e:
        print("refused:", e)
`
	args := []string{"-c", script}
	for _, c := range cases {
		args = append(args, c.secret, c.header, c.body)
	}
	out, err := exec.Command(py, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("%d lines for %d cases:\n%s", len(lines), len(cases), out)
	}
	for i, c := range cases {
		if got := lines[i] == "ok"; got != c.ok {
			t.Errorf("%s: the snippet said %q, want ok %s", c.name, lines[i], strconv.FormatBool(c.ok))
		}
	}
}
