package dialer

import "testing"

func TestHealthTransitions(t *testing.T) {
	type step struct {
		ping, reg *bool // what happened, if anything
		want      TrunkState
	}
	yes, no := new(bool), new(bool)
	*yes = true
	tests := []struct {
		name     string
		register bool
		steps    []step
	}{
		{"pings answered stay up", false, []step{{ping: yes, want: TrunkUp}, {ping: yes, want: TrunkUp}}},
		{"two misses stay up", false, []step{{ping: no, want: TrunkUp}, {ping: no, want: TrunkUp}, {ping: yes, want: TrunkUp}, {ping: no, want: TrunkUp}}},
		{"three misses in a row go down", false, []step{{ping: no, want: TrunkUp}, {ping: no, want: TrunkUp}, {ping: no, want: TrunkDown}, {ping: no, want: TrunkDown}}},
		{"one answer brings it back", false, []step{{ping: no}, {ping: no}, {ping: no, want: TrunkDown}, {ping: yes, want: TrunkUp}}},
		{"registered trunk starts unregistered", true, []step{{ping: yes, want: TrunkUnregistered}, {reg: yes, want: TrunkUp}}},
		{"losing the registration", true, []step{{reg: yes, want: TrunkUp}, {reg: no, want: TrunkUnregistered}, {reg: yes, want: TrunkUp}}},
		{"unregistered outranks down", true, []step{{ping: no}, {ping: no}, {ping: no, want: TrunkUnregistered}, {reg: yes, want: TrunkDown}, {ping: yes, want: TrunkUp}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := health{needsRegistration: tt.register}
			for i, s := range tt.steps {
				if s.ping != nil {
					h.pinged(*s.ping)
				}
				if s.reg != nil {
					h.registration(*s.reg)
				}
				if s.want != "" && h.state() != s.want {
					t.Fatalf("after step %d: %s, want %s", i, h.state(), s.want)
				}
			}
		})
	}
}
