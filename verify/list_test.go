package verify

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestListPagesNewestFirstWithFilters(t *testing.T) {
	srv, svc := newTestAPI(t)
	var ids []string
	at := map[string]int64{}
	for _, c := range []struct{ number, method string }{
		{"+447911123456", "flashcall"}, {"+447911123457", "sms"}, {"+447911123456", "sms"},
		{"+447911123458", "flashcall"}, {"+447911123456", "voice"},
	} {
		st, v := do(t, srv, "POST", "/v1/verifications", testKey, `{"number":"`+c.number+`","method":"`+c.method+`"}`)
		if st != 201 {
			t.Fatalf("create: %d %v", st, v)
		}
		ids = append(ids, v["id"].(string))
		created, _ := time.Parse(time.RFC3339Nano, v["created_at"].(string))
		at[v["id"].(string)] = created.UnixMilli()
	}
	// Newest first, by the millisecond, then by id.
	newestFirst := slices.Clone(ids)
	slices.SortStableFunc(newestFirst, func(a, b string) int {
		if c := cmp.Compare(at[b], at[a]); c != 0 {
			return c
		}
		return strings.Compare(b, a)
	})
	// Listing follows history, which a node writes in the background: the
	// writes still in the outbox are listed too. Here the vault's writer
	// does not even run.
	_ = svc
	list := func(query string) ([]string, string) {
		t.Helper()
		st, page := do(t, srv, "GET", "/v1/verifications?"+query, testKey, "")
		if st != 200 {
			t.Fatalf("list ?%s: %d %v", query, st, page)
		}
		var got []string
		for _, v := range page["verifications"].([]any) {
			got = append(got, v.(map[string]any)["id"].(string))
		}
		next, _ := page["next_cursor"].(string)
		return got, next
	}
	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		got, next := list("limit=2&cursor=" + url.QueryEscape(cursor))
		all = append(all, got...)
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("the listing never ends")
		}
		cursor = next
	}
	if len(all) != 5 {
		t.Fatalf("listed %v, want the 5 created", all)
	}
	if !slices.Equal(all, newestFirst) {
		t.Fatalf("listed %v, want newest first: %v", all, newestFirst)
	}
	if got, next := list("number=%2B447911123456&method=sms"); len(got) != 1 || got[0] != ids[2] || next != "" {
		t.Fatalf("one number's sms: %v (next %q), want [%s]", got, next, ids[2])
	}
	if got, _ := list("number=+447911123456"); len(got) != 3 {
		t.Fatalf("a number with a bare +: %v, want its 3", got)
	}
	if got, _ := list("status=verified"); len(got) != 0 {
		t.Fatalf("verified: %v, want none", got)
	}

	for _, c := range []struct{ query, field string }{
		{"limit=0", "limit"}, {"limit=101", "limit"}, {"limit=x", "limit"},
		{"status=done", "status"}, {"method=pigeon", "method"}, {"created_after=yesterday", "created_after"},
		{"cursor=nonsense!", "cursor"}, {"number=12", "number"}, {"colour=red", "colour"}, {"limit=1&limit=2", "limit"},
	} {
		st, body := do(t, srv, "GET", "/v1/verifications?"+c.query, testKey, "")
		e, _ := body["error"].(map[string]any)
		if st != 400 || e["field"] != c.field {
			t.Errorf("?%s: %d %v, want 400 naming %s", c.query, st, body, c.field)
		}
	}
	if st, _ := do(t, srv, "GET", "/v1/verifications", "", ""); st != 401 {
		t.Errorf("without a key: %d, want 401", st)
	}
}
