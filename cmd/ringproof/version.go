package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Set at link time where the build has no version control information
// (a container build without .git): -ldflags "-X main.commit=<hash>
// -X main.version=<tag>". debug.ReadBuildInfo wins when it knows better.
var (
	version = ""
	commit  = ""
)

// build describes the running binary, for --version, the ready log line,
// the cluster registry and ringproof_build_info.
type build struct {
	// Version is the module version: a tag (v1.2.0) or pseudo-version
	// with go install, a version derived from the commit with go build in
	// a git checkout, "(devel)" when the build knew neither.
	Version string
	// Commit is the VCS revision, "" if unknown; Modified says the work
	// tree had changes not committed.
	Commit   string
	Modified bool
	// Go is the Go version that built it.
	Go string
}

// readBuild reads the binary's build information, as go build and go
// install stamp it (and the link-time variables above, where it has none).
func readBuild() build {
	bi, _ := debug.ReadBuildInfo()
	return buildFrom(bi)
}

// buildFrom is readBuild on bi (nil when the binary has none).
func buildFrom(bi *debug.BuildInfo) build {
	b := build{Version: "(devel)"}
	if bi != nil {
		b.Go = bi.GoVersion
		if v := bi.Main.Version; v != "" {
			b.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "(devel)" && version != "" {
		b.Version = version
	}
	if b.Commit == "" {
		b.Commit = commit
	}
	if b.Commit == "" {
		// A pseudo-version (go install module@commit) ends with the
		// commit's first 12 hex digits: v0.0.0-20261202073000-2c1b95f1a2b3.
		v := strings.TrimSuffix(b.Version, "+dirty")
		if i := strings.LastIndexByte(v, '-'); i > 0 && len(v)-i-1 == 12 && isHex(v[i+1:]) {
			b.Commit = v[i+1:]
		}
	}
	return b
}

func isHex(s string) bool {
	return strings.Trim(s, "0123456789abcdef") == ""
}

// String is the --version line: "v1.2.0 (commit 2c1b95f1a2b3…, go1.26.8)".
func (b build) String() string {
	c := b.Commit
	switch {
	case c == "":
		c = "commit unknown: built without version control information"
	case b.Modified:
		c = "commit " + c + " with changes not committed"
	default:
		c = "commit " + c
	}
	if b.Go != "" {
		c += ", " + b.Go
	}
	return fmt.Sprintf("%s (%s)", b.Version, c)
}

// short is the version for logs and the cluster registry: the version,
// and the commit's first 12 digits when the version does not hold them.
func (b build) short() string {
	c := b.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if c == "" || strings.Contains(b.Version, c) {
		return b.Version
	}
	return b.Version + "+" + c
}
