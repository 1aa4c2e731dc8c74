package conf

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// AdminKey is a bearer token of compliance staff (http.admin_keys), with
// the name the audit trail records for what is done with it. In a file it
// is written as a mapping, {name: alice, key: …}, or, unnamed, as the bare
// key; in an environment variable as "name:key" or the bare key
// (RINGPROOF_ADMIN_KEYS=alice:k1,bob:k2).
type AdminKey struct {
	// Name says who holds the key: letters, digits and . _ @ + -, at most
	// 64, unique among admin keys. Empty: the audit trail records the
	// key's place, admin_keys[i].
	Name string `yaml:"name,omitempty"`
	// Key is the token, presented as "Authorization: Bearer <key>": no
	// spaces, not an API key.
	Key string `yaml:"key"`
}

// maxAdminKeyName bounds an admin key's name.
const maxAdminKeyName = 64

// UnmarshalYAML reads a bare key or a {name, key} mapping.
func (k *AdminKey) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*k = AdminKey{}
		return n.Decode(&k.Key)
	}
	type plain AdminKey // without this method
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*k = AdminKey(p)
	return nil
}

// UnmarshalText reads an element of an environment variable: "name:key",
// or a bare key when it holds no ':'. A key that holds a ':' must be
// written with its name.
func (k *AdminKey) UnmarshalText(text []byte) error {
	s := string(text)
	name, key, named := strings.Cut(s, ":")
	if !named {
		*k = AdminKey{Key: s}
		return nil
	}
	if name == "" {
		return errors.New(`an element starts with ":": write "name:key", or the key alone`)
	}
	*k = AdminKey{Name: name, Key: key}
	return nil
}

// scalarOrSection marks a section that may also be written as a single
// scalar, for the schema walk.
func (AdminKey) scalarOrSection() {}

// Operator is the name the audit trail records for what admin key i
// does: its name, or "admin_keys[i]" when it has none.
func (h HTTP) Operator(i int) string {
	if i < 0 || i >= len(h.AdminKeys) {
		return ""
	}
	if n := h.AdminKeys[i].Name; n != "" {
		return n
	}
	return "admin_keys[" + strconv.Itoa(i) + "]"
}

// AdminTokens returns the tokens of the admin keys, in order.
func (h HTTP) AdminTokens() []string {
	if len(h.AdminKeys) == 0 {
		return nil
	}
	out := make([]string, len(h.AdminKeys))
	for i, k := range h.AdminKeys {
		out[i] = k.Key
	}
	return out
}

// AdminKeysOf returns unnamed admin keys made of tokens (tests and tools
// that need no names).
func AdminKeysOf(tokens ...string) []AdminKey {
	if len(tokens) == 0 {
		return nil
	}
	out := make([]AdminKey, len(tokens))
	for i, t := range tokens {
		out[i] = AdminKey{Key: t}
	}
	return out
}

// adminKeyNameProblem returns what is wrong with an admin key's name, or
// "".
func adminKeyNameProblem(name string) string {
	if len(name) > maxAdminKeyName {
		return fmt.Sprintf("is %d characters; at most %d", len(name), maxAdminKeyName)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r)) {
			return fmt.Sprintf("%q holds %q: use letters, digits and . _ @ + - only", name, r)
		}
	}
	return ""
}

// validateAdminKeys checks http.admin_keys: each key a bearer token that is
// no API key, each name well formed and unique.
func (c *Config) validateAdminKeys(v *validator) {
	names := map[string]int{}
	for i, k := range c.HTTP.AdminKeys {
		at := "http.admin_keys[" + strconv.Itoa(i) + "]"
		key := at
		if k.Name != "" {
			key = at + ".key"
			if p := adminKeyNameProblem(k.Name); p != "" {
				v.add(at+".name", "%s", p)
			} else if j, dup := names[k.Name]; dup {
				v.add(at+".name", "%q is also the name of http.admin_keys[%d]; names say who acted in the audit trail", k.Name, j)
			} else {
				names[k.Name] = i
			}
		}
		if p := bearerProblem(k.Key); p != "" {
			v.add(key, "%s", p)
		} else if j := slices.Index(c.HTTP.APIKeys, k.Key); j >= 0 {
			v.add(key, "is also http.api_keys[%d]; an admin key must not be an API key", j)
		}
	}
}
