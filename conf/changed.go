package conf

import (
	"reflect"
	"strconv"
)

// Changed returns the key paths whose values differ between a and b, in
// the order of the schema: leaves ("http.listen", "callers[1]",
// "trunks[0].address"), or a list's key when its length changed
// ("trunks"). A running node uses it on a reload, to tell which changes it
// applied and which need a restart.
func Changed(a, b *Config) []string {
	var out []string
	var walk func(x, y reflect.Value, key string)
	walk = func(x, y reflect.Value, key string) {
		switch x.Kind() {
		case reflect.Struct:
			for i := range x.NumField() {
				if name := yamlName(x.Type().Field(i)); name != "" {
					walk(x.Field(i), y.Field(i), joinKey(key, name))
				}
			}
		case reflect.Slice:
			if x.Len() != y.Len() {
				out = append(out, key)
				return
			}
			for i := range x.Len() {
				walk(x.Index(i), y.Index(i), key+"["+strconv.Itoa(i)+"]")
			}
		case reflect.Pointer:
			if x.IsNil() || y.IsNil() {
				if x.IsNil() != y.IsNil() {
					out = append(out, key)
				}
				return
			}
			walk(x.Elem(), y.Elem(), key)
		default:
			if !reflect.DeepEqual(x.Interface(), y.Interface()) {
				out = append(out, key)
			}
		}
	}
	walk(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), "")
	return out
}
