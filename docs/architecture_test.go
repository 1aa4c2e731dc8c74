// Package docs holds no code: its test keeps architecture.md true. The
// arrows that architecture.md draws between ringproof's packages must be
// exactly the imports of their code (test files aside).
package docs

import (
	"bufio"
	"errors"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ringproof/ringproof/"

// documentedArrows reads the import picture of architecture.md: the
// fenced block after the line "<!-- imports -->", one package a line,
// "pkg ──▶ dep dep …" (a line that holds no arrow names a package that
// imports no other ringproof package; a line may end with a parenthesised
// comment, and "pkg, pkg ──▶ …" documents several at once).
func documentedArrows(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	arrows := map[string][]string{}
	sc := bufio.NewScanner(f)
	state := 0 // 0: before the marker, 1: before the fence, 2: in the block
	for sc.Scan() {
		line := sc.Text()
		switch {
		case state == 0 && strings.TrimSpace(line) == "<!-- imports -->":
			state = 1
		case state == 1 && strings.HasPrefix(line, "```"):
			state = 2
		case state == 2 && strings.HasPrefix(line, "```"):
			return arrows
		case state == 2:
			if i := strings.Index(line, "("); i >= 0 {
				line = line[:i]
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			from, to, _ := strings.Cut(line, "──▶")
			deps := strings.Fields(strings.ReplaceAll(to, ",", " "))
			slices.Sort(deps)
			for _, p := range strings.Split(from, ",") {
				p = strings.TrimSpace(p)
				if _, dup := arrows[p]; dup {
					t.Errorf("architecture.md names %s twice", p)
				}
				arrows[p] = deps
			}
		}
	}
	t.Fatal("architecture.md has no import picture: a fenced block after <!-- imports -->")
	return nil
}

// codeArrows returns, for every package of the module that has code, the
// module's packages its non-test files import on Linux, macOS or Windows.
func codeArrows(t *testing.T) map[string][]string {
	t.Helper()
	arrows := map[string][]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != ".." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		// The imports of every platform's files: a file built only on
		// one (udpsocket_linux.go) may import what the others do not.
		var deps []string
		code := false
		for _, goos := range []string{"linux", "darwin", "windows"} {
			bc := build.Default
			bc.GOOS = goos
			p, err := bc.ImportDir(path, 0)
			var noGo *build.NoGoError
			switch {
			case errors.As(err, &noGo):
				continue // no Go code here for goos
			case err != nil:
				t.Errorf("%s: %v", path, err) // a package the picture cannot be checked against
				return nil
			case len(p.GoFiles) == 0:
				continue // only tests
			}
			code = true
			for _, imp := range p.Imports {
				if dep, ok := strings.CutPrefix(imp, module); ok && !slices.Contains(deps, dep) {
					deps = append(deps, dep)
				}
			}
		}
		if !code {
			return nil
		}
		rel, _ := filepath.Rel("..", path)
		slices.Sort(deps)
		arrows[filepath.ToSlash(rel)] = deps
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return arrows
}

func TestArchitectureDrawsTheImports(t *testing.T) {
	doc, code := documentedArrows(t), codeArrows(t)
	for p, deps := range code {
		got, ok := doc[p]
		switch {
		case !ok:
			t.Errorf("architecture.md does not draw package %s (it imports %v)", p, deps)
		case !slices.Equal(got, deps):
			t.Errorf("architecture.md draws %s ──▶ %v; its code imports %v", p, got, deps)
		}
	}
	for p := range doc {
		if _, ok := code[p]; !ok {
			t.Errorf("architecture.md draws package %s, which has no code", p)
		}
	}
}
