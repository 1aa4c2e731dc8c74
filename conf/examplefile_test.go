package conf

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const exampleFile = "../examples/ringproof.yaml"

// TestExampleMatchesDefault keeps examples/ringproof.yaml, which documents
// every key with its default, from drifting from Default.
func TestExampleMatchesDefault(t *testing.T) {
	c, err := LoadWith(exampleFile, nil)
	if err != nil {
		t.Fatalf("LoadWith(%s) = %v", exampleFile, err)
	}
	if want := Default(); !reflect.DeepEqual(c, want) {
		d := diff(reflect.ValueOf(*c), reflect.ValueOf(*want), "")
		if len(d) == 0 { // nil against empty
			d = []string{fmt.Sprintf("example %#v\nDefault() %#v", c, want)}
		}
		t.Fatalf("the example file and Default() differ:\n%s", strings.Join(d, "\n"))
	}
}

// diff lists the key paths where the example's value got differs from
// Default's value want, as "path: example X, Default() Y".
func diff(got, want reflect.Value, path string) []string {
	switch got.Kind() {
	case reflect.Struct:
		var out []string
		for i := range got.NumField() {
			name := yamlName(got.Type().Field(i))
			out = append(out, diff(got.Field(i), want.Field(i), joinKey(path, name))...)
		}
		return out
	case reflect.Slice:
		if got.Len() != want.Len() {
			return []string{fmt.Sprintf("%s: example has %d elements, Default() %d", path, got.Len(), want.Len())}
		}
		var out []string
		for i := range got.Len() {
			out = append(out, diff(got.Index(i), want.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	default:
		if got.Interface() != want.Interface() {
			return []string{fmt.Sprintf("%s: example %#v, Default() %#v", path, got.Interface(), want.Interface())}
		}
		return nil
	}
}

// TestExampleSetsEveryKey checks that every key of the Config schema is
// written out in the example file, so none goes undocumented.
func TestExampleSetsEveryKey(t *testing.T) {
	doc := readExample(t)
	written := map[string]bool{}
	for path := range exampleKeys(doc.Content[0], "") {
		written[path] = true
	}
	var missing []string
	for _, path := range schemaKeys(reflect.TypeFor[Config](), "") {
		if !written[path] && !documentedInList(doc.Content[0], path) {
			missing = append(missing, path)
		}
	}
	if len(missing) > 0 {
		t.Errorf("keys missing from %s: %s", exampleFile, strings.Join(missing, ", "))
	}
}

// TestExampleKeysHaveComments checks that a comment sits above (or beside)
// every key in the example file.
func TestExampleKeysHaveComments(t *testing.T) {
	doc := readExample(t)
	for path, key := range exampleKeys(doc.Content[0], "") {
		if key.comment == "" {
			t.Errorf("%s (line %d) has no comment in %s", path, key.line, exampleFile)
		}
	}
}

// documentedInList reports whether path, a key of the elements of a list
// ("http.publishable_keys[].origins"), is described in the comment above
// that list as "origins:": a list empty by default has no element to
// write its keys in. A key deeper in the element
// ("services[].limits.per_key_per_minute", "services[].webhooks[].url")
// is described by its last name.
func documentedInList(doc *yaml.Node, path string) bool {
	list, field, ok := strings.Cut(path, "[].")
	if !ok {
		return false
	}
	if i := strings.LastIndexAny(field, "."); i >= 0 {
		field = field[i+1:]
	}
	for p, key := range exampleKeys(doc, "") {
		if p == list {
			return strings.Contains(key.comment, " "+field+":")
		}
	}
	return false
}

func readExample(t *testing.T) *yaml.Node {
	t.Helper()
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// schemaKeys lists the key paths of struct type t, with "[]" for the
// elements of a list: "http.listen", "trunks", "trunks[].name".
func schemaKeys(t reflect.Type, prefix string) []string {
	var paths []string
	for f := range t.Fields() {
		name := yamlName(f)
		if name == "" {
			continue
		}
		path := joinKey(prefix, name)
		paths = append(paths, path)
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft, path = ft.Elem(), path+"[]"
		}
		if ft.Kind() == reflect.Struct {
			paths = append(paths, schemaKeys(ft, path)...)
		}
	}
	return paths
}

// exampleKey is a key written in the example file.
type exampleKey struct {
	line    int
	comment string // above or beside the key
}

// exampleKeys yields each key written in the mapping n with its path, as
// schemaKeys spells it. For the keys of list elements it yields the first
// element's.
func exampleKeys(n *yaml.Node, prefix string) func(yield func(string, exampleKey) bool) {
	return func(yield func(string, exampleKey) bool) {
		var walk func(n *yaml.Node, prefix string) bool
		walk = func(n *yaml.Node, prefix string) bool {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				path := joinKey(prefix, k.Value)
				key := exampleKey{line: k.Line, comment: k.HeadComment + k.LineComment}
				if i == 0 {
					// yaml.v3 gives a comment above "- key:" to the
					// list element, not to its first key.
					key.comment += n.HeadComment
				}
				if !yield(path, key) {
					return false
				}
				if v.Kind == yaml.SequenceNode && len(v.Content) > 0 && v.Content[0].Kind == yaml.MappingNode {
					v, path = v.Content[0], path+"[]"
				}
				if v.Kind == yaml.MappingNode && !walk(v, path) {
					return false
				}
			}
			return true
		}
		walk(n, prefix)
	}
}

func TestSchemaKeysSeeNestedLists(t *testing.T) {
	keys := schemaKeys(reflect.TypeFor[Config](), "")
	for _, want := range []string{"http.api_keys", "trunks", "trunks[].max_cps", "trunks[].inbound_cidrs", "callers", "inbound.numbers", "privacy.old_encryption_keys", "log.format"} {
		if !slices.Contains(keys, want) {
			t.Errorf("schemaKeys lacks %s: %v", want, keys)
		}
	}
}
