package conf

import (
	"reflect"
	"strings"
	"testing"
)

// routesYAML has three trunks, two routes (one with a shared first place)
// and a default route.
const routesYAML = `
trunks:
  - name: us-a
    address: 10.0.0.1:5060
    weight: 3
  - name: us-b
    address: 10.0.0.2:5060
    failover_on: [503, timeout]
    response_timeout_s: 2
  - name: uk
    address: 10.0.0.3:5060
    failover_on: []
routes:
  - prefix: "+1"
    trunks: [[us-a, us-b], uk]
    callers: ["+12025550100-+12025550199"]
  - prefix: "+44"
    trunks: [uk]
default_route:
  trunks: [uk, us-a]
`

func TestParseRoutes(t *testing.T) {
	c, err := Parse([]byte(routesYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{Prefix: "+1", Trunks: []TrunkGroup{{"us-a", "us-b"}, {"uk"}}, Callers: []string{"+12025550100-+12025550199"}},
		{Prefix: "+44", Trunks: []TrunkGroup{{"uk"}}},
	}
	if !reflect.DeepEqual(c.Routes, want) {
		t.Errorf("routes = %#v\nwant %#v", c.Routes, want)
	}
	if got := c.DefaultRoute.Trunks; !reflect.DeepEqual(got, []TrunkGroup{{"uk"}, {"us-a"}}) {
		t.Errorf("default_route.trunks = %v", got)
	}
	a, b, uk := c.Trunks[0], c.Trunks[1], c.Trunks[2]
	if a.Weight != 3 || b.Weight != 1 || a.ResponseTimeoutS != 5 || b.ResponseTimeoutS != 2 {
		t.Errorf("weights %d %d, response timeouts %d %d", a.Weight, b.Weight, a.ResponseTimeoutS, b.ResponseTimeoutS)
	}
	if !reflect.DeepEqual(b.FailoverStatuses(), []int{503}) || !b.FailoverTimeout() {
		t.Errorf("us-b failover_on %q: statuses %v, timeout %v", b.FailoverOn, b.FailoverStatuses(), b.FailoverTimeout())
	}
	if !reflect.DeepEqual(a.FailoverStatuses(), []int{408, 480, 500, 502, 503, 504}) || !a.FailoverTimeout() {
		t.Errorf("us-a default failover_on %q", a.FailoverOn)
	}
	if uk.FailoverOn != nil || uk.FailoverTimeout() {
		t.Errorf("uk failover_on: [] = %#v, want none", uk.FailoverOn)
	}
}

func TestOldConfigsTakeADefaultRouteOfAllTrunks(t *testing.T) {
	c, err := Parse([]byte("trunks:\n  - name: a\n    address: 10.0.0.1:5060\n  - name: b\n    address: 10.0.0.2:5060\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Routes != nil || c.DefaultRoute.Trunks != nil {
		t.Fatalf("routes %v, default route %v; want none", c.Routes, c.DefaultRoute)
	}
	if got := c.RouteTrunks(c.DefaultRoute.Trunks); !reflect.DeepEqual(got, []TrunkGroup{{"a"}, {"b"}}) {
		t.Errorf("default route trunks = %v, want every trunk in order", got)
	}
}

func TestRoutesRejected(t *testing.T) {
	tests := []struct {
		name, yaml, key, problem string
	}{
		{"unknown trunk", `routes: [{prefix: "+1", trunks: [nope]}]`, "routes[0].trunks[0]", `"nope" is not the name of a trunk`},
		{"unknown trunk in a group", `routes: [{prefix: "+1", trunks: [[carrier1, nope]]}]`, "routes[0].trunks[0][1]", `"nope" is not the name of a trunk`},
		{"trunk twice", `routes: [{prefix: "+1", trunks: [carrier1, [carrier1]]}]`, "routes[0].trunks[1]", "a route tries a trunk once"},
		{"no trunks", `routes: [{prefix: "+1"}]`, "routes[0].trunks", "at least one trunk"},
		{"empty group", `routes: [{prefix: "+1", trunks: [[]]}]`, "routes[0].trunks[0]", "empty list"},
		{"prefix without plus", `routes: [{prefix: "44", trunks: [carrier1]}]`, "routes[0].prefix", "is not '+' and 1 to 15 digits"},
		{"prefix with a letter", `routes: [{prefix: "+4x", trunks: [carrier1]}]`, "routes[0].prefix", "is not '+'"},
		{"prefix zero", `routes: [{prefix: "+0", trunks: [carrier1]}]`, "routes[0].prefix", "the first not 0"},
		{"prefix twice", `routes: [{prefix: "+1", trunks: [carrier1]}, {prefix: "+1", trunks: [carrier1]}]`, "routes[1].prefix", "also the prefix of routes[0]"},
		{"route callers too short", `routes: [{prefix: "+1", trunks: [carrier1], callers: ["+1202"]}]`, "routes[0].callers[0]", "not an E.164 number"},
		{"route callers overlap", `routes: [{prefix: "+1", trunks: [carrier1], callers: ["+12025550100-+12025550199", "+12025550150"]}]`, "routes[0].callers[1]", "overlaps"},
		{"default route unknown trunk", `default_route: {trunks: [other]}`, "default_route.trunks[0]", "is not the name of a trunk"},
		{"group of the wrong kind", `routes: [{prefix: "+1", trunks: [{name: carrier1}]}]`, "routes[0].trunks[0]", "want a list"},
		{"weight zero", "trunks: [{name: a, address: 10.0.0.1:5060, weight: 0}]", "trunks[0].weight", "out of range 1..1000"},
		{"response timeout too long", "trunks: [{name: a, address: 10.0.0.1:5060, response_timeout_s: 33}]", "trunks[0].response_timeout_s", "out of range 1..32"},
		{"failover on a success", "trunks: [{name: a, address: 10.0.0.1:5060, failover_on: [200]}]", "trunks[0].failover_on[0]", "not a final status 400 to 699 nor timeout"},
		{"failover on a word", "trunks: [{name: a, address: 10.0.0.1:5060, failover_on: [busy]}]", "trunks[0].failover_on[0]", `"busy"`},
		{"failover twice", "trunks: [{name: a, address: 10.0.0.1:5060, failover_on: [503, \"503\"]}]", "trunks[0].failover_on[1]", "also failover_on[0]"},
		{"no callers anywhere", "callers: []", "callers", "at least one number range is required"},
		{"register without credentials", "trunks: [{name: a, address: 10.0.0.1:5060, register: true}]", "trunks[0].register", "needs username and password"},
		{"register expiry too short", "trunks: [{name: a, address: 10.0.0.1:5060, register_expires_s: 30}]", "trunks[0].register_expires_s", "out of range 60..86400"},
		{"srtp over udp", "trunks: [{name: a, address: 10.0.0.1:5060, srtp: sdes}]", "trunks[0].srtp", "needs transport tls"},
		{"srtp of another kind", "trunks: [{name: a, address: 10.0.0.1:5060, srtp: dtls}]", "trunks[0].srtp", `"dtls" is not empty or sdes`},
		{"negative ping interval", "trunks: [{name: a, address: 10.0.0.1:5060, options_ping_s: -1}]", "trunks[0].options_ping_s", "out of range 0..3600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), nil)
			for _, fe := range FieldErrors(err) {
				if fe.Key == tt.key && strings.Contains(fe.Problem, tt.problem) {
					return
				}
			}
			t.Fatalf("Parse error = %v\nwant a problem at %s containing %q", err, tt.key, tt.problem)
		})
	}
}

func TestRoutePoolsMakeGlobalCallersOptional(t *testing.T) {
	yaml := "callers: []\n" +
		"routes: [{prefix: \"+1\", trunks: [carrier1], callers: [\"+12025550100-+12025550199\"]}]\n" +
		"default_route: {callers: [\"+442079460000-+442079469999\"]}\n"
	if _, err := Parse([]byte(yaml), nil); err != nil {
		t.Fatalf("every route with its own callers: %v", err)
	}
}
