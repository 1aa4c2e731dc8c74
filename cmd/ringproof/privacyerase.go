package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// cmdPrivacyErase runs "ringproof privacy erase": everything held about a
// number deleted, its calls hung up, and what was deleted printed with
// the signed receipt; with --numbers, each number of a file in turn.
func cmdPrivacyErase(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPrivacyFlags("erase").withNumber().withOperator().withBulk()
	dryRun := fs.Bool("dry-run", false, "count what would be erased; erase nothing")
	receipt := fs.String("receipt", "", "write the erasure's signed receipt to `file` (mode 0600); it is printed too. With --numbers, a directory to write one receipt per number in, named by the number's keyed hash")
	if code := parseFlags(fs.FlagSet, args, stderr); code >= 0 {
		return code
	}
	if *dryRun && *receipt != "" {
		fmt.Fprintln(stderr, "ringproof privacy erase: a dry run erases nothing and has no receipt: drop --receipt or --dry-run")
		return 2
	}
	if code := fs.oneOfNumbers(stderr); code >= 0 {
		return code
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
	if *fs.numbers != "" {
		if *receipt != "" {
			if err := os.MkdirAll(*receipt, 0o700); err != nil {
				fmt.Fprintf(stderr, "ringproof privacy erase: --receipt: %v\n", err)
				return 2
			}
		}
		action := "erase"
		if *dryRun {
			action = "erase-dry-run"
		}
		b := bulkRequest{action: action, file: *fs.numbers, state: *fs.state, region: *fs.region}
		return b.run(ctx, s, stdout, stderr, func(ctx context.Context, number string) error {
			e, err := s.vault.Erase(ctx, number, *dryRun, by)
			if err != nil || *receipt == "" {
				return err
			}
			path := filepath.Join(*receipt, s.vault.Index().Subject(number)+".receipt.json")
			if code := writeDoc(io.Discard, io.Discard, e.Receipt, path); code != 0 {
				return fmt.Errorf("erased, but cannot write the receipt %s (the audit trail keeps it)", path)
			}
			return nil
		})
	}
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
