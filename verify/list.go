package verify

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/privacy"
)

// Listing verifications (GET /v1/verifications). The history store is the
// authority, with the writes still in the outbox on their way to it
// (privacy.Vault.List): it holds every verification of the retention
// period, and a verification is listed from the moment its create
// committed, as it stands now. The live records in the store are not read:
// each of their writes reaches the outbox in the same transaction.

// ListQuery selects the verifications a listing returns.
type ListQuery struct {
	// Number, if set, keeps one number's verifications (found by its
	// keyed hash); national with Region.
	Number, Region string
	// Status and Method, if set, keep only verifications with them
	// (the status as of now: one past its expiry is expired).
	Status Status
	Method Method
	api.ListParams
}

// ListPage is a page of a listing.
type ListPage struct {
	Verifications []*Verification `json:"verifications"`
	// NextCursor, absent on the last page, is the cursor of the next.
	NextCursor string `json:"next_cursor,omitempty"`
}

// List returns a page of the verifications of service (""; the implicit
// one) that q selects, newest first.
func (s *Service) List(ctx context.Context, service string, q ListQuery) (*ListPage, error) {
	from, err := history.ParseCursor(q.Cursor)
	if err != nil {
		return nil, &api.InputError{Field: "cursor", Code: "invalid", Message: "cursor is not a next_cursor this server gave"}
	}
	if q.Status != "" && !slices.Contains(Statuses, q.Status) {
		return nil, &api.InputError{Field: "status", Code: "invalid",
			Message: fmt.Sprintf("status %q is not one of %v", q.Status, Statuses)}
	}
	if q.Method != "" {
		if _, err := lookupMethod(string(q.Method)); err != nil {
			return nil, err
		}
	}
	hq := history.ListQuery{Kind: history.KindVerification, Scope: service, After: q.CreatedAfter, From: from, Limit: q.Limit}
	if q.Number != "" {
		n, _, err := s.parseNumber(service, q.Number, q.Region)
		if err != nil {
			return nil, err
		}
		hq.NumberKey = s.index(n)
	}
	now := s.now()
	keep := func(h history.Entry) bool {
		var e privacy.Entry
		if json.Unmarshal(h.Body, &e) != nil {
			return false
		}
		return (q.Method == "" || Method(e.Method) == q.Method) && (q.Status == "" || entryStatus(&e, now) == q.Status)
	}
	entries, next, more, err := s.vault.List(ctx, hq, keep)
	if err != nil {
		return nil, fmt.Errorf("verify: list: %w", err)
	}
	page := &ListPage{Verifications: make([]*Verification, 0, len(entries))}
	for _, e := range entries {
		if l, ok := s.vault.OpenListed(ctx, e); ok {
			page.Verifications = append(page.Verifications, listedView(l, cmp.Or(service, api.DefaultService), now))
		}
	}
	if more {
		page.NextCursor = next.Cursor()
	}
	return page, nil
}

// entryStatus is the status of a history entry as of now.
func entryStatus(e *privacy.Entry, now time.Time) Status {
	if !e.Final && !now.Before(e.ExpiresAt) {
		return StatusExpired
	}
	return Status(e.Status)
}

// listedView is a listed verification as the API shows it: as GET shows
// it, but for what only the live record knows (the fallbacks still to
// try, the caller ID's prefix).
func listedView(l privacy.Listed, service string, now time.Time) *Verification {
	e := &l.Entry
	v := &Verification{
		ID: e.ID, Status: entryStatus(e, now), Reason: e.Reason, Method: Method(e.Method),
		Number: l.Personal.Number, CodeLength: e.CodeLength, DialNumber: e.DialNumber,
		AttemptsLeft: max(e.MaxAttempts-e.Attempts, 0), Platform: e.Platform, Reference: l.Personal.Reference,
		CreatedAt: e.CreatedAt, ExpiresAt: e.ExpiresAt, NextID: e.NextID, PreviousID: e.PreviousID, Test: e.Test,
		Service: service,
		Events:  []Event{},
	}
	if v.Status == StatusExpired && Status(e.Status) != StatusExpired {
		v.Reason = ReasonExpired
	}
	if len(e.Events) > 0 {
		_ = json.Unmarshal(e.Events, &v.Events)
	}
	return v
}

// list serves GET /v1/verifications.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	params, err := api.ParseList(q, "number", "region", "status", "method")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	number := q.Get("number")
	if strings.HasPrefix(number, " ") && strings.Contains(r.URL.RawQuery, "number=+") {
		// A bare + in a URL query reads as a space; no number starts
		// with one.
		number = "+" + number[1:]
	}
	page, err := h.svc.List(r.Context(), serviceOf(r.Context()), ListQuery{
		Number: number, Region: q.Get("region"),
		Status: Status(q.Get("status")), Method: Method(q.Get("method")),
		ListParams: params,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, page)
}
