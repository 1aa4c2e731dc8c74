package verify

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/privacy"
)

// Publishable keys are the keys web pages hold (the widget): public by
// nature, so each is confined. A request bearing one must come from a page
// on one of the key's origins (the Origin header; for a page served by
// ringproof itself, Sec-Fetch-Site same-origin) and is limited per client
// IP. With it a page may only
//
//   - create verifications by the key's methods (fallbacks included),
//   - read, check, hang up and cancel the verifications the key created,
//     and
//   - read which methods the key allows (GET /v1/widget).
//
// Anything else is 403; another's verification is 404, as if it did not
// exist. The event stream is followed with the watch token that create
// returned (sse.go), as EventSource sends no Authorization header. A
// verification records which key created it (record.Creator: a digest of
// the key, not the key) and its fallback links inherit it.

// PublishableKey is a key for web pages (conf.PublishableKey).
type PublishableKey struct {
	Key     string
	Origins []string
	// Methods are the methods the key may create verifications and
	// fallbacks with.
	Methods []Method
	// PerIP holds each client IP to the key's rate, its subjects being
	// what the Handler's subject function makes of client IPs; nil: no
	// limit.
	PerIP Limiter
	// Service is the service whose verifications the key creates (its
	// settings apply); "": the implicit one.
	Service string
}

// Limiter holds subjects to a rate across the cluster (limit.Limiter).
type Limiter interface {
	// Allow takes one event from subject's budget if it has one; refused,
	// it returns false and how long until one would be granted.
	Allow(ctx context.Context, subject string) (ok bool, retryAfter time.Duration, err error)
}

// publishable is what a Handler knows of publishable keys.
type publishable struct {
	keys    []pubKey
	tokens  api.Keys // the keys' tokens, in the order of keys
	subject func(clientIP string) string
	mux     *http.ServeMux
}

// pubKey is a publishable key and the name records know it by.
type pubKey struct {
	PublishableKey
	id string
}

// pubKeyCtx is the context key of the publishable key a request bears.
type pubKeyCtx struct{}

// AllowPublishable lets pages use keys. Each key's PerIP limiter counts
// requests under subject(ClientIP(r)): an opaque name of the client IP,
// such as a keyed hash, for limiters keep subjects in the store. It must
// be called before h serves requests.
func (h *Handler) AllowPublishable(keys []PublishableKey, subject func(clientIP string) string) {
	p := &publishable{subject: subject, mux: http.NewServeMux()}
	for _, k := range keys {
		p.keys = append(p.keys, pubKey{PublishableKey: k, id: creatorID(k.Key)})
		p.tokens = append(p.tokens, []byte(k.Key))
	}
	p.mux.HandleFunc("POST /v1/verifications", h.pubCreate)
	p.mux.HandleFunc("GET /v1/verifications/{id}", h.pubGet)
	p.mux.HandleFunc("POST /v1/verifications/{id}/check", h.pubCheck)
	p.mux.HandleFunc("POST /v1/verifications/{id}/hangup", h.pubHangup)
	p.mux.HandleFunc("POST /v1/verifications/{id}/cancel", h.pubCancel)
	p.mux.HandleFunc("GET /v1/widget", h.pubSettings)
	p.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, http.StatusForbidden, "forbidden",
			"a publishable key may only create verifications and read, check, hang up or cancel its own", "")
	})
	h.pub = p
}

// PublishableOrigins returns every origin of keys, each once: the pages
// whose preflights and event streams CORS must allow.
func PublishableOrigins(keys []PublishableKey) []string {
	var out []string
	for _, k := range keys {
		for _, o := range k.Origins {
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

// PublishableKeyID is the name a record keeps of the publishable key that
// created it (record.Creator), and limiters may use: a digest, so that the
// store does not spread keys about.
func PublishableKeyID(key string) string { return creatorID(key) }

func creatorID(key string) string {
	sum := sha256.Sum256([]byte("ringproof publishable key\x00" + key))
	return "pk:" + hex.EncodeToString(sum[:8])
}

// publishableKey returns the publishable key r bears, or nil.
func (h *Handler) publishableKey(r *http.Request) *pubKey {
	if h.pub == nil {
		return nil
	}
	if i := h.pub.tokens.Match(r); i >= 0 {
		return &h.pub.keys[i]
	}
	return nil
}

// servePublishable serves a request bearing k: from one of k's origins,
// within k's limit for the client IP, on the routes k may use.
func (h *Handler) servePublishable(w http.ResponseWriter, r *http.Request, k *pubKey) {
	origin, ok := allowedOrigin(r, k.Origins)
	if !ok {
		api.WriteError(w, http.StatusForbidden, "origin_not_allowed",
			"this publishable key may be used only from the pages listed in its origins; the request's Origin is not one", "")
		return
	}
	if origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Expose-Headers", "Location, Retry-After")
		w.Header().Add("Vary", "Origin")
	}
	if k.PerIP != nil {
		within, retry, err := k.PerIP.Allow(r.Context(), h.pub.subject(ClientIP(r)))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !within {
			w.Header().Set("Retry-After", strconv.Itoa(max(int(math.Ceil(retry.Seconds())), 1)))
			api.WriteError(w, http.StatusTooManyRequests, "rate_limited",
				"too many requests from this address with this key; try later", "")
			return
		}
	}
	h.pub.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pubKeyCtx{}, k)))
}

// allowedOrigin reports whether r comes from a page on one of origins, and
// returns its Origin for Access-Control-Allow-Origin ("" when the browser
// sent none, for a same-origin GET). A request without Origin passes only
// when the browser says it comes from a page of this server
// (Sec-Fetch-Site: same-origin) and origins list this server's address.
func allowedOrigin(r *http.Request, origins []string) (string, bool) {
	if o := r.Header.Get("Origin"); o != "" {
		return o, slices.Contains(origins, o)
	}
	if r.Header.Get("Sec-Fetch-Site") != "same-origin" || r.Host == "" {
		return "", false
	}
	// Behind a proxy that ends TLS the server sees http: either scheme
	// names this server.
	return "", slices.Contains(origins, "https://"+r.Host) || slices.Contains(origins, "http://"+r.Host)
}

// ClientIP is the address r's limits count against: the one WithClientIP
// set (the client behind a trusted proxy), else the host of its
// RemoteAddr; for IPv6, its /64 (one subscriber's share).
func ClientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(netip.Addr); ok {
		return ipSubject(ip)
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ipSubject(ap.Addr())
}

type clientIPKey struct{}

// WithClientIP returns r as coming from ip, for ClientIP: a server behind
// trusted reverse proxies sets the address they forwarded.
func WithClientIP(r *http.Request, ip netip.Addr) *http.Request {
	if !ip.IsValid() {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), clientIPKey{}, ip))
}

// ipSubject is ip, or for IPv6 its /64.
func ipSubject(ip netip.Addr) string {
	a := ip.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// requestKey returns the publishable key servePublishable put in r's
// context.
func requestKey(r *http.Request) *pubKey { return r.Context().Value(pubKeyCtx{}).(*pubKey) }

func (h *Handler) pubCreate(w http.ResponseWriter, r *http.Request) {
	k := requestKey(r)
	var req CreateRequest
	if !h.decode(w, r, &req) {
		return
	}
	if req.Method != "" && !slices.Contains(k.Methods, Method(req.Method)) {
		api.WriteError(w, http.StatusForbidden, "method_not_allowed",
			fmt.Sprintf("this key may not create %s verifications; it may create: %s", req.Method, joinMethods(k.Methods)), "method")
		return
	}
	for _, m := range req.Fallback {
		if !slices.Contains(k.Methods, Method(m)) {
			api.WriteError(w, http.StatusForbidden, "method_not_allowed",
				fmt.Sprintf("this key may not fall back to %s; it may use: %s", m, joinMethods(k.Methods)), "fallback")
			return
		}
	}
	v, err := h.svc.createFor(r.Context(), req, k.id, cmp.Or(k.Service, api.DefaultService))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/verifications/"+v.ID)
	api.WriteJSON(w, http.StatusCreated, pageView(v))
}

func (h *Handler) pubGet(w http.ResponseWriter, r *http.Request) {
	v, err := h.svc.getFor(r.Context(), r.PathValue("id"), requestKey(r).id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v = pageView(v)
	v.WatchToken = ""
	api.WriteJSON(w, http.StatusOK, v)
}

func (h *Handler) pubCheck(w http.ResponseWriter, r *http.Request) {
	if _, err := h.svc.getFor(r.Context(), r.PathValue("id"), requestKey(r).id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.check(w, r)
}

func (h *Handler) pubHangup(w http.ResponseWriter, r *http.Request) {
	h.pubAct(w, r, h.svc.Hangup)
}

func (h *Handler) pubCancel(w http.ResponseWriter, r *http.Request) {
	h.pubAct(w, r, h.svc.Cancel)
}

// pubAct does act (hang up, cancel) on the verification r names, if the
// key r bears created it, and answers with it as the page sees it.
func (h *Handler) pubAct(w http.ResponseWriter, r *http.Request, act func(ctx context.Context, id string) (*Verification, error)) {
	if _, err := h.svc.getFor(r.Context(), r.PathValue("id"), requestKey(r).id); err != nil {
		h.fail(w, r, err)
		return
	}
	if !h.drainEmpty(w, r) {
		return
	}
	v, err := act(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v = pageView(v)
	v.WatchToken = ""
	api.WriteJSON(w, http.StatusOK, v)
}

// WidgetSettings is the answer to GET /v1/widget: what the page may offer.
type WidgetSettings struct {
	Methods []Method `json:"methods"`
}

func (h *Handler) pubSettings(w http.ResponseWriter, r *http.Request) {
	api.WriteJSON(w, http.StatusOK, WidgetSettings{Methods: requestKey(r).Methods})
}

// pageView is v as a web page sees it: the number masked, as on the event
// stream.
func pageView(v *Verification) *Verification {
	out := *v
	out.Number = privacy.Mask(v.Number)
	return &out
}

func joinMethods(ms []Method) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// createFor is Create for the publishable key named creator, of service:
// the record remembers it, and only that key may act on it.
func (s *Service) createFor(ctx context.Context, req CreateRequest, creator, service string) (*Verification, error) {
	rec, err := s.newRecord(req, service)
	if err != nil {
		return nil, err
	}
	rec.Creator = creator
	return s.create(ctx, rec)
}

// getFor is Get for the publishable key named creator: ErrNotFound unless
// that key created the verification.
func (s *Service) getFor(ctx context.Context, id, creator string) (*Verification, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(r.Creator), []byte(creator)) != 1 {
		return nil, ErrNotFound
	}
	v := r.view(s.now())
	v.ResultToken = s.resultToken(v)
	return v, nil
}
