package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/verify"
	"github.com/ringproof/ringproof/widget"
)

// Web pages: the verification API as pages on other origins use it
// (publishable keys, CORS), and the result tokens they hand to their
// servers.

// resultTokenKeyFile is the key file in the embedded store's data dir used
// when http.result_token_key is empty.
const resultTokenKeyFile = "result_token.key"

// resultTokenKey returns http.result_token_key or, when it is empty with
// the embedded store, the key in data_dir/keys (made on first start). With
// an external store and no key (conf.Validate allows that only without
// publishable keys) it returns nil: no result tokens are made.
func resultTokenKey(cfg *conf.Config, log *slog.Logger) ([]byte, error) {
	key, err := cfg.HTTP.ResultTokenKey()
	if err != nil || key != nil {
		return key, err
	}
	if len(cfg.Store.Endpoints) > 0 {
		return nil, nil
	}
	path := filepath.Join(cfg.Store.DataDir, "keys", resultTokenKeyFile)
	key, made, err := privacy.LoadOrCreateKey(path)
	if err != nil {
		return nil, fmt.Errorf("http.result_token_key: %w", err)
	}
	if made {
		log.Info("http.result_token_key is not set: generated a key in "+path+"; give it to the servers that check result tokens", "setting", "http.result_token_key")
	}
	return key, nil
}

// verificationAPI is /v1/verifications (and /v1/widget) for applications
// with an API key and for pages with a publishable key, behind CORS.
func (s *server) verificationAPI(cfg *conf.Config) http.Handler {
	apiKeys, _ := s.apiKeys(cfg)
	api := verify.NewHandler(s.svc, apiKeys, cfg.HTTP.MaxBodyBytes, s.log)
	maxStreams := cfg.HTTP.MaxEventStreams
	if maxStreams == 0 {
		maxStreams = verify.DefaultMaxEventStreams()
	}
	api.LimitEventStreams(maxStreams, cfg.HTTP.MaxEventStreamsPerIP)
	keys := s.publishableKeys(cfg.HTTP.PublishableKeys)
	if len(keys) > 0 {
		index := s.vault.Index()
		api.AllowPublishable(keys, func(ip string) string { return index.Of("client ip " + ip) })
	}
	origins := append(verify.PublishableOrigins(keys), cfg.HTTP.CORSOrigins...)
	return verify.CORS(origins, api)
}

// publishableLimitPrefix is where the per-client-IP budgets of publishable
// keys live: + the key's id + "/" + a keyed hash of the IP.
const publishableLimitPrefix = "limit/publishable/"

// publishableKeys turns the configuration's publishable keys into verify's,
// each with a limiter of its per_ip_per_minute.
func (s *server) publishableKeys(in []conf.PublishableKey) []verify.PublishableKey {
	var out []verify.PublishableKey
	for _, k := range in {
		ms := make([]verify.Method, len(k.Methods))
		for i, m := range k.Methods {
			ms[i] = verify.Method(m)
		}
		id := strings.TrimPrefix(verify.PublishableKeyID(k.Key), "pk:")
		out = append(out, verify.PublishableKey{
			Key: k.Key, Origins: k.Origins, Methods: ms, Service: k.Service,
			PerIP: limit.New(s.store, publishableLimitPrefix+id+"/", limit.PerMinute(k.PerIPPerMinute)),
		})
	}
	return out
}

// widgetRoutes serves the widget's script and, with http.demo, the demo
// page using the first publishable key (conf.Validate requires one).
func (s *server) widgetRoutes(mux *http.ServeMux, cfg *conf.Config) {
	mux.Handle("GET "+widget.ScriptPath, widget.ScriptHandler())
	if cfg.HTTP.Demo {
		mux.Handle(widget.DemoPath, widget.Demo(cfg.HTTP.PublishableKeys[0].Key, s.tokenKey, s.log.With("component", "demo")))
	}
}
