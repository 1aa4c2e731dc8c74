package conf

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path and returns the configuration ringproof
// runs with: Default, overridden by the keys the file sets, overridden by
// the environment (every key has a variable: see EnvVars), then checked by
// Validate. An empty path means no file: the defaults with the environment
// applied. A RINGPROOF_ variable that sets nothing (a misspelt name) is an
// error too.
//
// Keys the file leaves out keep their defaults, but a list the file sets
// (trunks, callers, inbound.numbers, http.api_keys...) replaces the default
// list entirely; an empty list reads as nil. Within a trunk, transport
// defaults to udp, max_cps to 100 and domain to the host of address, and
// region is upper-cased. Unknown keys are errors.
//
// The error names path. A configuration that is not valid gives every
// problem at once, each a *FieldError (see FieldErrors) with the line of
// the file or the variable that set its key: a value of the wrong type
// does not hide the problems of other keys.
func Load(path string) (*Config, error) {
	return load(path, os.Getenv, os.Environ())
}

// LoadWith is Load reading environment variables with getenv instead of
// os.Getenv; an empty value counts as unset, and a nil getenv reads
// nothing. It cannot tell which variables exist, so unlike Load it does not
// refuse those that set nothing.
func LoadWith(path string, getenv func(string) string) (*Config, error) {
	return load(path, getenv, nil)
}

func load(path string, getenv func(string) string, environ []string) (*Config, error) {
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	c, err := parse(data, getenv, environ)
	if err != nil {
		if path == "" {
			return nil, fmt.Errorf("config: %w", err)
		}
		sep := " "
		if joined, ok := err.(interface{ Unwrap() []error }); ok && len(joined.Unwrap()) > 1 {
			sep = "\n" // one problem a line
		}
		return nil, fmt.Errorf("config %s:%s%w", path, sep, err)
	}
	return c, nil
}

// Parse is Load reading the YAML document from data instead of a file, with
// environment variables from getenv (nil reads nothing). Empty data, or a
// document of only comments, gives the defaults. data must hold at most one
// YAML document. A YAML syntax error says on which line, and is the only
// problem reported: what follows it cannot be read.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	return parse(data, getenv, nil)
}

// parse is Parse that also refuses the RINGPROOF_ variables of environ
// that set nothing.
func parse(data []byte, getenv func(string) string, environ []string) (*Config, error) {
	doc, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	c := Default()
	var lines map[string]int
	var problems []*FieldError
	if doc != nil {
		var fatal error
		if lines, problems, fatal = checkDocument(doc); fatal != nil {
			return nil, fatal
		}
		// checkDocument has taken out what does not fit the schema, so
		// what is left decodes.
		if err := doc.Decode(c); err != nil {
			return nil, errors.Join(joinFieldErrors(problems), err)
		}
	}
	set, used, envProblems := c.applyEnv(getenv)
	problems = append(problems, envProblems...)
	for _, name := range unusedEnv(environ, used) {
		problems = append(problems, &FieldError{Env: name, Problem: "sets no configuration key (\"ringproof serve --help\" lists them)"})
	}
	given := func(key string) bool { return lines[key] > 0 || set[key] != "" }
	for i := range c.Trunks {
		t := &c.Trunks[i]
		key := "trunks[" + strconv.Itoa(i) + "]"
		// A domain derived from an address the environment changed
		// follows it.
		if set[key+".address"] != "" && !given(key+".domain") {
			t.Domain = ""
		}
		// The default trunk (no trunks in the file or the environment)
		// has its defaults already.
		fillTrunkDefaults(t, func(k string) bool { return given(key+"."+k) || lines["trunks"] == 0 && set[key] == "" })
	}
	for i := range c.HTTP.PublishableKeys {
		fillPublishableDefaults(&c.HTTP.PublishableKeys[i], given("http.publishable_keys["+strconv.Itoa(i)+"].per_ip_per_minute"))
	}
	// An empty list set in the file means the same as none.
	emptyToNil(&c.Store.Endpoints)
	if len(c.HTTP.AdminKeys) == 0 {
		c.HTTP.AdminKeys = nil
	}
	emptyToNil(&c.HTTP.CORSOrigins)
	if len(c.HTTP.PublishableKeys) == 0 {
		c.HTTP.PublishableKeys = nil
	}
	emptyToNil(&c.Inbound.Numbers)
	emptyToNil(&c.Privacy.OldEncryptionKeysHex)
	for i := range c.Trunks {
		emptyToNil(&c.Trunks[i].InboundCIDRs)
		emptyToNil(&c.Trunks[i].FailoverOn)
	}
	for i := range c.Routes {
		emptyToNil(&c.Routes[i].Callers)
	}
	emptyToNil(&c.DefaultRoute.Callers)
	if len(c.Routes) == 0 {
		c.Routes = nil
	}
	if len(c.DefaultRoute.Trunks) == 0 {
		c.DefaultRoute.Trunks = nil
	}
	c.normaliseFraud()
	problems = append(problems, validated(c, problems, lines, set)...)
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b *FieldError) int {
			// By line; then keys set from the environment or by default.
			return cmp.Compare(sortLine(a), sortLine(b))
		})
		return nil, joinFieldErrors(problems)
	}
	return c, nil
}

// sortLine orders problems: those of the file by line, then the rest.
func sortLine(e *FieldError) int {
	if e.Line > 0 && e.Env == "" {
		return e.Line
	}
	return math.MaxInt
}

// validated returns the problems Validate finds in c, each with the line
// or variable that set its key (or, for a key of a list element that
// neither set, the element's line), leaving out those of keys that already
// have a problem in earlier: a value refused as the wrong type was left
// at its default, which says nothing about the file.
func validated(c *Config, earlier []*FieldError, lines map[string]int, set map[string]string) []*FieldError {
	var out []*FieldError
	for _, p := range FieldErrors(c.Validate()) {
		if slices.ContainsFunc(earlier, func(e *FieldError) bool { return e.Key != "" && keyWithin(p.Key, e.Key) }) {
			continue
		}
		for k := p.Key; k != ""; k = parentKey(k) {
			if env := set[k]; env != "" {
				p.Env = env
				break
			}
			if line := lines[k]; line > 0 && (k == p.Key || strings.HasSuffix(k, "]")) {
				p.Line = line
				break
			}
		}
		out = append(out, p)
	}
	return out
}

// keyWithin reports whether key is the key path outer or lies within it:
// "trunks[0].address" is within "trunks[0]" and "trunks", not "trunk".
func keyWithin(key, outer string) bool {
	rest, ok := strings.CutPrefix(key, outer)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

// parentKey returns the key path that holds key: "trunks[0]" for
// "trunks[0].address", "trunks" for "trunks[0]", "" for "trunks".
func parentKey(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

// emptyToNil sets *list to nil if it is empty.
func emptyToNil(list *[]string) {
	if len(*list) == 0 {
		*list = nil
	}
}

// parseYAML parses data as a single YAML document. It returns nil if data
// holds no document.
func parseYAML(data []byte) (*yaml.Node, error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, withLine(err, data)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, withLine(err, data)
	default:
		return nil, fmt.Errorf("line %d: a second YAML document; want one", next.Line)
	}
	return &doc, nil
}
