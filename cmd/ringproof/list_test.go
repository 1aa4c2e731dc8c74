package main

import (
	"cmp"
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringproof/ringproof/conf"
)

// listIDs lists path page by page (limit 2), following next_cursor until
// the last page, which has none, and returns every item's id.
func (s *testServer) listIDs(path, items string) []string {
	s.t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		st, page := s.call("GET", path+"&limit=2&cursor="+url.QueryEscape(cursor), "")
		if st != 200 {
			s.t.Fatalf("GET %s: %d %v", path, st, page)
		}
		list := page[items].([]any)
		if len(list) > 2 {
			s.t.Fatalf("GET %s: a page of %d items with limit=2", path, len(list))
		}
		for _, v := range list {
			ids = append(ids, v.(map[string]any)["id"].(string))
		}
		next, ok := page["next_cursor"].(string)
		if !ok {
			return ids
		}
		if pages > 10 || next == "" {
			s.t.Fatalf("GET %s: next_cursor %v on page %d", path, page["next_cursor"], pages+1)
		}
		cursor = next
	}
}

// listOrder returns ids in a listing's order: newest first by the
// millisecond of their created_at (at), then by id, both descending.
func listOrder(t *testing.T, ids []string, at map[string]string) []string {
	t.Helper()
	ms := func(id string) int64 {
		c, err := time.Parse(time.RFC3339Nano, at[id])
		if err != nil {
			t.Fatalf("created_at %q: %v", at[id], err)
		}
		return c.UnixMilli()
	}
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(ms(b), ms(a)); c != 0 {
			return c
		}
		return strings.Compare(b, a)
	})
	return out
}

// TestListVerificationsAndSessions lists a running node's verifications
// and masking sessions page by page, by number and by method, both while
// their history may still be in the outbox and once the history store
// holds it: each appears once, newest first. A publishable key may not
// list, and bad parameters are refused naming themselves.
func TestListVerificationsAndSessions(t *testing.T) {
	t.Parallel()
	c := inboundConfig(t)
	c.Masking.Numbers = []string{"+447700900000-+447700900009"}
	c.TestNumbers = []conf.TestNumber{{Number: "+447911123460", Code: "1234"}}
	c.HTTP.PublishableKeys = []conf.PublishableKey{{Key: pubKey, Origins: []string{appOrigin}, Methods: []string{"flashcall"}}}
	c.HTTP.ResultTokenKeyHex = resultTokenKeyHex
	srv := startServer(t, c)

	var created []string // oldest first
	at := map[string]string{}
	for _, body := range []string{
		inboundBody(testNumber), inboundBody("+447911123457"), inboundBody(testNumber),
		`{"number":"+447911123460","method":"sms"}`,
	} {
		st, v := srv.call("POST", "/v1/verifications", body)
		if st != 201 {
			t.Fatalf("create: %d %v", st, v)
		}
		created = append(created, v["id"].(string))
		at[v["id"].(string)] = v["created_at"].(string)
	}
	newestFirst := listOrder(t, created, at)
	var sessions []string // oldest first
	for _, pair := range [][2]string{{testNumber, "+447911123458"}, {"+447911123459", "+447911123457"}, {"+447911123461", testNumber}} {
		st, v := srv.call("POST", "/v1/masking/sessions", `{"a":"`+pair[0]+`","b":"`+pair[1]+`","ttl_s":600}`)
		if st != 201 {
			t.Fatalf("masking session: %d %v", st, v)
		}
		sessions = append(sessions, v["id"].(string))
		at[v["id"].(string)] = v["created_at"].(string)
	}
	sessionsNewestFirst := listOrder(t, sessions, at)

	check := func(when string) {
		t.Helper()
		if got := srv.listIDs("/v1/verifications?", "verifications"); !slices.Equal(got, newestFirst) {
			t.Fatalf("%s: listed %v, want %v", when, got, newestFirst)
		}
		if want := listOrder(t, []string{created[0], created[2]}, at); !slices.Equal(srv.listIDs("/v1/verifications?number=%2B447911123456", "verifications"), want) {
			t.Fatalf("%s: listed by number, want %v", when, want)
		}
		if got := srv.listIDs("/v1/verifications?method=sms&status=pending", "verifications"); !slices.Equal(got, []string{created[3]}) {
			t.Fatalf("%s: listed sms %v, want the test number's %s", when, got, created[3])
		}
		if got := srv.listIDs("/v1/masking/sessions?", "sessions"); !slices.Equal(got, sessionsNewestFirst) {
			t.Fatalf("%s: listed sessions %v, want %v", when, got, sessionsNewestFirst)
		}
		if want := listOrder(t, []string{sessions[0], sessions[2]}, at); !slices.Equal(srv.listIDs("/v1/masking/sessions?number=%2B447911123456", "sessions"), want) {
			t.Fatalf("%s: sessions by number, want %v", when, want)
		}
	}
	check("at once")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.vault.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check("once in the history store")

	_, v := srv.call("GET", "/v1/verifications?method=sms", "")
	first := v["verifications"].([]any)[0].(map[string]any)
	if first["id"] != created[3] || first["number"] != "+447911123460" || first["test"] != true || first["method"] != "sms" {
		t.Fatalf("the newest verification as listed: %v", first)
	}

	for _, q := range []struct{ path, field string }{
		{"/v1/verifications?limit=500", "limit"}, {"/v1/verifications?status=done", "status"},
		{"/v1/verifications?created_after=today", "created_after"}, {"/v1/verifications?cursor=x", "cursor"},
		{"/v1/verifications?number=12", "number"}, {"/v1/verifications?sort=asc", "sort"},
		{"/v1/masking/sessions?limit=0", "limit"}, {"/v1/masking/sessions?status=active", "status"},
	} {
		st, body := srv.call("GET", q.path, "")
		e, _ := body["error"].(map[string]any)
		if st != 400 || e["field"] != q.field {
			t.Errorf("GET %s: %d %v, want 400 naming %s", q.path, st, body, q.field)
		}
	}
	if r := srv.page("GET", "/v1/verifications", pubKey, appOrigin, ""); r.status != 403 {
		t.Errorf("a publishable key lists: %d %v, want 403", r.status, r.body)
	}
}
