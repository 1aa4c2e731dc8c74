package conf

import (
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Route sends the calls and texts to numbers that start with Prefix over
// its own trunks, presenting caller IDs from its own pool. The route with
// the longest matching prefix wins; a number no route matches takes the
// default route.
type Route struct {
	// Prefix is '+' and 1 to 15 digits ("+1", "+44", "+4479"). Required;
	// no two routes share one.
	Prefix string `yaml:"prefix"`
	// Trunks are the trunks to try, in order: a call moves on to the next
	// one when a trunk is down, over its max_cps, or fails before ringing
	// in a way its failover_on names. An element that is a list holds
	// trunks that share one place: each call tries them in a random order
	// weighted by their weight. At least one.
	Trunks []TrunkGroup `yaml:"trunks"`
	// Callers is the route's caller-ID pool, written as the global
	// callers are. Empty: the global callers.
	Callers []string `yaml:"callers"`
}

// DefaultRoute is the route of numbers that no route's prefix matches.
type DefaultRoute struct {
	// Trunks are tried as a Route's are. Empty: every trunk, in the
	// order of trunks.
	Trunks []TrunkGroup `yaml:"trunks"`
	// Callers is the default route's caller-ID pool. Empty: the global
	// callers.
	Callers []string `yaml:"callers"`
}

// TrunkGroup is one place in a route's list of trunks: written as a
// trunk's name, or as a list of names that share the place by weight
// ("[us-a, us-b]").
type TrunkGroup []string

// UnmarshalYAML reads a name or a list of names.
func (g *TrunkGroup) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var name string
		if err := n.Decode(&name); err != nil {
			return err
		}
		*g = TrunkGroup{name}
		return nil
	}
	var names []string
	if err := n.Decode(&names); err != nil {
		return err
	}
	*g = names
	return nil
}

// UnmarshalText reads a group from an environment variable: names joined
// by '|' ("us-a|us-b"), as a route's trunks are written there
// ("RINGPROOF_ROUTES_0_TRUNKS=us-a|us-b,us-backup").
func (g *TrunkGroup) UnmarshalText(text []byte) error {
	var names TrunkGroup
	for n := range strings.SplitSeq(string(text), "|") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	*g = names
	return nil
}

// scalarOrList marks a list type that may also be written as a single
// scalar, for the schema walk.
func (TrunkGroup) scalarOrList() {}

// RouteTrunks returns the trunks of route as the dialer tries them: the
// groups of r, or, for the default route with no trunks, every trunk in
// order, each in a group of its own.
func (c *Config) RouteTrunks(groups []TrunkGroup) []TrunkGroup {
	if len(groups) > 0 {
		return groups
	}
	out := make([]TrunkGroup, len(c.Trunks))
	for i, t := range c.Trunks {
		out[i] = TrunkGroup{t.Name}
	}
	return out
}

// FailoverTimeout reports whether failover_on holds "timeout".
func (t Trunk) FailoverTimeout() bool { return slices.Contains(t.FailoverOn, "timeout") }

// FailoverStatuses returns the statuses of failover_on. It is meant for a
// Trunk that passed Validate; elements that are not statuses are skipped.
func (t Trunk) FailoverStatuses() []int {
	var out []int
	for _, s := range t.FailoverOn {
		if n, err := strconv.Atoi(s); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// validateTrunkRouting checks the keys of trunks[i] that routing and the
// trunk's state use.
func (v *validator) validateTrunkRouting(key string, t Trunk) {
	v.between(key+".weight", int64(t.Weight), 1, 1000)
	v.between(key+".response_timeout_s", int64(t.ResponseTimeoutS), 1, 32)
	v.between(key+".register_expires_s", int64(t.RegisterExpiresS), 60, 86400)
	v.between(key+".options_ping_s", int64(t.OptionsPingS), 0, 3600)
	switch {
	case t.SRTP == "":
	case t.SRTP != "sdes":
		v.add(key+".srtp", "%q is not empty or sdes", t.SRTP)
	case t.Transport != "tls":
		v.add(key+".srtp", "sdes needs transport tls: its keys travel in the SDP, which only TLS keeps private")
	}
	if t.Register && (t.Username == "" || t.Password == "") {
		v.add(key+".register", "needs username and password: the address of record and the credentials of the registration (the password may come from %s)", TrunkPasswordEnv(t.Name))
	}

	seen := map[string]int{}
	for j, s := range t.FailoverOn {
		k := key + ".failover_on[" + strconv.Itoa(j) + "]"
		if s != "timeout" {
			n, err := strconv.Atoi(s)
			if err != nil || !allDigits(s) || n < 400 || n > 699 {
				v.add(k, "%q is not a final status 400 to 699 nor timeout", s)
				continue
			}
		}
		if first, dup := seen[s]; dup {
			v.add(k, "%q is also failover_on[%d]", s, first)
		}
		seen[s] = j
	}
}

func (c *Config) validateRoutes(v *validator) {
	names := map[string]bool{}
	for _, t := range c.Trunks {
		names[t.Name] = true
	}
	prefixes := map[string]int{}
	for i, r := range c.Routes {
		key := "routes[" + strconv.Itoa(i) + "]"
		switch j, dup := prefixes[r.Prefix]; {
		case !validPrefix(r.Prefix):
			v.add(key+".prefix", "%q is not '+' and 1 to 15 digits, the first not 0", r.Prefix)
		case dup:
			v.add(key+".prefix", "%q is also the prefix of routes[%d]", r.Prefix, j)
		default:
			prefixes[r.Prefix] = i
		}
		if len(r.Trunks) == 0 {
			v.add(key+".trunks", "at least one trunk is required")
		}
		v.routeTrunks(key+".trunks", r.Trunks, names)
		c.validateCallerRanges(v, key+".callers", r.Callers)
	}
	v.routeTrunks("default_route.trunks", c.DefaultRoute.Trunks, names)
	c.validateCallerRanges(v, "default_route.callers", c.DefaultRoute.Callers)
}

// routeTrunks checks a route's trunks: names of configured trunks, each at
// most once, no empty group.
func (v *validator) routeTrunks(key string, groups []TrunkGroup, names map[string]bool) {
	seen := map[string]string{}
	for i, g := range groups {
		gkey := key + "[" + strconv.Itoa(i) + "]"
		if len(g) == 0 {
			v.add(gkey, "is an empty list; name at least one trunk")
		}
		for j, name := range g {
			nkey := gkey
			if len(g) > 1 {
				nkey += "[" + strconv.Itoa(j) + "]"
			}
			switch first, dup := seen[name]; {
			case !names[name]:
				v.add(nkey, "%q is not the name of a trunk", name)
			case dup:
				v.add(nkey, "%q is also %s; a route tries a trunk once", name, first)
			default:
				seen[name] = nkey
			}
		}
	}
}

// validateCallerRanges checks a caller-ID pool at key: number ranges that
// do not overlap, each longer than the code.
func (c *Config) validateCallerRanges(v *validator, key string, list []string) {
	v.numberRanges(key, list, func(k, s string, r NumberRange) {
		if r.Digits <= c.FlashCall.CodeLength {
			v.add(k, "%q has %d digits; a caller ID needs more than flashcall.code_length (%d)",
				s, r.Digits, c.FlashCall.CodeLength)
		}
	})
}

// needsGlobalCallers reports whether some route (the default one
// included) has no pool of its own and so takes the global callers.
func (c *Config) needsGlobalCallers() bool {
	if len(c.DefaultRoute.Callers) == 0 {
		return true
	}
	for _, r := range c.Routes {
		if len(r.Callers) == 0 {
			return true
		}
	}
	return false
}

// validPrefix reports whether p is '+' and 1 to 15 digits, the first not 0.
func validPrefix(p string) bool {
	digits, ok := strings.CutPrefix(p, "+")
	return ok && len(digits) >= 1 && len(digits) <= maxE164Digits && allDigits(digits) && digits[0] != '0'
}
