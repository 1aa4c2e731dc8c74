package main

import (
	"context"
	"fmt"
	"io"
)

// cmdPrivacyReport runs "ringproof privacy report": what the deployment
// holds of each kind of personal data, the oldest and newest of each, and
// the retention that applies.
func cmdPrivacyReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPrivacyFlags("report")
	if code := parseFlags(fs.FlagSet, args, stderr); code >= 0 {
		return code
	}
	s, code := openPrivacy(ctx, "report", *fs.config, stderr)
	if s == nil {
		return code
	}
	defer s.Close()
	rep, err := s.vault.Report(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy report: %v\n", err)
		return 1
	}
	return writeDoc(stdout, stderr, rep, "")
}
