package conf

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// checkDocument walks a parsed YAML document against the Config type before
// it is decoded, so that every unknown key, repeated key and value of the
// wrong kind is reported at once, each as a *FieldError naming its key path
// (trunks[0].max_cps) and line. It returns the line of every key path the
// document sets (and of every list element, "callers[1]"), so that
// defaults can tell an absent key from an explicit zero and later problems
// can name their line.
//
// It takes what it reports out of doc: unknown and repeated keys are
// removed and values of the wrong kind become null, so that the rest of
// the document still decodes and can be validated. If a problem leaves
// nothing sensible to decode (aliases that expand without end, a merge
// that contains itself), fatal is true.
func checkDocument(doc *yaml.Node) (lines map[string]int, problems []*FieldError, fatal error) {
	w := &schemaWalker{lines: map[string]int{}, visiting: map[*yaml.Node]bool{}}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		top := doc.Content[0]
		if !isNull(top) && resolve(top).Kind != yaml.MappingNode {
			return nil, nil, fmt.Errorf("line %d: the document must be a mapping of keys, got %s", top.Line, describe(top))
		}
		w.walk(top, reflect.TypeFor[Config](), "")
	}
	if w.fatal {
		return w.lines, nil, joinFieldErrors(w.problems)
	}
	return w.lines, w.problems, nil
}

// scalarOrListType is the interface of list types that may be written as
// a single scalar (TrunkGroup).
var scalarOrListType = reflect.TypeFor[interface{ scalarOrList() }]()

// scalarOrSectionType is the interface of sections that may be written as
// a single scalar (AdminKey: a bare key).
var scalarOrSectionType = reflect.TypeFor[interface{ scalarOrSection() }]()

// maxWalkSteps bounds the nodes checkDocument visits. Aliases and merge
// keys let a small document name a huge tree; a real configuration needs a
// step per key and list element.
const maxWalkSteps = 100_000

type schemaWalker struct {
	problems []*FieldError
	fatal    bool
	steps    int
	lines    map[string]int
	// visiting holds the mappings being walked, to refuse a merge key
	// ("<<: *x") that refers to a mapping containing it.
	visiting map[*yaml.Node]bool
}

func (w *schemaWalker) problem(key string, line int, format string, args ...any) {
	w.problems = append(w.problems, &FieldError{Key: key, Line: line, Problem: fmt.Sprintf(format, args...)})
}

// wrong reports that n, at key path and line, does not fit the schema, and
// makes it null so that decoding leaves the default in its place.
func (w *schemaWalker) wrong(n *yaml.Node, path string, line int, format string, args ...any) {
	w.problem(path, line, format, args...)
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "~", Line: n.Line, Column: n.Column}
}

// step counts a visit to n and reports whether the walk may go on; past
// maxWalkSteps it records one problem and refuses.
func (w *schemaWalker) step(path string, n *yaml.Node) bool {
	w.steps++
	if w.steps == maxWalkSteps+1 {
		w.problem(path, n.Line, "the document expands through aliases to too many nodes")
		w.fatal = true
	}
	return w.steps <= maxWalkSteps
}

// walk checks that n fits the Go type t, at key path path. A null value
// fits anything: the decoder leaves the default in place (or empties a
// list).
func (w *schemaWalker) walk(n *yaml.Node, t reflect.Type, path string) {
	if !w.step(path, n) {
		return
	}
	if isNull(n) {
		return
	}
	line := n.Line
	n = resolve(n)
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind == yaml.ScalarNode && t.Implements(scalarOrSectionType) {
			w.walk(n, reflect.TypeFor[string](), path)
			return
		}
		if n.Kind != yaml.MappingNode {
			w.wrong(n, path, line, "want a mapping of keys, got %s", describe(n))
			return
		}
		w.walkMapping(n, t, path)
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && t.Implements(scalarOrListType) {
			w.walk(n, t.Elem(), path)
			return
		}
		if n.Kind != yaml.SequenceNode {
			w.wrong(n, path, line, "want a list, got %s", describe(n))
			return
		}
		for i, item := range n.Content {
			ipath := path + "[" + strconv.Itoa(i) + "]"
			w.lines[ipath] = item.Line
			w.walk(item, t.Elem(), ipath)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Decode(new(string)) != nil {
			w.wrong(n, path, line, "want a string, got %s", describe(n))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		// The decoder would truncate 1.5 into 1; refuse anything that is
		// not written as an integer.
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(reflect.New(t).Interface()) != nil {
			w.wrong(n, path, line, "want an integer, got %s", describe(n))
		}
	case reflect.Float32, reflect.Float64:
		// 0.9 and 1 are both numbers here.
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!float" && n.ShortTag() != "!!int") || n.Decode(reflect.New(t).Interface()) != nil {
			w.wrong(n, path, line, "want a number, got %s", describe(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			w.wrong(n, path, line, "want true or false, got %s", describe(n))
		}
	default:
		// A field of a new kind needs a case above; the example-file
		// tests reach every field, so this fails there first.
		panic(fmt.Sprintf("conf: schema walk has no case for %s at %s", t, path))
	}
}

// walkMapping checks the keys of the mapping n against the fields of the
// struct type t. A key may not be written twice in one mapping, but keys
// brought in by a merge key ("<<") may repeat written ones, as in YAML.
func (w *schemaWalker) walkMapping(n *yaml.Node, t reflect.Type, path string) {
	if !w.step(path, n) {
		return
	}
	if w.visiting[n] {
		w.problem(path, n.Line, "merge key refers to a mapping that contains it")
		w.fatal = true
		return
	}
	w.visiting[n] = true
	defer delete(w.visiting, n)

	var merges []*yaml.Node
	seen := map[string]int{} // key -> line
	kept := n.Content[:0:0]  // the pairs left once problems are taken out
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			merges = append(merges, v)
			kept = append(kept, k, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.problem(path, k.Line, "a key is %s, want a name", describe(k))
			continue
		}
		key := joinKey(path, k.Value)
		f, ok := fieldByTag(t, k.Value)
		if !ok {
			w.problem(key, k.Line, "unknown key; known keys here: %s", strings.Join(yamlKeys(t), ", "))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.problem(key, k.Line, "set twice, first on line %d", first)
			continue
		}
		seen[k.Value] = k.Line
		w.lines[key] = k.Line
		kept = append(kept, k, v)
		w.walk(v, f.Type, key)
	}
	n.Content = kept
	for _, m := range merges {
		line := m.Line
		var sources []*yaml.Node
		if r := resolve(m); r.Kind == yaml.SequenceNode {
			sources = r.Content
		} else {
			sources = []*yaml.Node{m}
		}
		for _, s := range sources {
			if r := resolve(s); r.Kind == yaml.MappingNode {
				w.walkMapping(r, t, path)
			} else {
				w.problem(path, line, "merge key (<<) wants a mapping, got %s", describe(r))
				w.fatal = true
			}
		}
	}
}

// isMergeKey reports whether k is the YAML merge key "<<", as yaml.v3
// recognizes it.
func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" &&
		(k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge")
}

// resolve follows an alias (*name) to the node its anchor names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what n is for an error message: a list, a mapping, or a
// quoted scalar value (cut short if long).
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return strconv.Quote(v)
	default:
		return "nothing usable"
	}
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldByTag returns the field of struct type t whose yaml tag names key.
func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if yamlName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// yamlKeys lists the yaml names of struct type t's fields, in order.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if name := yamlName(f); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// yamlName is the key a struct field has in YAML, as yaml.v3 names it, or
// "" if it has none.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch {
	case name == "-" || !f.IsExported():
		return ""
	case name == "":
		return strings.ToLower(f.Name)
	}
	return name
}
