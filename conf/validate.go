package conf

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// FieldError is one problem with one configuration key. Key is the key's
// path as written in YAML ("trunks[0].address", "callers[1]"); Problem says
// what is wrong, quoting the offending value unless it is a secret.
type FieldError struct {
	Key, Problem string
}

// Error returns "key: problem".
func (e *FieldError) Error() string {
	if e.Key == "" {
		return e.Problem
	}
	return e.Key + ": " + e.Problem
}

// FieldErrors returns every *FieldError in err's tree (errors joined with
// errors.Join, wrapped with %w), in order. errors.As finds only the first.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *FieldError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// joinFieldErrors joins problems with errors.Join, or returns nil if there
// are none.
func joinFieldErrors(problems []*FieldError) error {
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// Validate checks c as a whole and returns nil if ringproof can run with
// it. Otherwise it returns every problem it found, joined with errors.Join,
// each a *FieldError naming the key (use FieldErrors, or errors.As for the
// first). Validate does not fill in defaults or read the environment; Load
// does both before calling it. Secret values (passwords, API keys) never
// appear in its errors.
func (c *Config) Validate() error {
	v := &validator{}
	c.validateHTTP(v)
	c.validateSIP(v)
	c.validateStore(v)
	c.validateTrunks(v)
	c.validateCallers(v)
	c.validateFlashCall(v)
	c.validateVerification(v)
	c.validateLog(v)
	return joinFieldErrors(v.problems)
}

// validator collects problems in the order they are found.
type validator struct {
	problems []*FieldError
}

func (v *validator) add(key, format string, args ...any) {
	v.problems = append(v.problems, &FieldError{Key: key, Problem: fmt.Sprintf(format, args...)})
}

// check adds problem for key unless it is empty.
func (v *validator) check(key, problem string) {
	if problem != "" {
		v.add(key, "%s", problem)
	}
}

// between adds a problem if n is outside lo..hi.
func (v *validator) between(key string, n, lo, hi int64) {
	if n < lo || n > hi {
		v.add(key, "%d is out of range %d..%d", n, lo, hi)
	}
}

// atLeast adds a problem if n is below lo.
func (v *validator) atLeast(key string, n, lo int64) {
	if n < lo {
		v.add(key, "%d is below the minimum %d", n, lo)
	}
}

// oneOf adds a problem if s is not one of allowed.
func (v *validator) oneOf(key, s string, allowed ...string) {
	if !slices.Contains(allowed, s) {
		v.add(key, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
}

func (c *Config) validateHTTP(v *validator) {
	v.check("http.listen", checkListen(c.HTTP.Listen, false))
	if len(c.HTTP.APIKeys) == 0 {
		v.add("http.api_keys", "at least one key is required (or set %s)", EnvAPIKeys)
	}
	for i, k := range c.HTTP.APIKeys {
		key := "http.api_keys[" + strconv.Itoa(i) + "]"
		switch {
		case k == "":
			v.add(key, "is empty")
		case strings.ContainsFunc(k, unicode.IsSpace) || hasControl(k):
			// Not quoted: it is a secret.
			v.add(key, "contains a space or control character")
		}
	}
	v.atLeast("http.max_body_bytes", c.HTTP.MaxBodyBytes, 1)
}

func (c *Config) validateSIP(v *validator) {
	v.check("sip.listen", checkListen(c.SIP.Listen, true))
	v.atLeast("sip.udp_read_buffer", int64(c.SIP.UDPReadBuffer), 0)
	if hasControl(c.SIP.UserAgent) {
		v.add("sip.user_agent", "%q contains a control character", c.SIP.UserAgent)
	}
}

func (c *Config) validateStore(v *validator) {
	s := &c.Store
	for i, e := range s.Endpoints {
		v.check("store.endpoints["+strconv.Itoa(i)+"]", checkEndpoint(e))
	}
	if len(s.Endpoints) == 0 && s.DataDir == "" {
		v.add("store.data_dir", "is required when store.endpoints is empty (embedded etcd)")
	}
	if s.Prefix == "" {
		v.add("store.prefix", "is empty; ringproof would write at the root of the key space")
	}
	v.atLeast("store.dial_timeout_s", int64(s.DialTimeoutS), 1)
	v.atLeast("store.request_timeout_s", int64(s.RequestTimeoutS), 1)
	v.check("store.client_url", checkBindURL(s.ClientURL))
	v.check("store.peer_url", checkBindURL(s.PeerURL))
}

func (c *Config) validateTrunks(v *validator) {
	if len(c.Trunks) == 0 {
		v.add("trunks", "at least one trunk is required")
	}
	byName := map[string]int{} // name -> index of first trunk with it
	byEnv := map[string]int{}  // password variable -> index of first trunk with it
	for i, t := range c.Trunks {
		key := "trunks[" + strconv.Itoa(i) + "]"
		switch j, dup := byName[t.Name]; {
		case t.Name == "":
			v.add(key+".name", "is required")
		case dup:
			v.add(key+".name", "%q is also the name of trunks[%d]", t.Name, j)
		default:
			byName[t.Name] = i
			env := TrunkPasswordEnv(t.Name)
			if j, clash := byEnv[env]; clash {
				v.add(key+".name", "%q and trunks[%d] %q share the password variable %s; rename one",
					t.Name, j, c.Trunks[j].Name, env)
			} else {
				byEnv[env] = i
			}
		}
		v.check(key+".address", checkHostPort(t.Address))
		switch t.Transport {
		case "udp", "tcp":
		case "tls":
			v.add(key+".transport", "%q is not supported yet; use udp or tcp", t.Transport)
		default:
			v.add(key+".transport", "%q is not one of udp, tcp", t.Transport)
		}
		if hasControl(t.Username) {
			v.add(key+".username", "%q contains a control character", t.Username)
		}
		if t.Username != "" && t.Password == "" {
			v.add(key+".password", "is required when username is set (or set %s)", TrunkPasswordEnv(t.Name))
		}
		v.atLeast(key+".max_cps", int64(t.MaxCPS), 1)
		if t.Domain != "" && !validHost(t.Domain) {
			v.add(key+".domain", "%q is not an IP address or DNS name", t.Domain)
		}
	}
}

func (c *Config) validateCallers(v *validator) {
	if len(c.Callers) == 0 {
		v.add("callers", "at least one number range is required")
	}
	type parsed struct {
		i int
		r NumberRange
	}
	var ok []parsed
	for i, s := range c.Callers {
		key := "callers[" + strconv.Itoa(i) + "]"
		r, err := ParseRange(s)
		if err != nil {
			v.add(key, "%v", err)
			continue
		}
		if r.Digits <= c.FlashCall.CodeLength {
			v.add(key, "%q has %d digits; a caller ID needs more than flashcall.code_length (%d)",
				s, r.Digits, c.FlashCall.CodeLength)
		}
		ok = append(ok, parsed{i, r})
	}
	// Sorted by start, a range overlaps an earlier one exactly when it
	// starts at or before the furthest end seen so far.
	slices.SortStableFunc(ok, func(a, b parsed) int { return cmp.Compare(a.r.Start, b.r.Start) })
	var furthest parsed
	for n, p := range ok {
		if n > 0 && p.r.Start <= furthest.r.End {
			first, second := furthest, p
			if first.i > second.i {
				first, second = second, first
			}
			v.add("callers["+strconv.Itoa(second.i)+"]", "%q overlaps callers[%d] %q",
				c.Callers[second.i], first.i, c.Callers[first.i])
		}
		if n == 0 || p.r.End > furthest.r.End {
			furthest = p
		}
	}
}

func (c *Config) validateFlashCall(v *validator) {
	f := &c.FlashCall
	v.between("flashcall.code_length", int64(f.CodeLength), 3, 6)
	v.between("flashcall.ring_ms", int64(f.RingMS), 0, 60000)
	v.between("flashcall.timeout_s", int64(f.TimeoutS), 1, 120)
	v.atLeast("flashcall.cooldown_s", int64(f.CooldownS), 0)
}

func (c *Config) validateVerification(v *validator) {
	r := &c.Verification
	v.between("verification.expiry_s", int64(r.ExpiryS), 30, 86400)
	v.between("verification.max_attempts", int64(r.MaxAttempts), 1, 10)
	v.atLeast("verification.max_per_number_per_hour", int64(r.MaxPerNumberPerHour), 1)
}

func (c *Config) validateLog(v *validator) {
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")
}
