package conf

import "strings"

// Environment variables that override secrets in the file. An empty
// variable counts as unset.
const (
	// EnvAPIKeys replaces http.api_keys with its comma-separated elements;
	// spaces around elements and empty elements are dropped.
	EnvAPIKeys = "RINGPROOF_API_KEYS"
	// EnvStorePassword replaces store.password.
	EnvStorePassword = "RINGPROOF_STORE_PASSWORD"
)

// TrunkPasswordEnv returns the environment variable that overrides the
// password of the trunk named name: RINGPROOF_TRUNK_<NAME>_PASSWORD, where
// NAME is name upper-cased with every character other than an ASCII letter
// or digit replaced by '_'. "carrier-1" gives
// RINGPROOF_TRUNK_CARRIER_1_PASSWORD.
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

// applyEnv overrides secrets in c from getenv; see EnvAPIKeys,
// EnvStorePassword and TrunkPasswordEnv. A nil getenv overrides nothing.
func (c *Config) applyEnv(getenv func(string) string) {
	if getenv == nil {
		return
	}
	if v := getenv(EnvAPIKeys); v != "" {
		var keys []string
		for k := range strings.SplitSeq(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
		c.HTTP.APIKeys = keys
	}
	if v := getenv(EnvStorePassword); v != "" {
		c.Store.Password = v
	}
	for i := range c.Trunks {
		if v := getenv(TrunkPasswordEnv(c.Trunks[i].Name)); v != "" {
			c.Trunks[i].Password = v
		}
	}
}
