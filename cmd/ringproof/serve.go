package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/checkmobi"
	"github.com/ringproof/ringproof/cluster"
	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/dialer"
	"github.com/ringproof/ringproof/fraud"
	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/idempotency"
	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/masking"
	"github.com/ringproof/ringproof/media"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/sip"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/verify"
)

func cmdServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := configFlag(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ringproof serve [--config FILE]\n\n")
		fs.PrintDefaults()
		printEnvVars(fs.Output())
	}
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof: %v\n", err)
		return 2
	}
	// SIGHUP reloads the configuration; caught from now on, as its default
	// would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	log, level := newLevelLogger(cfg.Log, stderr)
	sip.SetLibraryLogger(log.With("component", "sipgo"))
	if changed := tuneRuntime(); len(changed) > 0 {
		log.Info("Go runtime tuned for SIP latency (the GOMAXPROCS and GOGC environment variables override)", changed...)
	}
	srv, err := start(ctx, cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	ready := []any{"http", srv.HTTPAddr().String(), "sip", srv.SIPAddr().String()}
	if a := srv.sip.TLSAddr(); a.IsValid() {
		ready = append(ready, "sip_tls", a.String())
	}
	srv.level = level
	log.Info("ringproof ready", append(ready, "version", readBuild().short())...)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-hup:
			reloadConfig(srv, *path, log)
		}
	}
	log.Info("shutting down: hanging up calls in progress")
	sctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := srv.Close(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

// loadConfig reads path, or takes the built-in defaults when path is "";
// environment overrides apply either way.
func loadConfig(path string) (*conf.Config, error) {
	return conf.Load(path)
}

// reloadConfig reads the configuration again, from path and the
// environment, and applies what a running node can (see reload). A
// configuration with problems changes nothing.
func reloadConfig(srv *server, path string, log *slog.Logger) {
	next, err := loadConfig(path)
	if err != nil {
		log.Error("reload refused, running on as before: " + err.Error())
		return
	}
	applied, restart, err := srv.reload(next)
	if err != nil {
		log.Error("reload refused, running on as before", "err", err)
		return
	}
	attrs := []any{"applied", strings.Join(applied, ",")}
	if srv.cert != nil {
		attrs = append(attrs, "sip_tls_certificate", "read again")
	}
	log.Info("configuration reloaded", attrs...)
	if len(restart) > 0 {
		log.Warn("configuration changes that take a restart", "keys", strings.Join(restart, ","))
	}
}

// newLogger builds the process logger; every line passes through
// privacy.RedactHandler so no phone number is written even by mistake.
func newLogger(c conf.Log, w io.Writer) *slog.Logger {
	log, _ := newLevelLogger(c, w)
	return log
}

// newLevelLogger is newLogger, with the level it can be set to later.
func newLevelLogger(c conf.Log, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(logLevel(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(privacy.RedactHandler(h)), level
}

// server is a running ringproof node.
type server struct {
	store *store.Store
	hist  history.Store
	vault *privacy.Vault
	// vaultStop ends the vault's history writer; vaultDone is closed once
	// it has written what it held.
	vaultStop context.CancelFunc
	vaultDone chan struct{}
	sip       *sip.Endpoint
	svc       *verify.Service
	mask      *masking.Service
	webhooks  *webhooks // nil until started
	nodes     *cluster.Registry
	lat       *latency // HTTP and store latency histograms
	dial      *dialer.Dialer
	trunk     *trunkMetrics
	// watched is closed once the trunks' pings and registrations have
	// stopped (dialer.Watch).
	watched chan struct{}
	// registrars is the dialer, for the SIP listeners to admit the
	// registrars' connections; set once the dialer exists.
	registrars atomic.Pointer[dialer.Dialer]
	bg         context.CancelFunc // ends the node's background loops
	guard      *fraud.Guard
	// clients tells who sent an API request (http.trusted_proxies).
	clients   *fraud.Clients
	guardDone chan struct{} // closed when the guard has stopped

	closeOnce sync.Once
	closeErr  error
	http      *http.Server
	ln        net.Listener
	log       *slog.Logger
	done      chan error

	// tokenKey signs result tokens (widget.go); nil: none are made.
	tokenKey []byte

	// holdings is the latest count of personal data held, for /metrics.
	holdings holdings

	// What a reload (reload.go) changes: the HTTP handler in force, the
	// configuration as started and as last applied, the SIP TLS
	// certificate (nil without TLS) and the log level (nil: fixed).
	handler          atomic.Pointer[http.Handler]
	metrics          http.Handler // GET /metrics, the same across reloads
	started, current *conf.Config
	cert             *certificate
	level            *slog.LevelVar
}

// start opens the store, the SIP endpoint and the HTTP port, in that order,
// and undoes what it opened if a later step fails.
func start(ctx context.Context, cfg *conf.Config, log *slog.Logger) (_ *server, err error) {
	s := &server{log: log, lat: newLatency(), trunk: newTrunkMetrics(), done: make(chan error, 1), started: cfg, current: cfg}
	defer func() {
		if err != nil {
			s.Close(context.Background())
		}
	}()
	openCtx, cancel := context.WithTimeout(ctx, time.Duration(cfg.Store.DialTimeoutS)*time.Second+10*time.Second)
	defer cancel()
	s.store, err = store.Open(openCtx, cfg.Store, log, store.WithObserver(s.lat))
	if err != nil {
		return nil, err
	}
	s.hist, err = history.Open(openCtx, cfg.History, cfg.Store.DataDir)
	if err != nil {
		return nil, err
	}
	s.vault, err = openVault(cfg, s.store, s.hist, log, true)
	if err != nil {
		return nil, err
	}
	s.vault.OnHistoryWrite(s.lat.observeHistory)
	// Copy history from the store's outbox to the history store, and
	// apply retention, until the node stops (Close waits for the last
	// copy).
	vctx, vstop := context.WithCancel(context.Background())
	s.vaultStop = vstop
	s.vaultDone = make(chan struct{})
	go func() { defer close(s.vaultDone); s.vault.Run(vctx) }()
	go s.expireHistory(vctx, log)
	go s.holdings.watch(vctx, s.vault, log)
	tlsServer, tlsClient, err := cfg.SIP.TLSConfigs()
	if err != nil {
		return nil, err
	}
	if tlsServer != nil {
		s.cert = &certificate{}
		s.cert.use(tlsServer, tlsClient)
	}
	s.sip, err = sip.Listen(ctx, sip.Options{
		Listen:        cfg.SIP.Listen,
		UDPReadBuffer: cfg.SIP.UDPReadBuffer,
		PollUDP:       cfg.SIP.UDPReader == "poller",
		TLSListen:     cfg.SIP.TLSListen,
		TLSServer:     tlsServer,
		TLSClient:     tlsClient,
		External:      cfg.SIPExternal(),
		UserAgent:     cfg.SIP.UserAgent,
		Logger:        log.With("component", "sip"),
		// TCP and TLS connections from outside every trunk's
		// inbound_cidrs (and the registrars ringproof is registered
		// with) are closed before a byte is read.
		AdmitStreams:           sip.AnyOf(trunkSources(cfg), s.fromRegistrar),
		MaxTCPConnections:      cfg.SIP.MaxTCPConnections,
		MaxTCPConnectionsPerIP: cfg.SIP.MaxTCPConnectionsPerIP,
	})
	if err != nil {
		return nil, err
	}
	d, err := dialer.New(cfg, s.sip, s.store, log)
	if err != nil {
		return nil, err
	}
	// A caller ID's leases name it by keyed hash: its last digits are a
	// flash call's code.
	index := s.vault.Index()
	d.NameLeases(func(callerID string) string { return index.Of("caller id " + callerID) })
	s.dial = d
	s.registrars.Store(d)
	s.trunk.watch(d)
	prompts, err := media.LoadPrompts(cfg.Media.PromptsDir)
	if err != nil {
		return nil, err
	}
	rtpIP, rtpOffered := cfg.MediaIPs()
	d.WithMedia(dialer.MediaConfig{
		IP:         rtpIP,
		ExternalIP: rtpOffered,
		Ports:      media.PortRange{Min: cfg.Media.RTPPortMin, Max: cfg.Media.RTPPortMax},
		NoRTP:      time.Duration(cfg.Media.NoRTPTimeoutS) * time.Second,
		MaxDur:     time.Duration(cfg.Media.MaxCallS) * time.Second,
		Prompts:    prompts,
		Locale:     cfg.Media.DefaultLocale,
	}, time.Duration(cfg.FlashCall.TimeoutS)*time.Second+30*time.Second)
	host, _ := os.Hostname()
	regions := map[string]string{}
	var inbound []sip.InboundTrunk
	for _, t := range cfg.Trunks {
		regions[t.Name] = t.Region
		name := t.Name
		inbound = append(inbound, sip.InboundTrunk{Name: name, Prefixes: t.InboundPrefixes(), TrustPAI: t.TrustPAI,
			RequireVerstat: t.RequireVerstat, MinAttestation: t.MinAttestation,
			Allow: func(a netip.Addr) bool { return d.FromRegistrar(name, a) }})
	}
	nodeID := fmt.Sprintf("%s/%s", host, s.sip.Addr())
	s.tokenKey, err = resultTokenKey(cfg, log)
	if err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	s.bg = stop
	s.startGuard(bg, cfg, nodeID, log)
	s.startWebhooks(bg, cfg, nodeID+"/"+rand.Text()[:8], log.With("component", "webhook"))
	s.svc = verify.NewService(s.store, verifyDialer{d}, verify.Config{
		CodeLength:          cfg.FlashCall.CodeLength,
		MaxCodeLength:       conf.MaxCodeLength,
		Expiry:              time.Duration(cfg.Verification.ExpiryS) * time.Second,
		MaxAttempts:         cfg.Verification.MaxAttempts,
		MaxPerNumberPerHour: cfg.Verification.MaxPerNumberPerHour,
		Grace:               time.Duration(cfg.Verification.GraceS) * time.Second,
		Node:                nodeID,
		DialNumbers:         cfg.InboundRanges(),
		InboundStatus:       cfg.Inbound.FinalStatus,
		InboundRing:         time.Duration(cfg.Inbound.RingMS) * time.Millisecond,
		TrunkRegions:        regions,
		UnknownCaller:       cfg.Inbound.UnknownCaller,
		VoiceRepeat:         cfg.Media.VoiceRepeat,
		SMSText:             cfg.SMS.Text,
		Vault:               s.vault,
		ResultTokenKey:      s.tokenKey,
		Guard:               s.guard,
		TestNumbers:         conf.TestCodes(cfg.TestNumbers),
		Webhooks:            s.webhooks.hooks,
		Subscriptions:       s.webhooks.of,
		Services:            serviceSettings(cfg),
	}, s.vault.Index().Of, log)
	s.mask = masking.New(s.store, s.vault, d, masking.Config{
		Numbers:       cfg.MaskingRanges(),
		MaxTTL:        time.Duration(cfg.Masking.MaxTTLS) * time.Second,
		AnswerTimeout: time.Duration(cfg.Masking.AnswerTimeoutS) * time.Second,
		MaxCall:       time.Duration(cfg.Masking.MaxCallS) * time.Second,
		Stranger:      stranger(cfg.Masking.UnknownCaller, d),
		TrunkRegions:  regions,
		Destinations:  s.guard,
		CallEnded:     s.webhooks.callEnded,
	}, log.With("component", "masking"))
	// A call to a proxy number is masking's; any other is a verification's.
	s.sip.ServeInbound(inbound, func(ctx context.Context, in *sip.Inbound) sip.InboundDecision {
		if dec, ok := s.mask.Handle(ctx, in); ok {
			return dec
		}
		return verifyInbound(ctx, s.svc, d, in)
	})
	s.sip.ServeInboundTexts(inbound, s.mask.HandleText)

	// A node that died and came back before its registration expired was
	// never seen to leave: close the calls its last run left open.
	s.svc.NodeLost(ctx, nodeID, s.listValues)

	// Join the cluster (a cluster of one with the embedded store): share
	// each trunk's max_cps among the live nodes, take hang-ups meant for
	// this node's calls, and close the calls of nodes that die.
	s.nodes, err = cluster.Join(ctx, s.store.Client(), cfg.Store.Prefix, cluster.Node{
		ID: nodeID, HTTP: cfg.HTTP.Listen, SIP: s.sip.Addr().String(), Version: readBuild().short(), Started: time.Now().UTC(),
	}, cluster.DefaultTTL, log)
	if err != nil {
		return nil, err
	}
	s.nodes.OnCount(d.ShareTrunks)
	s.nodes.OnLeave(func(id string) {
		go func() {
			lctx, cancel := context.WithTimeout(bg, time.Minute)
			defer cancel()
			s.svc.NodeLost(lctx, id, s.listValues)
		}()
	})
	go s.svc.ServeRemoteHangups(bg)
	// Ping the trunks and keep the registrations; on shutdown the
	// registrations are removed before the SIP endpoint closes.
	s.watched = make(chan struct{})
	go func() {
		defer close(s.watched)
		d.Watch(bg, s.sip)
	}()

	s.ln, err = net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("http: listen %s: %w", cfg.HTTP.Listen, err)
	}
	s.metrics = s.metricsHandler()
	s.serveWith(cfg)
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() { s.done <- s.http.Serve(s.ln) }()
	return s, nil
}

// routes is the whole HTTP surface of a node.
func (s *server) routes(cfg *conf.Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /openapi.json", api.OpenAPIHandler())
	mux.Handle("/v1/privacy/", privacy.NewHandler(s.vault, cfg.HTTP, s.log))
	keys, services := s.apiKeys(cfg)
	mux.Handle("GET /v1/cluster", s.clusterHandler(keys))
	mux.Handle("GET /metrics", s.metrics)
	if cfg.HTTP.Pprof {
		mux.Handle("/debug/pprof/", api.RequireKey(cfg.HTTP.AdminTokens(), pprofHandler()))
	}
	// Creates honour Idempotency-Key, ahead of every limit: a replay
	// spends nothing.
	// Only API keys: a publishable key is every visitor's.
	apiKeys, _ := cfg.APIKeys()
	secretKeys := api.NewKeys(apiKeys)
	idem := idempotency.New(s.hist, func(r *http.Request) string {
		if secretKeys.Match(r) < 0 {
			return ""
		}
		return api.Bearer(r)
	}, s.vault.Index().Keyed, cfg.HTTP.MaxBodyBytes, s.log, "/v1/verifications", "/v1/masking/sessions")
	mux.Handle("/v1/masking/", idem.Wrap(masking.NewHandler(s.mask, keys, cfg.HTTP.MaxBodyBytes, s.log)))
	mux.Handle("/v1/fraud/", s.fraudAPI(cfg))
	mux.Handle("/v1/", idem.Wrap(s.clients.Middleware(s.verificationAPI(cfg))))
	// CheckMobi's validation API, for applications written against it.
	mux.Handle("/v1/validation/", s.clients.Middleware(checkmobi.NewHandler(s.svc, keys, cfg.HTTP.MaxBodyBytes, s.log)))
	s.widgetRoutes(mux, cfg)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such resource", "")
	})
	// Each request is served for the service of its API key.
	return s.clientAddress(s.keyGuard(cfg).Wrap(api.ServiceKeys(keys, services, mux)))
}

// clientAddress has every request to h carry its client's address, for
// verify.ClientIP: behind http.trusted_proxies, the one they forwarded.
func (s *server) clientAddress(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner := verify.WithClientIP(r, s.clients.Of(r).IP)
		h.ServeHTTP(w, inner)
		r.Pattern = inner.Pattern // the route matched, for the latency histograms
	})
}

// authFailureLimitPrefix is where the failed authentications of each
// client address are counted: + a keyed hash of the address.
const authFailureLimitPrefix = "limit/authfail/"

// keyGuard counts every route's 401s per client address, across the
// cluster, and refuses an address past http.auth_failures_per_ip_per_minute.
func (s *server) keyGuard(cfg *conf.Config) *verify.KeyGuard {
	index := s.vault.Index()
	failures := limit.New(s.store, authFailureLimitPrefix, limit.PerMinute(cfg.HTTP.AuthFailuresPerIPPerMinute))
	return verify.NewKeyGuard(failures, func(ip string) string { return index.Of("client ip " + ip) }, s.log)
}

// clusterHandler lists the live nodes: GET /v1/cluster.
func (s *server) clusterHandler(keys []string) http.Handler {
	return api.RequireKey(keys, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"self": s.nodes.Self().ID, "nodes": s.nodes.Nodes()})
	}))
}

// listValues returns the values of every key under prefix.
func (s *server) listValues(ctx context.Context, prefix string) ([][]byte, error) {
	kvs, err := s.store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(kvs))
	for i, kv := range kvs {
		out[i] = kv.Value
	}
	return out, nil
}

// HTTPAddr is where the HTTP API listens.
func (s *server) HTTPAddr() net.Addr { return s.ln.Addr() }

// SIPAddr is where the SIP endpoint listens.
func (s *server) SIPAddr() net.Addr {
	return net.UDPAddrFromAddrPort(s.sip.Addr())
}

// Close stops taking requests, hangs up calls in progress (waiting for
// their CANCELs to be answered, within ctx), leaves the cluster and closes
// the store. Calls after the first return the first's result.
func (s *server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *server) close(ctx context.Context) error {
	var errs []error
	if s.http != nil {
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http: %w", err))
		}
	}
	if s.svc != nil {
		if err := s.svc.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if s.bg != nil {
		s.bg()
	}
	if s.webhooks != nil {
		<-s.webhooks.done
	}
	if s.guardDone != nil {
		<-s.guardDone
	}
	if s.watched != nil {
		<-s.watched
	}
	if s.nodes != nil {
		if err := s.nodes.Leave(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if s.sip != nil {
		if err := s.sip.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sip: %w", err))
		}
	}
	if s.vaultStop != nil {
		s.vaultStop()
		<-s.vaultDone
		s.vault.Wait()
	}
	if s.hist != nil {
		if err := s.hist.Close(); err != nil {
			errs = append(errs, fmt.Errorf("history: %w", err))
		}
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// fromRegistrar admits, on the SIP TCP and TLS listeners, the address of
// a registrar that ringproof is registered with now.
func (s *server) fromRegistrar(src netip.Addr) bool {
	d := s.registrars.Load()
	return d != nil && d.FromAnyRegistrar(src)
}

// trunkSources admits, on the SIP TCP and TLS listeners, the sources in
// any trunk's inbound_cidrs.
func trunkSources(cfg *conf.Config) sip.Admit {
	var prefixes [][]netip.Prefix
	for _, t := range cfg.Trunks {
		prefixes = append(prefixes, t.InboundPrefixes())
	}
	return sip.AdmitPrefixes(prefixes...)
}

// stranger is how a call to a proxy number from someone with no session
// there is met: with "announce", answered with "we cannot identify your
// call"; nil (rejected with 404) otherwise.
func stranger(policy string, d *dialer.Dialer) func(context.Context, *sip.Inbound) sip.InboundDecision {
	if policy != "announce" {
		return nil
	}
	return func(ctx context.Context, in *sip.Inbound) sip.InboundDecision {
		if len(in.Offer) == 0 {
			// No SDP offer to answer (a delayed offer): nothing to play.
			return sip.InboundDecision{Status: 404}
		}
		return d.Answer(ctx, in.Offer, "", func(ctx context.Context, conv *dialer.Conversation) {
			_ = conv.Say(ctx, media.PromptUnidentified)
		})
	}
}

// retentionEvery is how often a node deletes history whose retention ended.
const retentionEvery = time.Hour

// expireHistory deletes, at start and then hourly until ctx ends, the
// history, data keys and erasure marks whose retention ended. Every node
// does it; in a cluster they share one history store, and deleting what is
// gone already costs little.
func (s *server) expireHistory(ctx context.Context, log *slog.Logger) {
	for {
		x, err := s.vault.Expire(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("history: retention failed; it is tried again within the hour", "err", err)
		case x.Entries+x.DataKeys+x.Audit > 0:
			log.Info("history: retention deleted what had expired", "entries", x.Entries, "data_keys", x.DataKeys, "audit_entries", x.Audit)
		}
		t := time.NewTimer(retentionEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// serviceSettings turns the configuration's services into what verify
// needs of each.
func serviceSettings(cfg *conf.Config) map[string]verify.ServiceSettings {
	out := make(map[string]verify.ServiceSettings, len(cfg.Services))
	for _, svc := range cfg.Services {
		set := verify.ServiceSettings{
			CodeLength: svc.CodeLength, SMSText: svc.SMSText, Locale: svc.Locale,
			TestNumbers: conf.TestCodes(svc.TestNumbers),
		}
		for _, m := range svc.Methods {
			set.Methods = append(set.Methods, verify.Method(m))
		}
		out[svc.Name] = set
	}
	return out
}

// apiKeys returns every API key of cfg and the service of each:
// http.api_keys as cfg has them (SIGHUP applies them), the services' as
// the node started with them (services take a restart, as the settings
// the service applies to their verifications do).
func (s *server) apiKeys(cfg *conf.Config) (keys, services []string) {
	started := *cfg
	if s.started != nil {
		started.Services = s.started.Services
	}
	return started.APIKeys()
}
