package dialer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ringproof/ringproof/conf"
)

// DefaultRouteName names the default route in metrics and errors.
const DefaultRouteName = "default"

// route is where calls to numbers of one prefix go: its trunks, tried
// group by group, and the caller-ID pool they are presented from.
type route struct {
	name     string // the prefix, or DefaultRouteName
	prefix   string // "" for the default route
	groups   [][]*trunk
	pool     *Pool
	textFrom string // sender of texts on this route, E.164
}

// routes finds the route of a number: the longest matching prefix, else
// the default route. It is immutable once built.
type routes struct {
	byPrefix []*route // longest prefix first
	def      *route
}

// lookup returns the route of number (E.164 with '+').
func (rs *routes) lookup(number string) *route {
	for _, r := range rs.byPrefix {
		if strings.HasPrefix(number, r.prefix) {
			return r
		}
	}
	return rs.def
}

// all returns every route, the default one last.
func (rs *routes) all() []*route { return append(slices.Clone(rs.byPrefix), rs.def) }

// buildRoutes makes the routes of c over trunks (by name), with pools
// made by pool from a list of ranges (nil for the global callers, which
// it makes once).
func buildRoutes(c *conf.Config, trunks map[string]*trunk, pool func(name string, callers []string) (*Pool, string, error)) (*routes, error) {
	mk := func(name, prefix string, groups []conf.TrunkGroup, callers []string) (*route, error) {
		r := &route{name: name, prefix: prefix}
		for _, g := range c.RouteTrunks(groups) {
			var group []*trunk
			for _, n := range g {
				t, ok := trunks[n]
				if !ok {
					return nil, fmt.Errorf("dialer: route %s: no trunk %q", name, n)
				}
				group = append(group, t)
			}
			r.groups = append(r.groups, group)
		}
		var err error
		if r.pool, r.textFrom, err = pool(name, callers); err != nil {
			return nil, err
		}
		return r, nil
	}
	rs := &routes{}
	for _, cr := range c.Routes {
		r, err := mk(cr.Prefix, cr.Prefix, cr.Trunks, cr.Callers)
		if err != nil {
			return nil, err
		}
		rs.byPrefix = append(rs.byPrefix, r)
	}
	slices.SortStableFunc(rs.byPrefix, func(a, b *route) int { return cmp.Compare(len(b.prefix), len(a.prefix)) })
	var err error
	rs.def, err = mk(DefaultRouteName, "", c.DefaultRoute.Trunks, c.DefaultRoute.Callers)
	return rs, err
}

// order returns the route's trunks in the order a call tries them: group
// by group, the trunks of a group in a random order where a trunk comes
// first with a chance in proportion to its weight (and so on for the
// rest). intN(n) returns a number in [0, n).
func (r *route) order(intN func(int) int) []*trunk {
	var out []*trunk
	for _, g := range r.groups {
		rest := slices.Clone(g)
		for len(rest) > 0 {
			total := 0
			for _, t := range rest {
				total += t.weight
			}
			pick, i := intN(total), 0
			for pick >= rest[i].weight {
				pick -= rest[i].weight
				i++
			}
			out = append(out, rest[i])
			rest = slices.Delete(rest, i, i+1)
		}
	}
	return out
}

// hasTrunkUp reports whether any trunk of the route is up.
func (r *route) hasTrunkUp() bool {
	for _, g := range r.groups {
		for _, t := range g {
			if t.up() {
				return true
			}
		}
	}
	return false
}
