package conf

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// PublishableKey is a key that web pages hold: the widget sends it from
// the user's browser, so it is no secret. It may only create
// verifications by Methods, from pages on Origins, limited per client IP,
// and check, hang up and follow the verifications it created.
type PublishableKey struct {
	// Key is the token the page sends as "Authorization: Bearer <key>".
	// Required; no spaces; not an API or admin key, nor another
	// publishable key. A prefix such as pk_ helps people tell it apart.
	Key string `yaml:"key"`
	// Origins are the pages allowed to use the key: exact
	// scheme://host[:port] values, as browsers send them in Origin (no
	// path, no trailing slash, no wildcard). At least one.
	Origins []string `yaml:"origins"`
	// Methods the key may create verifications (and fallbacks) with.
	// Default [flashcall]: the flash call is never answered, so it costs
	// nothing; methods that cost money (sms, voice) are the operator's
	// choice.
	Methods []string `yaml:"methods"`
	// Service is the service the key belongs to (services[].name, or
	// "default"): its verifications are that service's. Default empty:
	// the implicit service, default.
	Service string `yaml:"service"`
	// PerIPPerMinute is each client IP's budget of requests with the key:
	// this many at once, refilled at this many a minute, across the
	// cluster. Default 20; 1 to 10000.
	PerIPPerMinute int `yaml:"per_ip_per_minute"`
}

// Defaults of a publishable key's fields.
const defaultPublishablePerIP = 20

// defaultPublishableMethods is the method a publishable key allows when
// its configuration names none.
var defaultPublishableMethods = []string{"flashcall"}

// verificationMethods are the method names the verify package serves.
// conf does not import verify; verify's tests check the two agree.
var verificationMethods = []string{"flashcall", "inbound_missed", "voice", "inbound_voice", "keypad_out", "keypad_in", "sms"}

// VerificationMethods returns the names of the verification methods, for
// verify's test that this list is complete.
func VerificationMethods() []string { return slices.Clone(verificationMethods) }

// fillPublishableDefaults gives k the defaults for fields a file left
// out: the methods when none are listed, per_ip_per_minute when the key
// was absent (an explicit 0 is kept, for Validate to refuse).
func fillPublishableDefaults(k *PublishableKey, hasPerIP bool) {
	if len(k.Methods) == 0 {
		k.Methods = slices.Clone(defaultPublishableMethods)
	}
	if !hasPerIP {
		k.PerIPPerMinute = defaultPublishablePerIP
	}
}

// ResultTokenKey returns http.result_token_key decoded from hex, or nil,
// nil if it is empty. The error is a *FieldError that never shows the key.
func (h HTTP) ResultTokenKey() ([]byte, error) {
	return decodeKey("http.result_token_key", h.ResultTokenKeyHex, minHMACKeyBytes, 0)
}

// validateWidget checks the keys for web pages: publishable keys, CORS
// origins, the result-token key and the demo page.
func (c *Config) validateWidget(v *validator) {
	h := &c.HTTP
	keys := map[string]string{} // key -> where it is set already
	for i, k := range h.APIKeys {
		keys[k] = "http.api_keys[" + strconv.Itoa(i) + "]"
	}
	for i, k := range h.AdminKeys {
		keys[k.Key] = "http.admin_keys[" + strconv.Itoa(i) + "]"
	}
	for i, pk := range h.PublishableKeys {
		at := "http.publishable_keys[" + strconv.Itoa(i) + "]"
		if p := bearerProblem(pk.Key); p != "" {
			v.add(at+".key", "%s", p)
		} else if other, dup := keys[pk.Key]; dup {
			v.add(at+".key", "is also %s; a publishable key is public and must be a key of its own", other)
		} else {
			keys[pk.Key] = at + ".key"
		}
		if len(pk.Origins) == 0 {
			v.add(at+".origins", "at least one origin is required: the pages (scheme://host[:port]) that may use the key")
		}
		for j, o := range pk.Origins {
			v.check(at+".origins["+strconv.Itoa(j)+"]", originProblem(o))
		}
		for j, m := range pk.Methods {
			if !slices.Contains(verificationMethods, m) {
				v.add(at+".methods["+strconv.Itoa(j)+"]", "%q is not a method; methods: %s", m, strings.Join(verificationMethods, ", "))
			}
		}
		if pk.Service != "" && (len(pk.Service) > 64 || strings.ContainsFunc(pk.Service, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		})) {
			v.add(at+".service", "%q is not a service name: letters, digits, - and _, at most 64", pk.Service)
		}
		v.between(at+".per_ip_per_minute", int64(pk.PerIPPerMinute), 1, 10000)
	}
	for i, o := range h.CORSOrigins {
		v.check("http.cors_origins["+strconv.Itoa(i)+"]", originProblem(o))
	}
	switch {
	case h.ResultTokenKeyHex != "":
		v.check("http.result_token_key", keyProblem(h.ResultTokenKeyHex, minHMACKeyBytes, 0))
	case len(c.Store.Endpoints) > 0 && len(h.PublishableKeys) > 0:
		v.add("http.result_token_key", "is required with publishable keys and an external etcd cluster (store.endpoints): every node must share it; set it or %s", EnvResultTokenKey)
	}
	if h.Demo && len(h.PublishableKeys) == 0 {
		v.add("http.demo", "needs a publishable key (http.publishable_keys) whose origins hold the address the demo page is opened at, such as http://127.0.0.1:8080")
	}
}

// originProblem returns what is wrong with a web origin as a browser
// sends it in the Origin header: "scheme://host[:port]", http or https,
// lower case, no path, query, user or trailing slash.
func originProblem(o string) string {
	u, err := url.Parse(o)
	switch {
	case o == "":
		return "is empty"
	case o == "*" || strings.Contains(o, "*"):
		return "wildcards are not allowed: list each origin exactly"
	case err != nil || u.Host == "" || u.Opaque != "":
		return strconv.Quote(o) + " is not an origin: want scheme://host[:port], such as https://app.example"
	case u.Scheme != "http" && u.Scheme != "https":
		return strconv.Quote(o) + ": the scheme must be http or https"
	case u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
		return strconv.Quote(o) + " is not an origin: no path, query or trailing slash (browsers send scheme://host[:port])"
	case o != strings.ToLower(o):
		return strconv.Quote(o) + " has capitals; browsers send origins in lower case"
	case strings.HasSuffix(o, ":80") && u.Scheme == "http", strings.HasSuffix(o, ":443") && u.Scheme == "https":
		return strconv.Quote(o) + " names the scheme's default port, which browsers leave out"
	}
	return ""
}
