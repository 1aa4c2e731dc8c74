package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestServiceKeysTellTheService(t *testing.T) {
	var got string
	var ok bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) { got, ok = ServiceFrom(r.Context()) })
	h := ServiceKeys([]string{"k1", "k2"}, []string{DefaultService, "shop"}, mux)
	for _, c := range []struct {
		auth, want string
		ok         bool
	}{
		{"Bearer k2", "shop", true}, {"k2", "shop", true}, {"Bearer k1", DefaultService, true},
		{"Bearer k3", "", false}, {"", "", false},
	} {
		r := httptest.NewRequest("GET", "/x", nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		got, ok = "", false
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want || ok != c.ok {
			t.Errorf("%q: service %q, %v; want %q, %v", c.auth, got, ok, c.want, c.ok)
		}
		if r.Pattern != "GET /x" {
			t.Errorf("%q: the outer request's pattern is %q", c.auth, r.Pattern)
		}
	}
	ctx := WithService(context.Background(), "shop")
	if !SameService(ctx, "shop") || SameService(ctx, "") || SameService(ctx, "clinic") {
		t.Error("a request of shop sees only shop's")
	}
	if !SameService(WithService(context.Background(), DefaultService), "") || !SameService(context.Background(), "clinic") {
		t.Error("the implicit service owns what names none; a request of none sees all")
	}
}
