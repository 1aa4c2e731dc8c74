package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeRefusesABadConfigBeforeOpeningPorts(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantKeys   []string
	}{
		{"bad values", "http:\n  listen: 127.0.0.1\nflashcall:\n  code_length: 9\n", []string{"http.listen", "flashcall.code_length"}},
		{"unknown key", "sip:\n  listn: 127.0.0.1:5060\n", []string{"sip.listn"}},
		{"bad caller range", "callers: [\"+4420x\"]\n", []string{"callers[0]"}},
		{"not yaml", "http: [\n", []string{"line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ringproof.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			t.Chdir(dir)
			var stderr bytes.Buffer
			code := run(context.Background(), []string{"serve", "--config", path}, &bytes.Buffer{}, &stderr)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			for _, k := range tt.wantKeys {
				if !strings.Contains(stderr.String(), k) {
					t.Errorf("error does not name %q:\n%s", k, stderr.String())
				}
			}
			// Nothing was started: no data directory was made.
			if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
				t.Errorf("a data directory was created: %v", err)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage") {
		t.Fatalf("no args: %d %q", code, errOut.String())
	}
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errOut); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}
	if code := run(context.Background(), []string{"serve", "--nope"}, &out, &errOut); code != 2 {
		t.Fatalf("unknown flag: %d", code)
	}
	out.Reset()
	if code := run(context.Background(), []string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "ringproof ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
}
