package conf

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// checkText refuses data that is not UTF-8 text YAML can hold, naming the
// line: yaml.v3 reports such problems without one.
func checkText(data []byte) error {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return fmt.Errorf("yaml: line %d: invalid UTF-8", line)
		case r == '\n':
			line++
		case r == '\r':
			if i+1 >= len(data) || data[i+1] != '\n' {
				line++
			}
		case !yamlPrintable(r):
			return fmt.Errorf("yaml: line %d: character %U is not allowed", line, r)
		}
		i += size
	}
	return nil
}

// yamlPrintable reports whether r may appear in a YAML stream (YAML 1.2,
// section 5.1), other than as a line break.
func yamlPrintable(r rune) bool {
	return r == '\t' || r >= 0x20 && r <= 0x7E || r == 0x85 ||
		r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

var unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)

// withLine adds a line number to a yaml.v3 parse error that lacks one.
// yaml.v3 leaves it out when the problem is on the first line, and for an
// alias to an unknown anchor, which is looked up here.
func withLine(err error, data []byte) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, "yaml: ") || strings.HasPrefix(msg, "yaml: line ") {
		return err
	}
	line := 1
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		line = 0
		for i, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, "*"+m[1]) {
				line = i + 1
				break
			}
		}
		if line == 0 {
			return err
		}
	}
	return errors.New("yaml: line " + fmt.Sprint(line) + ": " + strings.TrimPrefix(msg, "yaml: "))
}
