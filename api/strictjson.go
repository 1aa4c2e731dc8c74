package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// keyProblem is a key of a request body that encoding/json would take but
// the API refuses.
type keyProblem struct {
	field, code, message string
}

// checkKeys walks the JSON document data beside the Go type t it is
// decoded into, and returns the first key that is written twice in one
// object (encoding/json keeps the last: two "number"s would pass), or
// that names a field only when case is ignored (encoding/json would fill
// number from "Number"). It returns nil for a document it cannot read:
// the decoder explains those.
func checkKeys(data []byte, t reflect.Type) *keyProblem {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p, _ := walkValue(dec, t, "")
	return p
}

// walkValue reads one value from dec, of Go type t (nil: any), at path.
func walkValue(dec *json.Decoder, t reflect.Type, path string) (*keyProblem, error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, t, path)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if p, err := walkValue(dec, elem, fmt.Sprintf("%s[%d]", path, i)); p != nil || err != nil {
				return p, err
			}
		}
		_, err = dec.Token() // ]
		return nil, err
	}
	return nil, nil
}

// walkObject reads the members of an object whose '{' was read.
func walkObject(dec *json.Decoder, t reflect.Type, path string) (*keyProblem, error) {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		field := joinField(path, key)
		if seen[key] {
			return &keyProblem{field, "duplicate_field", fmt.Sprintf("%s is given twice", field)}, nil
		}
		seen[key] = true
		var ft reflect.Type
		if fields != nil {
			var ok bool
			if ft, ok = fields[key]; !ok {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return &keyProblem{field, "unknown_field", fmt.Sprintf("unknown field %q (keys are case-sensitive: %q)", key, name)}, nil
					}
				}
			}
		} else if t != nil && t.Kind() == reflect.Map {
			ft = t.Elem()
		}
		if p, err := walkValue(dec, ft, field); p != nil || err != nil {
			return p, err
		}
	}
	_, err := dec.Token() // }
	return nil, err
}

// jsonFields maps the JSON names of t's fields to their types, as
// encoding/json names them.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if ft := f.Type; f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, t := range jsonFields(ft) { // promoted fields
					if _, ok := out[n]; !ok {
						out[n] = t
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonType names the JSON value a Go type takes, for error messages: the
// API's words, not Go's.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "whole number"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array of " + jsonType(t.Elem()) + "s"
	}
	return "object"
}

// article puts "a" or "an" before a JSON type's name ("an array", "a
// string").
func article(what string) string {
	if what != "" && strings.ContainsRune("aeiou", rune(what[0])) {
		return "an " + what
	}
	return "a " + what
}
