package verify

import (
	"net/http"
	"slices"
	"strings"

	"github.com/ringproof/ringproof/api"
)

// CORS wraps the verification API h for pages on other origins (exact
// scheme://host[:port] values): it answers their preflight requests
// (OPTIONS with Access-Control-Request-Method) itself, without a key, and
// lets them read event streams. Requests bearing a publishable key get
// their Access-Control-Allow-Origin from its own origins
// (publishable.go); requests with an API key get none, for API keys
// belong on servers. A preflight from any other origin is refused with
// 403.
func CORS(origins []string, h http.Handler) http.Handler {
	origins = slices.Clone(origins)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			h.ServeHTTP(w, r)
			return
		}
		allowed := slices.Contains(origins, origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header().Add("Vary", "Origin")
			if !allowed {
				api.WriteError(w, http.StatusForbidden, "origin_not_allowed", "pages on this origin may not call the API (http.cors_origins, http.publishable_keys[].origins)", "")
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/events") {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Add("Vary", "Origin")
		}
		h.ServeHTTP(w, r)
	})
}
