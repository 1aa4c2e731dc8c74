package privacy

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/store"
)

// handler serves the admin API under /v1/privacy/: export, erase and the
// audit trail, for compliance staff holding an admin key.
type handler struct {
	vault *Vault
	admin api.Keys
	// operators are the names of the admin keys, in order, as the audit
	// trail records them (conf.HTTP.Operator).
	operators []string
	api       api.Keys
	maxBody   int64
	log       *slog.Logger
	mux       *http.ServeMux
}

// NewHandler serves the privacy API of v to holders of an admin key
// (c.AdminKeys):
//
//	GET  /v1/privacy/export?number=…[&region=…]          200 the Export
//	POST /v1/privacy/erase {"number","region"?,"dry_run"?} 200 the Erasure
//	GET  /v1/privacy/audit[?number=…[&region=…]]         200 {"entries":[…]}
//	GET  /v1/privacy/audit/verify                         200 the AuditCheck (409 if broken)
//	GET  /v1/privacy/report                               200 the Report of holdings
//
// No key (or an unknown one) gets 401, an application's API key
// (c.APIKeys) 403. With no admin key configured the API is off: 404. The
// audit trail names the admin key that acted by its name, or by its place
// (admin_keys[i]) when it has none.
func NewHandler(v *Vault, c conf.HTTP, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &handler{vault: v, admin: api.NewKeys(c.AdminTokens()), api: api.NewKeys(c.APIKeys),
		maxBody: c.MaxBodyBytes, log: log, mux: http.NewServeMux()}
	for i := range c.AdminKeys {
		h.operators = append(h.operators, c.Operator(i))
	}
	h.mux.HandleFunc("GET /v1/privacy/export", h.export)
	h.mux.HandleFunc("POST /v1/privacy/erase", h.erase)
	h.mux.HandleFunc("GET /v1/privacy/audit", h.audit)
	h.mux.HandleFunc("GET /v1/privacy/audit/verify", h.verifyAudit)
	h.mux.HandleFunc("GET /v1/privacy/report", h.report)
	for _, path := range []string{"/v1/privacy/export", "/v1/privacy/erase", "/v1/privacy/audit", "/v1/privacy/audit/verify", "/v1/privacy/report"} {
		h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			api.WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here", "")
		})
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such resource", "")
	})
	return h
}

// ServeHTTP admits admin keys only.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.admin) == 0 {
		api.WriteError(w, http.StatusNotFound, "not_found", "the privacy API is off: http.admin_keys is empty", "")
		return
	}
	token := api.Bearer(r)
	admin, key := h.admin.MatchToken(token), h.api.MatchToken(token)
	switch {
	case admin >= 0:
		by := Actor{Operator: h.operators[admin], Via: "api"}
		h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, by)))
	case key >= 0:
		api.WriteError(w, http.StatusForbidden, "forbidden", "the privacy API needs an admin key, not an API key", "")
	default:
		api.WriteUnauthorized(w, "ringproof-admin", "missing or wrong admin key")
	}
}

// actorKey is the request context key of the admin making the request.
type actorKey struct{}

func (h *handler) actor(r *http.Request) Actor {
	by, _ := r.Context().Value(actorKey{}).(Actor)
	return by
}

func (h *handler) export(w http.ResponseWriter, r *http.Request) {
	number, ok := h.queryNumber(w, r)
	if !ok {
		return
	}
	x, err := h.vault.Export(r.Context(), number, h.actor(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, x)
}

// eraseRequest is the body of POST /v1/privacy/erase.
type eraseRequest struct {
	Number string `json:"number"`
	Region string `json:"region"`
	DryRun bool   `json:"dry_run"`
}

func (h *handler) erase(w http.ResponseWriter, r *http.Request) {
	var req eraseRequest
	if !api.DecodeBody(w, r, h.maxBody, &req) {
		return
	}
	number, ok := h.number(w, req.Number, req.Region)
	if !ok {
		return
	}
	x, err := h.vault.Erase(r.Context(), number, req.DryRun, h.actor(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("privacy: number erased", "number", Mask(number), "dry_run", req.DryRun, "operator", h.actor(r).Operator)
	api.WriteJSON(w, http.StatusOK, x)
}

func (h *handler) audit(w http.ResponseWriter, r *http.Request) {
	var number string
	if r.URL.Query().Get("number") != "" {
		var ok bool
		if number, ok = h.queryNumber(w, r); !ok {
			return
		}
	}
	entries, err := h.vault.Audit(r.Context(), number)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// verifyAudit checks the audit chain: 200 when it holds, 409 with the
// first broken link when it does not.
func (h *handler) verifyAudit(w http.ResponseWriter, r *http.Request) {
	c, err := h.vault.VerifyAudit(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if !c.OK {
		status = http.StatusConflict
		h.log.Warn("privacy: the audit trail is broken", "seq", c.Broken.Seq, "problem", c.Broken.Problem)
	}
	api.WriteJSON(w, status, c)
}

// report describes what is held, by kind of personal data.
func (h *handler) report(w http.ResponseWriter, r *http.Request) {
	rep, err := h.vault.Report(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, rep)
}

// queryNumber parses the number and region of r's query, answering 400
// when the number is not valid.
//
// A URL query reads '+' as a space (form encoding), so ?number=+447911123456
// arrives as " 447911123456". Since no number starts with a space, a
// number whose raw query value starts with '+' is read with the plus it
// was meant to have. Any other space (a %20, or a '+' inside the number)
// is left to refuse, and the error says to write the plus as %2B.
func (h *handler) queryNumber(w http.ResponseWriter, r *http.Request) (string, bool) {
	q := r.URL.Query()
	raw := q.Get("number")
	if strings.HasPrefix(raw, " ") && rawStartsWithPlus(r.URL.RawQuery, "number") {
		raw = "+" + raw[1:]
	}
	n, err := number.Parse(raw, q.Get("region"))
	var in *api.InputError
	if errors.As(err, &in) {
		msg := in.Message
		if strings.Contains(raw, " ") {
			msg += `; a "+" in a URL query reads as a space: write it as %2B (number=%2B447911123456)`
		}
		api.WriteError(w, http.StatusBadRequest, in.Code, msg, in.Field)
		return "", false
	}
	return n, err == nil
}

// rawStartsWithPlus reports whether the first value of key in the raw
// query rawQuery starts with a literal '+'.
func rawStartsWithPlus(rawQuery, key string) bool {
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if k, v, _ := strings.Cut(pair, "="); k == key {
			return strings.HasPrefix(v, "+")
		}
	}
	return false
}

// number parses a number parameter, answering 400 when it is not valid.
func (h *handler) number(w http.ResponseWriter, raw, region string) (string, bool) {
	n, err := number.Parse(raw, region)
	if err != nil {
		api.WriteInputError(w, err)
		return "", false
	}
	return n, true
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		w.Header().Set("Retry-After", "2")
		api.WriteError(w, http.StatusServiceUnavailable, "unavailable", "state store unavailable; retry", "")
		return
	}
	h.log.Error("privacy request failed", "path", r.URL.Path, "err", err)
	api.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
}
