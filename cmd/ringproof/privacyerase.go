package main

import (
	"context"
	"fmt"
	"io"
)

// cmdPrivacyErase runs "ringproof privacy erase": everything held about a
// number deleted, its calls hung up, and what was deleted printed.
func cmdPrivacyErase(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPrivacyFlags("erase").withNumber().withOperator()
	dryRun := fs.Bool("dry-run", false, "count what would be erased; erase nothing")
	receipt := fs.String("receipt", "", "write the erasure's signed receipt to `file` (mode 0600); it is printed too")
	if code := parseFlags(fs.FlagSet, args, stderr); code >= 0 {
		return code
	}
	if *dryRun && *receipt != "" {
		fmt.Fprintln(stderr, "ringproof privacy erase: a dry run erases nothing and has no receipt: drop --receipt or --dry-run")
		return 2
	}
	if *fs.number == "" {
		fmt.Fprintln(stderr, "ringproof privacy erase: --number is required")
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
	s, code := openPrivacy(ctx, "erase", *fs.config, stderr)
	if s == nil {
		return code
	}
	defer s.Close()
	e, err := s.vault.Erase(ctx, number, *dryRun, by)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy erase: %v\n", err)
		return 1
	}
	if *receipt != "" {
		if code := writeDoc(stdout, stderr, e.Receipt, *receipt); code != 0 {
			return code
		}
	}
	return writeDoc(stdout, stderr, e, "")
}
