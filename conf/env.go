package conf

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Every key of the configuration can be set from the environment. The
// variable is RINGPROOF_ followed by the key's path upper-cased, a dot or
// a list index becoming an underscore:
//
//	http.listen            RINGPROOF_HTTP_LISTEN=0.0.0.0:8080
//	sip.udp_reader         RINGPROOF_SIP_UDP_READER=poller
//	http.api_keys          RINGPROOF_HTTP_API_KEYS=key-a,key-b
//	trunks[0].address      RINGPROOF_TRUNKS_0_ADDRESS=203.0.113.5:5060
//
// A list of values (api_keys, callers, inbound_cidrs...) is written
// comma-separated; spaces around elements and empty elements are dropped,
// so a lone "," sets an empty list. A list of sections (trunks) is set
// element by element, by index: an index below the list's length changes
// that element of the file's (or the default) list, the next index adds an
// element, which gets the same defaults as one written in the file.
// Integers are decimal, booleans true or false. A variable overrides the
// file; an empty variable counts as unset.
//
// The names are derived from the schema (the yaml tags of Config), so a
// key added to it can be set from the environment at once; EnvVars lists
// them all, as "ringproof serve --help" prints them. Load refuses any other
// RINGPROOF_ variable, so that a misspelt one is not silently ignored,
// except those of EnvOther.
//
// Besides, some keys keep the shorter names they had before this rule:
// RINGPROOF_API_KEYS, RINGPROOF_ADMIN_KEYS and RINGPROOF_RESULT_TOKEN_KEY,
// and a trunk's password by
// the trunk's name (TrunkPasswordEnv). Setting both names of one key to
// different values is an error.
const envPrefix = "RINGPROOF_"

// Older names of keys, kept working.
const (
	// EnvAPIKeys is another name for RINGPROOF_HTTP_API_KEYS.
	EnvAPIKeys = "RINGPROOF_API_KEYS"
	// EnvAdminKeys is another name for RINGPROOF_HTTP_ADMIN_KEYS.
	EnvAdminKeys = "RINGPROOF_ADMIN_KEYS"
	// EnvStorePassword sets store.password.
	EnvStorePassword = "RINGPROOF_STORE_PASSWORD"
	// EnvHMACKey sets privacy.hmac_key.
	EnvHMACKey = "RINGPROOF_PRIVACY_HMAC_KEY"
	// EnvEncryptionKey sets privacy.encryption_key.
	EnvEncryptionKey = "RINGPROOF_PRIVACY_ENCRYPTION_KEY"
	// EnvOldEncryptionKeys sets privacy.old_encryption_keys.
	EnvOldEncryptionKeys = "RINGPROOF_PRIVACY_OLD_ENCRYPTION_KEYS"
	// EnvResultTokenKey is another name for
	// RINGPROOF_HTTP_RESULT_TOKEN_KEY.
	EnvResultTokenKey = "RINGPROOF_RESULT_TOKEN_KEY"
)

// EnvConfig names the configuration file when a command is given no
// --config flag.
const EnvConfig = "RINGPROOF_CONFIG"

// EnvOther lists the RINGPROOF_ variables that are not configuration keys
// but that ringproof reads, so that Load does not refuse them. Load also
// leaves alone every variable that starts with EnvTestPrefix.
var EnvOther = []string{EnvConfig}

// EnvTestPrefix starts the variables that tests read
// (RINGPROOF_TEST_ARTIFACTS): never configuration.
const EnvTestPrefix = "RINGPROOF_TEST_"

// EnvVar is an environment variable that sets a configuration key.
type EnvVar struct {
	// Name is the variable, with <i> for the index of a list of sections:
	// RINGPROOF_TRUNKS_<i>_ADDRESS.
	Name string
	// Key is the configuration key it sets, with [i] for that index:
	// trunks[i].address.
	Key string
	// Kind says how the value is written: "string", "integer",
	// "true or false", "comma-separated list".
	Kind string
}

// EnvVars lists the variable of every configuration key, in the order of
// the schema. A key inside a list of sections appears once, with <i>.
func EnvVars() []EnvVar {
	var out []EnvVar
	var walk func(t reflect.Type, name, key string)
	walk = func(t reflect.Type, name, key string) {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t.Kind() == reflect.Struct:
			for f := range t.Fields() {
				if y := yamlName(f); y != "" {
					walk(f.Type, name+"_"+strings.ToUpper(y), joinKey(key, y))
				}
			}
		case t.Kind() == reflect.Slice && isSection(t.Elem()):
			walk(t.Elem(), name+"_<i>", key+"[i]")
		default:
			if kind := envKind(t); kind != "" {
				out = append(out, EnvVar{Name: envPrefix + name[1:], Key: key, Kind: kind})
			}
		}
	}
	walk(reflect.TypeFor[Config](), "", "")
	return out
}

// textUnmarshalerType is the interface of values a variable sets from
// their text form (TrunkGroup: "a|b").
var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// isSection reports whether t (or what it points to) is a struct, which a
// variable sets field by field, unless it has a text form (AdminKey:
// "name:key"), in which case a list of them is written comma-separated.
func isSection(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// envKind describes how a value of type t is written in a variable, or
// returns "" if a variable cannot set it (a map).
func envKind(t reflect.Type) string {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if envKind(t.Elem()) != "" && (t.Elem().Kind() != reflect.Slice || reflect.PointerTo(t.Elem()).Implements(textUnmarshalerType)) {
			return "comma-separated list"
		}
	}
	return ""
}

// TrunkPasswordEnv returns the variable that also sets the password of the
// trunk named name: RINGPROOF_TRUNK_<NAME>_PASSWORD, where NAME is name
// upper-cased with every character other than an ASCII letter or digit
// replaced by '_'. "carrier-1" gives RINGPROOF_TRUNK_CARRIER_1_PASSWORD.
func TrunkPasswordEnv(name string) string {
	var b strings.Builder
	b.WriteString("RINGPROOF_TRUNK_")
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	b.WriteString("_PASSWORD")
	return b.String()
}

// maxEnvGap is how far past the end of a list of sections applyEnv looks
// for a variable that would leave a gap, to refuse it.
const maxEnvGap = 16

// envAliases maps the variable of a key to the older name that also sets
// it.
var envAliases = map[string]string{
	"RINGPROOF_HTTP_API_KEYS":         EnvAPIKeys,
	"RINGPROOF_HTTP_ADMIN_KEYS":       EnvAdminKeys,
	"RINGPROOF_HTTP_RESULT_TOKEN_KEY": EnvResultTokenKey,
}

// envApplier sets configuration keys from variables.
type envApplier struct {
	getenv func(string) string
	// set maps each key set from a variable to that variable.
	set map[string]string
	// used holds every variable read with a value, whether or not it
	// could be applied.
	used     map[string]bool
	problems []*FieldError
}

// lookup returns the value of the variable name, or of its older name,
// and which of the two held it. Both set to different values is a
// problem of key, and neither applies.
func (a *envApplier) lookup(name, key string) (value, from string) {
	v := a.getenv(name)
	if v != "" {
		a.used[name] = true
	}
	old, ok := envAliases[name]
	if !ok {
		return v, name
	}
	ov := a.getenv(old)
	switch {
	case ov == "":
		return v, name
	case v == "":
		a.used[old] = true
		return ov, old
	case v != ov:
		a.used[old] = true
		a.problem(key, old, "says otherwise than %s; set one of them", name)
		return "", ""
	}
	a.used[old] = true
	return v, name
}

// applyEnv sets the keys of c that variables from getenv set (see the
// rule above). It returns the keys it set, each with its variable, and
// the variables it read that held a value. A value that does not fit its
// key is a *FieldError naming the variable, and the key keeps its value. A
// nil getenv sets nothing.
func (c *Config) applyEnv(getenv func(string) string) (set map[string]string, used map[string]bool, problems []*FieldError) {
	a := &envApplier{getenv: getenv, set: map[string]string{}, used: map[string]bool{}}
	if getenv == nil {
		return a.set, a.used, nil
	}
	a.walk(reflect.ValueOf(c).Elem(), "", "")
	for i := range c.Trunks {
		key := "trunks[" + strconv.Itoa(i) + "].password"
		old := TrunkPasswordEnv(c.Trunks[i].Name)
		v := getenv(old)
		if v == "" {
			continue
		}
		a.used[old] = true
		if from, ok := a.set[key]; ok && c.Trunks[i].Password != v {
			a.problem(key, old, "says otherwise than %s; set one of them", from)
			continue
		}
		c.Trunks[i].Password = v
		a.set[key] = old
	}
	return a.set, a.used, a.problems
}

func (a *envApplier) problem(key, env, format string, args ...any) {
	a.problems = append(a.problems, &FieldError{Key: key, Env: env, Problem: fmt.Sprintf(format, args...)})
}

// walk sets v, the value of key, from the variable named by name (the
// variable without its prefix, after a leading '_') and, for a section,
// from those of its fields.
func (a *envApplier) walk(v reflect.Value, name, key string) {
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if v.IsNil() {
			if !a.anySet(t.Elem(), name) {
				return
			}
			v.Set(reflect.New(t.Elem()))
		}
		v, t = v.Elem(), t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			if y := yamlName(t.Field(i)); y != "" {
				a.walk(v.Field(i), name+"_"+strings.ToUpper(y), joinKey(key, y))
			}
		}
	case t.Kind() == reflect.Slice && isSection(t.Elem()):
		a.walkSections(v, name, key)
	case envKind(t) != "":
		s, from := a.lookup(envPrefix+name[1:], key)
		if s == "" {
			return
		}
		if p := setFromEnv(v, s); p != "" {
			a.problem(key, from, "%s", p)
			return
		}
		a.set[key] = from
	}
}

// walkSections sets the elements of the list of sections v, the value of
// key, from variables by index, appending an element for the index after
// the last. A variable further on is refused.
func (a *envApplier) walkSections(v reflect.Value, name, key string) {
	elem := v.Type().Elem()
	for i := 0; ; i++ {
		iname, ikey := name+"_"+strconv.Itoa(i), key+"["+strconv.Itoa(i)+"]"
		if i >= v.Len() {
			if !a.anySet(elem, iname) {
				break
			}
			v.Set(reflect.Append(v, reflect.Zero(elem)))
			a.set[ikey] = envPrefix + iname[1:] + "_..."
		}
		a.walk(v.Index(i), iname, ikey)
	}
	for i := v.Len() + 1; i <= v.Len()+maxEnvGap; i++ {
		if iname := name + "_" + strconv.Itoa(i); a.anySet(elem, iname) {
			a.problem(key, envPrefix+iname[1:]+"_...", "index %d leaves a gap: the list has %d elements, so the next is %d", i, v.Len(), v.Len())
			return
		}
	}
}

// anySet reports whether a variable sets any key of type t under name.
// Every variable it finds set counts as used.
func (a *envApplier) anySet(t reflect.Type, name string) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct:
		found := false
		for f := range t.Fields() {
			if y := yamlName(f); y != "" && a.anySet(f.Type, name+"_"+strings.ToUpper(y)) {
				found = true
			}
		}
		return found
	case t.Kind() == reflect.Slice && isSection(t.Elem()):
		return a.anySet(t.Elem(), name+"_0")
	case envKind(t) != "":
		n := envPrefix + name[1:]
		if a.getenv(n) == "" {
			return false
		}
		a.used[n] = true
		return true
	}
	return false
}

// setFromEnv sets v from the variable's value s and returns what is wrong
// with s if it does not fit v's type. It never quotes a string value: it
// may be a secret.
func setFromEnv(v reflect.Value, s string) (problem string) {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if err := u.UnmarshalText([]byte(s)); err != nil {
			return err.Error()
		}
		return ""
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch s {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return fmt.Sprintf("want true or false, got %q", s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return fmt.Sprintf("want an integer, got %q", s)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return fmt.Sprintf("want a non-negative integer, got %q", s)
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(strings.TrimSpace(s), v.Type().Bits())
		if err != nil {
			return fmt.Sprintf("want a number, got %q", s)
		}
		v.SetFloat(n)
	case reflect.Slice:
		items := splitList(s)
		list := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			if p := setFromEnv(list.Index(i), item); p != "" {
				return fmt.Sprintf("element %d: %s", i, p)
			}
		}
		if len(items) == 0 {
			list = reflect.Zero(v.Type())
		}
		v.Set(list)
	}
	return ""
}

// splitList splits a comma-separated variable, dropping spaces around
// elements and empty elements. It returns nil if no element is left.
func splitList(v string) []string {
	var list []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	return list
}

// unusedEnv returns the RINGPROOF_ variables of environ (KEY=value
// strings) that hold a value but set nothing: neither read by applyEnv
// (used) nor in EnvOther nor a test's.
func unusedEnv(environ []string, used map[string]bool) []string {
	var out []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix) && !strings.HasPrefix(name, EnvTestPrefix) && value != "" && !used[name] && !slices.Contains(EnvOther, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
