package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/checkmobi"
	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/masking"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/sip/sipptest"
	"github.com/ringproof/ringproof/verify"
	"github.com/ringproof/ringproof/webhook"
)

// The OpenAPI document (api/openapi.json) against the real server: every
// route it documents answers, every route the sources register is in it,
// every answer of the walk has a documented status and matches its
// schema, every example matches its schema, and README's API table names
// only documented routes while README names every documented one.

// openAPIURL is the document's address for the schema compiler.
const openAPIURL = "https://ringproof.invalid/openapi.json"

// contract is the OpenAPI document, read, with its schemas compiled on
// demand.
type contract struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

func loadContract(t *testing.T) *contract {
	t.Helper()
	raw := api.OpenAPI()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("api/openapi.json: %v", err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("api/openapi.json is OpenAPI %v, want 3.1.0", doc["openapi"])
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(openAPIURL, v); err != nil {
		t.Fatal(err)
	}
	return &contract{doc: doc, compiler: c, compiled: map[string]*jsonschema.Schema{}}
}

// pointer is the JSON pointer of the document's value at keys.
func pointer(keys ...string) string {
	var b strings.Builder
	for _, k := range keys {
		k = strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
		b.WriteString("/" + url.PathEscape(k))
	}
	return b.String()
}

// validate checks the JSON value data against the schema at keys.
func (c *contract) validate(data []byte, keys ...string) error {
	loc := openAPIURL + "#" + pointer(keys...)
	s, ok := c.compiled[loc]
	if !ok {
		var err error
		if s, err = c.compiler.Compile(loc); err != nil {
			return fmt.Errorf("schema %s: %w", loc, err)
		}
		c.compiled[loc] = s
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.Validate(v)
}

// at returns the document's object at keys.
func (c *contract) at(keys ...string) map[string]any {
	v := any(c.doc)
	for _, k := range keys {
		v = asMap(v)[k]
	}
	return asMap(v)
}

// operation is one documented route.
type operation struct {
	method, path string
	op           map[string]any
}

func (o operation) String() string { return strings.ToUpper(o.method) + " " + o.path }

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func (c *contract) operations() []operation {
	var out []operation
	for path, item := range c.doc["paths"].(map[string]any) {
		for _, m := range httpMethods {
			if op, ok := item.(map[string]any)[m].(map[string]any); ok {
				out = append(out, operation{m, path, op})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].path != out[j].path {
			return out[i].path < out[j].path
		}
		return out[i].method < out[j].method
	})
	return out
}

func TestOpenAPIExamplesMatchTheirSchemas(t *testing.T) {
	c := loadContract(t)
	n := 0
	for _, o := range c.operations() {
		base := []string{"paths", o.path, o.method}
		for i, p := range asList(o.op["parameters"]) {
			if ex, ok := p.(map[string]any)["example"]; ok {
				n++
				if err := c.validate(exampleJSON(t, ex), append(base, "parameters", strconv.Itoa(i), "schema")...); err != nil {
					t.Errorf("%s parameter %v: example: %v", o, p.(map[string]any)["name"], err)
				}
			}
		}
		if rb, ok := o.op["requestBody"].(map[string]any); ok {
			n += c.checkExamples(t, o, rb, append(base, "requestBody"))
		}
		for status, r := range o.op["responses"].(map[string]any) {
			if _, ok := r.(map[string]any)["$ref"]; ok {
				continue // components/responses: no examples
			}
			n += c.checkExamples(t, o, r.(map[string]any), append(base, "responses", status))
		}
	}
	if n < 10 {
		t.Fatalf("only %d examples: the document should show its main bodies", n)
	}
}

// checkExamples validates the JSON examples of a request body or response.
func (c *contract) checkExamples(t *testing.T, o operation, body map[string]any, at []string) int {
	t.Helper()
	n := 0
	for ct, media := range asMap(body["content"]) {
		ex, ok := media.(map[string]any)["example"]
		if !ok || ct != "application/json" {
			continue
		}
		n++
		if err := c.validate(exampleJSON(t, ex), append(slices.Clone(at), "content", ct, "schema")...); err != nil {
			t.Errorf("%s %s: example: %v", o, strings.Join(at[3:], " "), err)
		}
	}
	return n
}

// servedPattern is a route pattern the sources register.
type servedPattern struct {
	method, path string // method "" for every method
	at           string // file:line
}

// servedPatterns reads every non-test Go file of the module and returns
// the patterns given to Handle and HandleFunc: string literals, constants
// (of the package or another), their sums, and a range variable over a
// list of literals. A call whose first argument is none of those (a
// context: slog's Handle) is not a route.
func servedPatterns(t *testing.T, root string) []servedPattern {
	t.Helper()
	fset := token.NewFileSet()
	type file struct {
		pkg string
		f   *ast.File
	}
	var files []file
	consts := map[string]string{} // "pkg.Name" → value
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files = append(files, file{f.Name.Name, f})
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							v, _ := strconv.Unquote(lit.Value)
							consts[f.Name.Name+"."+name.Name] = v
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []servedPattern
	for _, fl := range files {
		ranges := map[string][]string{} // range variable → the literals it takes
		ast.Inspect(fl.f, func(n ast.Node) bool {
			if rs, ok := n.(*ast.RangeStmt); ok {
				if v, ok := rs.Value.(*ast.Ident); ok {
					if cl, ok := rs.X.(*ast.CompositeLit); ok {
						for _, e := range cl.Elts {
							if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
								s, _ := strconv.Unquote(lit.Value)
								ranges[v.Name] = append(ranges[v.Name], s)
							}
						}
					}
				}
			}
			return true
		})
		var eval func(e ast.Expr) ([]string, bool)
		eval = func(e ast.Expr) ([]string, bool) {
			switch e := e.(type) {
			case *ast.BasicLit:
				if e.Kind == token.STRING {
					s, _ := strconv.Unquote(e.Value)
					return []string{s}, true
				}
			case *ast.Ident:
				if v, ok := consts[fl.pkg+"."+e.Name]; ok {
					return []string{v}, true
				}
				if vs, ok := ranges[e.Name]; ok {
					return vs, true
				}
			case *ast.SelectorExpr:
				if x, ok := e.X.(*ast.Ident); ok {
					if v, ok := consts[x.Name+"."+e.Sel.Name]; ok {
						return []string{v}, true
					}
				}
			case *ast.BinaryExpr:
				l, ok1 := eval(e.X)
				r, ok2 := eval(e.Y)
				if e.Op == token.ADD && ok1 && ok2 && len(l) == 1 && len(r) == 1 {
					return []string{l[0] + r[0]}, true
				}
			}
			return nil, false
		}
		ast.Inspect(fl.f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			patterns, ok := eval(call.Args[0])
			if !ok {
				return true
			}
			pos := fset.Position(call.Pos())
			at := fmt.Sprintf("%s:%d", strings.TrimPrefix(pos.Filename, root+string(filepath.Separator)), pos.Line)
			for _, p := range patterns {
				sp := servedPattern{path: p, at: at}
				if m, path, ok := strings.Cut(p, " "); ok {
					sp.method, sp.path = strings.ToLower(m), strings.TrimSpace(path)
				}
				out = append(out, sp)
			}
			return true
		})
	}
	return out
}

// segmentsMatch reports whether the documented path template doc covers
// the served pattern path: segment by segment equal, or a wildcard in
// both, or a wildcard in doc (a path parameter naming what a served list
// of literals holds, as pprof's profiles).
func segmentsMatch(doc, served string) bool {
	d, s := strings.Split(doc, "/"), strings.Split(served, "/")
	if len(d) != len(s) {
		return false
	}
	wild := func(x string) bool { return strings.HasPrefix(x, "{") && strings.HasSuffix(x, "}") }
	for i := range d {
		if d[i] != s[i] && !wild(d[i]) {
			return false
		}
	}
	return true
}

func TestOpenAPIDocumentsEveryServedRoute(t *testing.T) {
	c := loadContract(t)
	ops := c.operations()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	served := servedPatterns(t, root)
	if len(served) < 30 {
		t.Fatalf("found only %d route patterns in the sources: the scan is broken", len(served))
	}
	for _, sp := range served {
		documented := false
		for _, o := range ops {
			switch {
			case strings.HasSuffix(sp.path, "/") && sp.method == "":
				// A subtree (a package's mount, or its answer to
				// paths it does not serve): some route under it.
				documented = strings.HasPrefix(o.path, sp.path)
			case sp.method == "" || sp.method == o.method || (sp.method == "get" && o.method == "head"):
				documented = segmentsMatch(o.path, sp.path)
			}
			if documented {
				break
			}
		}
		if !documented {
			t.Errorf("%s registers %q, which api/openapi.json does not document", sp.at, strings.TrimSpace(strings.ToUpper(sp.method)+" "+sp.path))
		}
	}
}

// TestOpenAPIRoutesAnswer walks the document against a node: each
// documented operation, called as documented (its security, its examples),
// is answered by a handler (not the mux's 404 or 405 for what it does not
// serve) with a documented status and a body that matches its schema.
func TestOpenAPIRoutesAnswer(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	cfg := testConfig(t, fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t)))
	cfg.TestNumbers = []conf.TestNumber{{Number: testNumber, Code: "1234"}}
	cfg.HTTP.AdminKeys = conf.AdminKeysOf(adminKey)
	cfg.HTTP.Pprof = true
	cfg.HTTP.Demo = true
	cfg.HTTP.PublishableKeys = []conf.PublishableKey{{Key: pubKey, Origins: []string{appOrigin, "http://" + cfg.HTTP.Listen}, Methods: []string{"flashcall", "sms"}, PerIPPerMinute: 1000}}
	cfg.HTTP.ResultTokenKeyHex = resultTokenKeyHex
	cfg.HTTP.AuthFailuresPerIPPerMinute = 1000 // the walk calls every route without a key too
	srv := startServer(t, cfg)

	// The verification routes act on a verification of a test number.
	st, v := srv.call("POST", "/v1/verifications", `{"number":"`+testNumber+`","method":"flashcall"}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, v)
	}
	id := v["id"].(string)

	for _, o := range c.operations() {
		t.Run(o.String(), func(t *testing.T) {
			req := srv.documentedRequest(t, o, id)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			data := readBody(t, res)
			t.Logf("%s %s: %d", req.Method, req.URL.Path, res.StatusCode)
			if allow := res.Header.Get("Allow"); res.StatusCode == 405 && allow != "" && !slices.Contains(strings.Split(strings.ReplaceAll(allow, " ", ""), ","), req.Method) {
				t.Fatalf("%s is not served: 405, Allow: %s", o, allow)
			}
			if res.StatusCode == 404 || res.StatusCode == 405 {
				// The mux's answer for what it does not serve is the
				// same for a path below this one that no one serves.
				probe := srv.documentedRequest(t, o, id)
				probe.URL.Path = strings.TrimSuffix(probe.URL.Path, "/") + "/not-a-route"
				pres, err := http.DefaultClient.Do(probe)
				if err != nil {
					t.Fatal(err)
				}
				pdata := readBody(t, pres)
				pres.Body.Close()
				if pres.StatusCode == res.StatusCode && bytes.Equal(pdata, data) {
					t.Fatalf("%s is not served: %d %s (as a path no one serves)", o, res.StatusCode, data)
				}
			}
			at := []string{"paths", o.path, o.method, "responses", strconv.Itoa(res.StatusCode)}
			resp, ok := asMap(o.op["responses"])[strconv.Itoa(res.StatusCode)].(map[string]any)
			if !ok {
				t.Fatalf("%s answered %d, which the document does not list: %s", o, res.StatusCode, data)
			}
			if ref, ok := resp["$ref"].(string); ok {
				at = strings.Split(strings.TrimPrefix(ref, "#/"), "/")
				resp = c.at(at...)
			}
			ct, _, _ := strings.Cut(res.Header.Get("Content-Type"), ";")
			media, ok := asMap(resp["content"])[ct]
			if !ok && len(asMap(resp["content"])) > 0 {
				t.Fatalf("%s answered %d as %q, documented as %v", o, res.StatusCode, ct, keys(asMap(resp["content"])))
			}
			if ct == "application/json" && media != nil {
				if err := c.validate(data, append(at, "content", ct, "schema")...); err != nil {
					t.Fatalf("%s answered %d %s, not as documented: %v", o, res.StatusCode, data, err)
				}
			}
		})
	}

	// Without credentials, every operation that needs some is refused
	// 401, as documented.
	for _, o := range c.operations() {
		if len(asList(o.op["security"])) == 0 {
			continue
		}
		req := srv.documentedRequest(t, o, id)
		req.Header.Del("Authorization")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data := readBody(t, res)
		res.Body.Close()
		resp := asMap(asMap(o.op["responses"])["401"])
		if res.StatusCode != 401 || resp == nil {
			t.Errorf("%s without a key: %d %s, want a documented 401", o, res.StatusCode, data)
			continue
		}
		at := []string{"paths", o.path, o.method, "responses", "401"}
		if ref, ok := resp["$ref"].(string); ok {
			at = strings.Split(strings.TrimPrefix(ref, "#/"), "/")
		}
		if _, isJSON := asMap(c.at(at...)["content"])["application/json"]; isJSON {
			if err := c.validate(data, append(at, "content", "application/json", "schema")...); err != nil {
				t.Errorf("%s without a key: %s, not as documented: %v", o, data, err)
			}
		}
	}

	// The document is served as it is embedded, without a key.
	res, err := http.Get(srv.base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if data, _ := io.ReadAll(res.Body); res.StatusCode != 200 || !bytes.Equal(data, api.OpenAPI()) {
		t.Fatalf("GET /openapi.json: %d, %d bytes", res.StatusCode, len(data))
	}
}

// documentedRequest builds the request the document describes for o: its
// first security scheme's credentials, path parameters from their
// examples (id: the verification id), required query parameters, and its
// body's example.
func (s *testServer) documentedRequest(t *testing.T, o operation, id string) *http.Request {
	t.Helper()
	path := o.path
	query := url.Values{}
	for _, p := range asList(o.op["parameters"]) {
		p := p.(map[string]any)
		name, _ := p["name"].(string)
		val := fmt.Sprint(p["example"])
		if name == "id" && (strings.HasPrefix(o.path, "/v1/verifications/") || strings.HasPrefix(o.path, "/v1/validation/")) {
			val = id
		}
		switch p["in"] {
		case "path":
			path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(val))
		case "query":
			if p["required"] == true {
				query.Set(name, val)
			}
		}
	}
	var body io.Reader
	contentType := ""
	if rb, ok := o.op["requestBody"].(map[string]any); ok {
		for ct, media := range asMap(rb["content"]) {
			contentType = ct
			if ex, ok := media.(map[string]any)["example"]; ok {
				body = bytes.NewReader(exampleJSON(t, ex))
			}
		}
		if body == nil {
			body = strings.NewReader("")
		}
	}
	u := s.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(strings.ToUpper(o.method), u, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	security, ok := o.op["security"].([]any)
	if !ok {
		t.Fatalf("%s names no security (an empty list for none)", o)
	}
	if len(security) > 0 {
		for scheme := range security[0].(map[string]any) {
			switch scheme {
			case "apiKey":
				req.Header.Set("Authorization", "Bearer "+apiKey)
			case "adminKey":
				req.Header.Set("Authorization", "Bearer "+adminKey)
			case "publishableKey":
				req.Header.Set("Authorization", "Bearer "+pubKey)
				req.Header.Set("Origin", appOrigin)
			case "checkmobiKey":
				req.Header.Set("Authorization", apiKey)
			default:
				t.Fatalf("%s: the walk knows no security scheme %q", o, scheme)
			}
		}
	}
	return req
}

// readBody reads an answer, or an event stream's first event's data.
func readBody(t *testing.T, res *http.Response) []byte {
	t.Helper()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				return []byte(data)
			}
		}
		t.Fatalf("an event stream without an event: %v", sc.Err())
	}
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestREADMEAPITableMatchesOpenAPI: the routes of README's API table are
// documented, and README names every documented route.
func TestREADMEAPITableMatchesOpenAPI(t *testing.T) {
	c := loadContract(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, o := range c.operations() {
		ops[o.String()] = true
	}
	_, section, _ := strings.Cut(string(readme), "\n## HTTP API\n")
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([A-Z]+) (/[^` ?]*)")
	rows := row.FindAllStringSubmatch(section, -1)
	if len(rows) < 10 {
		t.Fatalf("README's API table has %d routes: the test cannot read it", len(rows))
	}
	for _, m := range rows {
		if !ops[m[1]+" "+m[2]] {
			t.Errorf("README's API table has %s %s, which api/openapi.json does not document", m[1], m[2])
		}
	}
	for o := range ops {
		if !strings.Contains(string(readme), "`"+o) {
			t.Errorf("api/openapi.json documents %s, which README does not name", o)
		}
	}
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asList(v any) []any         { l, _ := v.([]any); return l }

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func exampleJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestOpenAPIEnumsMatchTheCode: the document's statuses, reasons and
// methods are verify's, and its error codes are every code the sources
// answer with (api.WriteError's, and api.InputError's).
func TestOpenAPIEnumsMatchTheCode(t *testing.T) {
	c := loadContract(t)
	schema := func(name string) map[string]any {
		return asMap(asMap(asMap(c.doc["components"])["schemas"])[name])
	}
	enum := func(s map[string]any) []string {
		var out []string
		for _, v := range asList(s["enum"]) {
			out = append(out, v.(string))
		}
		slices.Sort(out)
		return out
	}
	var statuses, reasons []string
	for _, s := range verify.Statuses {
		statuses = append(statuses, string(s))
	}
	reasons = slices.Clone(verify.Reasons)
	slices.Sort(statuses)
	slices.Sort(reasons)
	for _, tt := range []struct {
		name      string
		doc, code []string
	}{
		{"Status", enum(schema("Status")), statuses},
		{"Reason", enum(schema("Reason")), reasons},
		{"Method", enum(schema("Method")), verify.Methods()},
	} {
		if !slices.Equal(tt.doc, tt.code) {
			t.Errorf("the document's %s is %v, verify's %v", tt.name, tt.doc, tt.code)
		}
	}

	documented := enum(asMap(asMap(asMap(schema("Error")["properties"])["error"])["properties"])["code"].(map[string]any))
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	codes := errorCodes(t, root)
	if len(codes) < 15 {
		t.Fatalf("found only %d error codes in the sources: the scan is broken", len(codes))
	}
	for code, at := range codes {
		if !slices.Contains(documented, code) {
			t.Errorf("%s answers error code %q, which api/openapi.json's Error does not list", at, code)
		}
	}
}

// errorCodes returns the error codes the module's sources write, each
// with where: the third argument of WriteError calls, and the Code of
// InputError literals, when they are string literals.
func errorCodes(t *testing.T, root string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "checkmobi") {
				return filepath.SkipDir // CheckMobi's codes are its numbers
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		note := func(e ast.Expr) {
			if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, _ := strconv.Unquote(lit.Value)
				pos := fset.Position(lit.Pos())
				out[s] = fmt.Sprintf("%s:%d", strings.TrimPrefix(pos.Filename, root+string(filepath.Separator)), pos.Line)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				name := ""
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				if name == "WriteError" && len(n.Args) == 5 {
					note(n.Args[2])
				}
			case *ast.CompositeLit:
				typ := ""
				switch tt := n.Type.(type) {
				case *ast.Ident:
					typ = tt.Name
				case *ast.SelectorExpr:
					typ = tt.Sel.Name
				}
				if typ == "InputError" {
					for _, e := range n.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok {
							if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Code" {
								note(kv.Value)
							}
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenAPISchemasHaveTheFieldsOfTheirTypes: the document's main
// schemas name exactly the JSON fields of the Go types the API reads and
// writes, so that a field added to one is documented.
func TestOpenAPISchemasHaveTheFieldsOfTheirTypes(t *testing.T) {
	c := loadContract(t)
	for _, tt := range []struct {
		schema string
		typ    any
	}{
		{"CreateVerification", verify.CreateRequest{}},
		{"Verification", verify.Verification{}},
		{"Event", verify.Event{}},
		{"CheckResult", verify.CheckResult{}},
		{"VerificationList", verify.ListPage{}},
		{"WidgetSettings", verify.WidgetSettings{}},
		{"Consent", privacy.Consent{}},
		{"MaskingCreate", masking.CreateRequest{}},
		{"MaskingSession", masking.Listed{}},
		{"MaskingSessionList", masking.ListPage{}},
		{"Error", api.ErrorBody{}},
		{"WebhookEvent", webhook.Event{}},
		{"MaskedCallEnded", masking.CallEnd{}},
		{"CheckMobiRequest", checkmobi.Request{}},
		{"CheckMobiValidation", checkmobi.Validation{}},
		{"CheckMobiValidationInfo", checkmobi.ValidationInfo{}},
		{"CheckMobiVerify", checkmobi.PinCheck{}},
		{"CheckMobiStatus", checkmobi.Result{}},
		{"CheckMobiError", checkmobi.ErrorBody{}},
	} {
		props := asMap(asMap(asMap(asMap(c.doc["components"])["schemas"])[tt.schema])["properties"])
		documented := keys(props)
		fields := jsonFields(reflect.TypeOf(tt.typ))
		if !slices.Equal(documented, fields) {
			t.Errorf("schema %s has %v; %T has %v", tt.schema, documented, tt.typ, fields)
		}
	}
}

// jsonFields lists, sorted, the names encoding/json gives t's fields,
// embedded structs' included.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || (!f.IsExported() && !f.Anonymous):
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			out = append(out, jsonFields(f.Type)...)
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
