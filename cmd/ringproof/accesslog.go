package main

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/checkmobi"
	"github.com/ringproof/ringproof/conf"
)

// accessLog wraps h to log each request at info once it is answered:
// method, route (the pattern that served it; never the path or query,
// which hold ids and numbers), status, duration in milliseconds, and which
// key it bore, named by its place in the configuration (api_keys[0],
// admin_keys[1], publishable_keys[0], or watch_token for an event stream
// opened with one): never the key itself, a number or a code. An event
// stream is logged when it ends.
func accessLog(log *slog.Logger, cfg *conf.Config, h http.Handler) http.Handler {
	named := keyNames(cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &api.StatusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "none"
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", sw.Status()),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("key", named.of(r)),
		}
		if sw.Streamed() {
			attrs = append(attrs, slog.Bool("stream", true))
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
	})
}

// keyLabels names the keys of a configuration by their place in it.
type keyLabels struct {
	keys   [][]byte
	labels []string
}

func keyNames(cfg *conf.Config) keyLabels {
	c := cfg.HTTP
	var k keyLabels
	add := func(list string, i int, key string) {
		k.keys = append(k.keys, []byte(key))
		k.labels = append(k.labels, list+"["+strconv.Itoa(i)+"]")
	}
	for i, key := range c.APIKeys {
		add("api_keys", i, key)
	}
	for i, key := range c.AdminKeys {
		add("admin_keys", i, key.Key)
	}
	for i, key := range c.PublishableKeys {
		add("publishable_keys", i, key.Key)
	}
	for i, s := range cfg.Services {
		for j, key := range s.APIKeys {
			add("services["+strconv.Itoa(i)+"].api_keys", j, key)
		}
	}
	return k
}

// of names the key r bears: its label, "unknown" for a bearer token that
// is no key, "watch_token" for a token in the query, "-" for none. Every
// key is compared, in constant time, as authentication does.
func (k keyLabels) of(r *http.Request) string {
	token := checkmobi.SecretKey(r) // a bearer token, or CheckMobi's bare key
	if token == "" {
		if r.URL.Query().Has("token") {
			return "watch_token"
		}
		return "-"
	}
	found := -1
	for i, key := range k.keys {
		if subtle.ConstantTimeCompare(key, []byte(token)) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "unknown"
	}
	return k.labels[found]
}
