package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// cmdPrivacyExport runs "ringproof privacy export": everything held about
// a number, as one JSON document; with --numbers, about each number of a
// file, one document each in the --out directory.
func cmdPrivacyExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPrivacyFlags("export").withNumber().withOperator().withBulk()
	out := fs.String("out", "", "write the export to `file` (mode 0600) instead of standard output; with --numbers, the directory to write one export per number in, named by the number's keyed hash (required)")
	if code := parseFlags(fs.FlagSet, args, stderr); code >= 0 {
		return code
	}
	if code := fs.oneOfNumbers(stderr); code >= 0 {
		return code
	}
	if *fs.numbers != "" && *out == "" {
		fmt.Fprintln(stderr, "ringproof privacy export: --numbers needs --out DIR, the directory to write one export per number in")
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
	if *fs.numbers != "" {
		if err := os.MkdirAll(*out, 0o700); err != nil {
			fmt.Fprintf(stderr, "ringproof privacy export: --out: %v\n", err)
			return 2
		}
		b := bulkRequest{action: "export", file: *fs.numbers, state: *fs.state, region: *fs.region}
		return b.run(ctx, s, stdout, stderr, func(ctx context.Context, number string) error {
			x, err := s.vault.Export(ctx, number, by)
			if err != nil {
				return err
			}
			path := filepath.Join(*out, s.vault.Index().Subject(number)+".json")
			if code := writeDoc(io.Discard, io.Discard, x, path); code != 0 {
				return fmt.Errorf("cannot write %s", path)
			}
			return nil
		})
	}
	x, err := s.vault.Export(ctx, number, by)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy export: %v\n", err)
		return 1
	}
	return writeDoc(stdout, stderr, x, *out)
}
