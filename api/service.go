package api

import (
	"context"
	"net/http"
	"strings"
)

// Services (services in the configuration) let one deployment serve
// several applications: each API key belongs to one, and a request is
// served for the service of the key it bears. The APIs read it from the
// request's context.

// DefaultService names the implicit service, of the API keys given
// without one.
const DefaultService = "default"

type serviceKey struct{}

// WithService returns ctx as serving the service named name.
func WithService(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, serviceKey{}, name)
}

// ServiceFrom returns the service ctx serves, and false when none was set
// (a request without an API key, or work the server does by itself).
func ServiceFrom(ctx context.Context) (string, bool) {
	name, ok := ctx.Value(serviceKey{}).(string)
	return name, ok
}

// SameService reports whether a thing of service owner (empty for the
// implicit service) may be seen by a request of service ctx serves: yes
// when ctx serves none, else only when both are the same.
func SameService(ctx context.Context, owner string) bool {
	name, ok := ServiceFrom(ctx)
	if !ok {
		return true
	}
	if owner == "" {
		owner = DefaultService
	}
	return name == owner
}

// ServiceKeys tells each request's service from its API key: keys[i]
// belongs to services[i]. The key is read as authentication reads it, a
// bearer token or, for CheckMobi's API, the bare Authorization value, and
// compared in constant time. ServiceKeys refuses nothing: a request
// bearing no key of keys carries no service, and the handlers behind
// authenticate it.
func ServiceKeys(keys, services []string, h http.Handler) http.Handler {
	ks := NewKeys(keys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			token = auth
		}
		i := ks.MatchToken(token)
		if i < 0 {
			h.ServeHTTP(w, r)
			return
		}
		inner := r.WithContext(WithService(r.Context(), services[i]))
		h.ServeHTTP(w, inner)
		r.Pattern = inner.Pattern // the route h matched, for whoever times or logs requests
	})
}
