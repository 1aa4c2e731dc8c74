package main

import (
	"context"
	"fmt"
	"io"
)

// cmdPrivacyAudit runs "ringproof privacy audit": the audit trail of
// exports and erasures, all of it or a number's.
func cmdPrivacyAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPrivacyFlags("audit").withNumber()
	if code := parseFlags(fs.FlagSet, args, stderr); code >= 0 {
		return code
	}
	number, code := fs.parsedNumber(stderr)
	if code >= 0 {
		return code
	}
	s, code := openPrivacy(ctx, "audit", *fs.config, stderr)
	if s == nil {
		return code
	}
	defer s.Close()
	entries, err := s.vault.Audit(ctx, number)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy audit: %v\n", err)
		return 1
	}
	return writeDoc(stdout, stderr, map[string]any{"entries": entries}, "")
}
