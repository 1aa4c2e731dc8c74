package api

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Listings (GET /v1/verifications, GET /v1/masking/sessions) answer a page
// at a time, newest first, with a next_cursor to pass back as cursor for
// the page after; the last page has none.

// Page sizes of listings.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// ListParams are the query parameters every listing takes.
type ListParams struct {
	// Limit is the most items a page holds: DefaultListLimit when not
	// given, at most MaxListLimit.
	Limit int
	// Cursor is where the page starts: a previous page's next_cursor,
	// opaque to clients; empty for the first page.
	Cursor string
	// CreatedAfter keeps only items created after it (created_after, RFC
	// 3339); zero when not given.
	CreatedAfter time.Time
}

// ParseList reads a listing's limit, cursor and created_after from q. A
// parameter other than those and extra, one given twice, or one that does
// not read is an *InputError naming it.
func ParseList(q url.Values, extra ...string) (ListParams, error) {
	p := ListParams{Limit: DefaultListLimit}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	known := append([]string{"limit", "cursor", "created_after"}, extra...)
	for _, name := range names {
		if !slices.Contains(known, name) {
			return p, &InputError{Field: name, Code: "unknown_field",
				Message: fmt.Sprintf("unknown query parameter %q; known: %s", name, strings.Join(known, ", "))}
		}
		if len(q[name]) > 1 {
			return p, &InputError{Field: name, Code: "duplicate_field", Message: name + " is given more than once"}
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxListLimit {
			return p, &InputError{Field: "limit", Code: "out_of_range",
				Message: fmt.Sprintf("limit must be a whole number from 1 to %d (default %d)", MaxListLimit, DefaultListLimit)}
		}
		p.Limit = n
	}
	p.Cursor = q.Get("cursor")
	if s := q.Get("created_after"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return p, &InputError{Field: "created_after", Code: "invalid",
				Message: "created_after must be a time in RFC 3339, such as 2026-12-01T10:00:00Z (a + in an offset written %2B)"}
		}
		p.CreatedAfter = t
	}
	return p, nil
}
