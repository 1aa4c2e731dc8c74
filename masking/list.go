package masking

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/privacy"
)

// Listing sessions (GET /v1/masking/sessions), as verifications are
// listed: from the history store, with the writes still in the outbox
// (privacy.Vault.List). Each session has an entry per party ("<id>.a",
// "<id>.b"): a listing by number reads that number's, any other the first
// party's.

// Listed is a session as a listing shows it.
type Listed struct {
	Session
	// EndedAt is when the session was ended before its expiry, if it was.
	EndedAt *time.Time `json:"ended_at,omitempty"`
}

// ListPage is a page of a listing.
type ListPage struct {
	Sessions []Listed `json:"sessions"`
	// NextCursor, absent on the last page, is the cursor of the next.
	NextCursor string `json:"next_cursor,omitempty"`
}

// List returns a page of the sessions of service ("": the implicit one)
// that params select, those of number (national with region) when it is
// set, newest first.
func (s *Service) List(ctx context.Context, service, num, region string, params api.ListParams) (*ListPage, error) {
	from, err := history.ParseCursor(params.Cursor)
	if err != nil {
		return nil, &api.InputError{Field: "cursor", Code: "invalid", Message: "cursor is not a next_cursor this server gave"}
	}
	q := history.ListQuery{Kind: history.KindMaskingRoute, Scope: service, After: params.CreatedAfter, From: from, Limit: params.Limit}
	keep := func(e history.Entry) bool { return strings.HasSuffix(e.ID, ".a") }
	if num != "" {
		n, err := number.Parse(num, region)
		if err != nil {
			return nil, err
		}
		q.NumberKey, keep = s.vault.Index().Of(n), nil
	}
	entries, next, more, err := s.vault.List(ctx, q, keep)
	if err != nil {
		return nil, fmt.Errorf("masking: list: %w", err)
	}
	page := &ListPage{Sessions: make([]Listed, 0, len(entries))}
	for _, e := range entries {
		var r privacy.RouteEntry
		if json.Unmarshal(e.Body, &r) != nil {
			continue
		}
		page.Sessions = append(page.Sessions, Listed{
			Session: Session{ID: r.Session, Proxy: r.Proxy, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, Service: cmp.Or(service, api.DefaultService)},
			EndedAt: r.EndedAt,
		})
	}
	if more {
		page.NextCursor = next.Cursor()
	}
	return page, nil
}

// list serves GET /v1/masking/sessions.
func list(s *Service, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		params, err := api.ParseList(q, "number", "region")
		if err != nil {
			fail(w, err, log)
			return
		}
		num := q.Get("number")
		if strings.HasPrefix(num, " ") && strings.Contains(r.URL.RawQuery, "number=+") {
			num = "+" + num[1:] // a bare + in a URL query reads as a space
		}
		service, _ := api.ServiceFrom(r.Context())
		page, err := s.List(r.Context(), service, num, q.Get("region"), params)
		if err != nil {
			fail(w, err, log)
			return
		}
		api.WriteJSON(w, http.StatusOK, page)
	}
}
