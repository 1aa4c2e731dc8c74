package api

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Keys are bearer tokens that admit requests. A request bears one in
// "Authorization: Bearer <key>".
type Keys [][]byte

// NewKeys returns keys as Keys.
func NewKeys(keys []string) Keys {
	out := make(Keys, len(keys))
	for i, k := range keys {
		out[i] = []byte(k)
	}
	return out
}

// Bearer returns the token r bears, or "".
func Bearer(r *http.Request) string {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return token
}

// Match returns the index among ks of the key r bears, or -1 if it bears
// none of them. Every key is compared, in constant time, whichever
// matches, so that the time taken tells nothing of the keys.
func (ks Keys) Match(r *http.Request) int {
	return ks.MatchToken(Bearer(r))
}

// MatchToken is Match for a token already read.
func (ks Keys) MatchToken(token string) int {
	found := -1
	for i, k := range ks {
		if subtle.ConstantTimeCompare(k, []byte(token)) == 1 {
			found = i
		}
	}
	if token == "" {
		return -1
	}
	return found
}

// WriteUnauthorized answers 401 with a Bearer challenge for realm and msg
// as the error's message.
func WriteUnauthorized(w http.ResponseWriter, realm, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
	WriteError(w, http.StatusUnauthorized, "unauthorized", msg, "")
}

// RequireKey wraps h so that it serves only requests bearing one of keys,
// answering others 401 in the API's error shape.
func RequireKey(keys []string, h http.Handler) http.Handler {
	ks := NewKeys(keys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ks.Match(r) < 0 {
			WriteUnauthorized(w, "ringproof", "missing or wrong API key")
			return
		}
		h.ServeHTTP(w, r)
	})
}
