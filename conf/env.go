package conf

import "strings"

// Environment variables that override secrets in the file. An empty
// variable counts as unset.
const (
	// EnvAPIKeys replaces http.api_keys with its comma-separated elements;
	// spaces around elements and empty elements are dropped.
	EnvAPIKeys = "RINGPROOF_API_KEYS"
	// EnvAdminKeys replaces http.admin_keys, split as EnvAPIKeys is.
	EnvAdminKeys = "RINGPROOF_ADMIN_KEYS"
	// EnvStorePassword replaces store.password.
	EnvStorePassword = "RINGPROOF_STORE_PASSWORD"
	// EnvHMACKey replaces privacy.hmac_key.
	EnvHMACKey = "RINGPROOF_PRIVACY_HMAC_KEY"
	// EnvEncryptionKey replaces privacy.encryption_key.
	EnvEncryptionKey = "RINGPROOF_PRIVACY_ENCRYPTION_KEY"
	// EnvResultTokenKey replaces http.result_token_key.
	EnvResultTokenKey = "RINGPROOF_RESULT_TOKEN_KEY"
	// EnvOldEncryptionKeys replaces privacy.old_encryption_keys, split as
	// EnvAPIKeys is.
	EnvOldEncryptionKeys = "RINGPROOF_PRIVACY_OLD_ENCRYPTION_KEYS"
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

// applyEnv overrides secrets in c from getenv; see the Env constants and
// TrunkPasswordEnv. A nil getenv overrides nothing.
func (c *Config) applyEnv(getenv func(string) string) {
	if getenv == nil {
		return
	}
	if v := getenv(EnvAPIKeys); v != "" {
		c.HTTP.APIKeys = splitList(v)
	}
	if v := getenv(EnvAdminKeys); v != "" {
		c.HTTP.AdminKeys = splitList(v)
	}
	if v := getenv(EnvStorePassword); v != "" {
		c.Store.Password = v
	}
	if v := getenv(EnvHMACKey); v != "" {
		c.Privacy.HMACKeyHex = v
	}
	if v := getenv(EnvEncryptionKey); v != "" {
		c.Privacy.EncryptionKeyHex = v
	}
	if v := getenv(EnvResultTokenKey); v != "" {
		c.HTTP.ResultTokenKeyHex = v
	}
	if v := getenv(EnvOldEncryptionKeys); v != "" {
		c.Privacy.OldEncryptionKeysHex = splitList(v)
	}
	for i := range c.Trunks {
		if v := getenv(TrunkPasswordEnv(c.Trunks[i].Name)); v != "" {
			c.Trunks[i].Password = v
		}
	}
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
