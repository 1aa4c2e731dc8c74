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
	check := fs.Bool("verify", false, "check the audit trail's hash chain and seals, and report the first broken link")
	if code := parseFlags(fs.FlagSet, args, stderr); code >= 0 {
		return code
	}
	if *check && *fs.number != "" {
		fmt.Fprintln(stderr, "ringproof privacy audit: --verify checks the whole trail; it takes no --number")
		return 2
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
	if *check {
		return verifyAudit(ctx, s, stdout, stderr)
	}
	entries, err := s.vault.Audit(ctx, number)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy audit: %v\n", err)
		return 1
	}
	return writeDoc(stdout, stderr, map[string]any{"entries": entries}, "")
}

// verifyAudit prints what VerifyAudit found; exit 1 if the chain is
// broken, saying where on stderr too.
func verifyAudit(ctx context.Context, s *privacySession, stdout, stderr io.Writer) int {
	c, err := s.vault.VerifyAudit(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy audit: %v\n", err)
		return 1
	}
	if code := writeDoc(stdout, stderr, c, ""); code != 0 {
		return code
	}
	if b := c.Broken; b != nil {
		fmt.Fprintf(stderr, "ringproof privacy audit: the audit trail is broken at entry #%d (%s): %s\n", b.Seq, b.ID, b.Problem)
		return 1
	}
	return 0
}
