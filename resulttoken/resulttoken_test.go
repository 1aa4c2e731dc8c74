package resulttoken_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/resulttoken"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func TestVerify(t *testing.T) {
	now := time.Unix(1767225600, 0)
	good := resulttoken.Claims{ID: "v0123", Number: "+447911123456", Status: "verified", Time: now.Unix()}
	tok := resulttoken.Sign(key, good)
	if !strings.HasPrefix(tok, "rp1.") || strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, "+/=") {
		t.Fatalf("token %q is not rp1.<base64url>.<base64url>", tok)
	}
	parts := strings.Split(tok, ".")
	tests := []struct {
		name  string
		token string
		key   []byte
		now   time.Time
		want  error
	}{
		{"good", tok, key, now, nil},
		{"good, nine minutes on", tok, key, now.Add(9 * time.Minute), nil},
		{"too old", tok, key, now.Add(11 * time.Minute), resulttoken.ErrExpired},
		{"from the future", tok, key, now.Add(-2 * time.Minute), resulttoken.ErrExpired},
		{"other key", tok, []byte("another key, 32 bytes long......"), now, resulttoken.ErrSignature},
		{"payload swapped", parts[0] + "." + strings.Split(resulttoken.Sign(key, resulttoken.Claims{ID: "v9", Number: "+447911000000", Status: "verified", Time: now.Unix()}), ".")[1] + "." + parts[2], key, now, resulttoken.ErrSignature},
		{"not verified", resulttoken.Sign(key, resulttoken.Claims{ID: "v1", Number: "+447911123456", Status: "failed", Time: now.Unix()}), key, now, resulttoken.ErrNotVerified},
		{"two parts", parts[0] + "." + parts[1], key, now, resulttoken.ErrMalformed},
		{"other version", "rp2." + parts[1] + "." + parts[2], key, now, resulttoken.ErrMalformed},
		{"signature not base64", parts[0] + "." + parts[1] + ".!!", key, now, resulttoken.ErrMalformed},
		{"empty", "", key, now, resulttoken.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := resulttoken.Verify(tt.key, tt.token, 10*time.Minute, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil && c != good) {
				t.Fatalf("Verify = %+v, %v; want %v", c, err, tt.want)
			}
		})
	}
}

// snippetCase is a token and whether the documented checks must accept it.
type snippetCase struct {
	name   string
	token  string
	accept bool
}

// snippetCases are tokens made now, an hour ago, with another key and
// altered.
func snippetCases() []snippetCase {
	now := time.Now().Unix()
	good := resulttoken.Sign(key, resulttoken.Claims{ID: "v0123", Number: "+447911123456", Status: "verified", Time: now})
	p := strings.Split(good, ".")
	return []snippetCase{
		{"good", good, true},
		{"an hour old", resulttoken.Sign(key, resulttoken.Claims{ID: "v1", Number: "+447911123456", Status: "verified", Time: now - 3600}), false},
		{"failed", resulttoken.Sign(key, resulttoken.Claims{ID: "v2", Number: "+447911123456", Status: "failed", Time: now}), false},
		{"other key", resulttoken.Sign([]byte("another key, 32 bytes long......"), resulttoken.Claims{ID: "v3", Number: "+447911123456", Status: "verified", Time: now}), false},
		{"altered", p[0] + "." + p[1] + "A." + p[2], false},
		{"junk", "rp1.x.y", false},
	}
}

// docSnippet returns the fenced block of lang in docs/widget.md that
// contains marker.
func docSnippet(t *testing.T, lang, marker string) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/widget.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if strings.Contains(m[1], marker) {
			return m[1]
		}
	}
	t.Fatalf("docs/widget.md has no %s block with %q", lang, marker)
	return ""
}

// TestDocumentedGoCheck runs the Go snippet of docs/widget.md, as an app
// would copy it, on tokens this package made.
func TestDocumentedGoCheck(t *testing.T) {
	snippet := docSnippet(t, "go", "func checkResultToken(")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to run the snippet with")
	}
	dir := t.TempDir()
	main := `package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	for _, tok := range os.Args[1:] {
		id, number, err := checkResultToken([]byte(` + fmt.Sprintf("%q", key) + `), tok, 10*time.Minute)
		fmt.Println(id, number, err)
	}
}
`
	files := map[string]string{
		"go.mod":   "module snippet\n\ngo 1.22\n",
		"check.go": "package main\n\n" + snippet,
		"main.go":  main,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := snippetCases()
	args := []string{"run", "."}
	for _, c := range cases {
		args = append(args, c.token)
	}
	cmd := exec.Command(gobin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	checkSnippetOutput(t, cases, strings.Split(strings.TrimSpace(string(out)), "\n"), "v0123 +447911123456 <nil>")
}

// TestDocumentedPythonCheck runs the Python snippet of docs/widget.md on
// tokens this package made, when python3 is installed.
func TestDocumentedPythonCheck(t *testing.T) {
	snippet := docSnippet(t, "python", "def check_result_token(")
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	cases := snippetCases()
	script := snippet + `
import sys
for tok in sys.argv[1:]:
    try:
        c = check_result_token(` + fmt.Sprintf("%q", key) + `.encode(), tok)
        print(c["id"], c["number"], "<nil>")
    except ValueError as e:
        print("refused:", e)
`
	args := []string{"-c", script}
	for _, c := range cases {
		args = append(args, c.token)
	}
	out, err := exec.Command(py, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	checkSnippetOutput(t, cases, strings.Split(strings.TrimSpace(string(out)), "\n"), "v0123 +447911123456 <nil>")
}

func checkSnippetOutput(t *testing.T, cases []snippetCase, lines []string, accepted string) {
	t.Helper()
	if len(lines) != len(cases) {
		t.Fatalf("%d lines for %d tokens:\n%s", len(lines), len(cases), strings.Join(lines, "\n"))
	}
	for i, c := range cases {
		if got := lines[i] == accepted; got != c.accept {
			t.Errorf("%s: the snippet said %q", c.name, lines[i])
		}
	}
}
