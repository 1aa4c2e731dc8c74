package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "2c1b95f1a2b3c4d5e6f708192a3b4c5d6e7f8091"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"go install of a tag", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}},
			"v1.2.0 (commit unknown: built without version control information, go1.26.8)"},
		{"go install of a commit", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261202073000-2c1b95f1a2b3"}},
			"v0.0.0-20261202073000-2c1b95f1a2b3 (commit 2c1b95f1a2b3, go1.26.8)"},
		{"go build in a checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261202073000-2c1b95f1a2b3"}, Settings: vcs(rev, "false")},
			"v0.0.0-20261202073000-2c1b95f1a2b3 (commit " + rev + ", go1.26.8)"},
		{"go build with changes", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261202073000-2c1b95f1a2b3+dirty"}, Settings: vcs(rev, "true")},
			"v0.0.0-20261202073000-2c1b95f1a2b3+dirty (commit " + rev + " with changes not committed, go1.26.8)"},
		{"go build without version control", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"(devel) (commit unknown: built without version control information, go1.26.8)"},
		{"no build information", nil, "(devel) (commit unknown: built without version control information)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := buildFrom(tt.bi).String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	b := buildFrom(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")})
	if got := b.short(); got != "(devel)+2c1b95f1a2b3" {
		t.Errorf("short = %q", got)
	}
	if got := buildFrom(tests[2].bi).short(); strings.Count(got, "2c1b95f1a2b3") != 1 {
		t.Errorf("short = %q: the commit twice", got)
	}
}
