package main

import (
	"context"
	"fmt"
	"io"
)

// cmdPrivacyExport runs "ringproof privacy export": everything held about
// a number, as one JSON document.
func cmdPrivacyExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPrivacyFlags("export").withNumber().withOperator()
	out := fs.String("out", "", "write the export to `file` (mode 0600) instead of standard output")
	if code := parseFlags(fs.FlagSet, args, stderr); code >= 0 {
		return code
	}
	if *fs.number == "" {
		fmt.Fprintln(stderr, "ringproof privacy export: --number is required")
		return 2
	}
	number, code := fs.parsedNumber(stderr)
	if code >= 0 {
		return code
	}
	by, code := fs.actor(stderr)
	if code >= 0 {
		return code
	}
	s, code := openPrivacy(ctx, "export", *fs.config, stderr)
	if s == nil {
		return code
	}
	defer s.Close()
	x, err := s.vault.Export(ctx, number, by)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy export: %v\n", err)
		return 1
	}
	return writeDoc(stdout, stderr, x, *out)
}
