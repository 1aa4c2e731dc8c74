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
// (trunks[0].max_cps) and line. It returns the set of key paths the document
// sets, so that defaults can tell an absent key from an explicit zero.
func checkDocument(doc *yaml.Node) (present map[string]bool, err error) {
	w := &schemaWalker{present: map[string]bool{}, visiting: map[*yaml.Node]bool{}}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		top := doc.Content[0]
		if !isNull(top) && resolve(top).Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: the document must be a mapping of keys, got %s", top.Line, describe(top))
		}
		w.walk(top, reflect.TypeFor[Config](), "")
	}
	return w.present, joinFieldErrors(w.problems)
}

// maxWalkSteps bounds the nodes checkDocument visits. Aliases and merge
// keys let a small document name a huge tree; a real configuration needs a
// step per key and list element.
const maxWalkSteps = 100_000

type schemaWalker struct {
	problems []*FieldError
	steps    int
	present  map[string]bool
	// visiting holds the mappings being walked, to refuse a merge key
	// ("<<: *x") that refers to a mapping containing it.
	visiting map[*yaml.Node]bool
}

func (w *schemaWalker) problem(key, format string, args ...any) {
	w.problems = append(w.problems, &FieldError{Key: key, Problem: fmt.Sprintf(format, args...)})
}

// step counts a visit to n and reports whether the walk may go on; past
// maxWalkSteps it records one problem and refuses.
func (w *schemaWalker) step(path string, n *yaml.Node) bool {
	w.steps++
	if w.steps == maxWalkSteps+1 {
		w.problem(path, "the document expands through aliases to too many nodes (line %d)", n.Line)
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
		if n.Kind != yaml.MappingNode {
			w.problem(path, "want a mapping of keys, got %s (line %d)", describe(n), line)
			return
		}
		w.walkMapping(n, t, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.problem(path, "want a list, got %s (line %d)", describe(n), line)
			return
		}
		for i, item := range n.Content {
			w.walk(item, t.Elem(), path+"["+strconv.Itoa(i)+"]")
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Decode(new(string)) != nil {
			w.problem(path, "want a string, got %s (line %d)", describe(n), line)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		// The decoder would truncate 1.5 into 1; refuse anything that is
		// not written as an integer.
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(reflect.New(t).Interface()) != nil {
			w.problem(path, "want an integer, got %s (line %d)", describe(n), line)
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			w.problem(path, "want true or false, got %s (line %d)", describe(n), line)
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
		w.problem(path, "merge key refers to a mapping that contains it (line %d)", n.Line)
		return
	}
	w.visiting[n] = true
	defer delete(w.visiting, n)

	var merges []*yaml.Node
	seen := map[string]int{} // key -> line
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.problem(path, "a key is %s, want a name (line %d)", describe(k), k.Line)
			continue
		}
		key := joinKey(path, k.Value)
		f, ok := fieldByTag(t, k.Value)
		if !ok {
			w.problem(key, "unknown key (line %d); known keys here: %s", k.Line, strings.Join(yamlKeys(t), ", "))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.problem(key, "set twice (lines %d and %d)", first, k.Line)
			continue
		}
		seen[k.Value] = k.Line
		w.present[key] = true
		w.walk(v, f.Type, key)
	}
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
				w.problem(path, "merge key (<<) wants a mapping, got %s (line %d)", describe(r), line)
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
