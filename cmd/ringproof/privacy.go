package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/masking"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/verify"
)

// Privacy: the keys that protect personal data at rest, the privacy
// commands (export, erase, audit, rewrap) and the admin API behind them.

// Key files in the embedded store's data dir, used when the configuration
// sets no key. index.key is the name the HMAC key always had.
const (
	hmacKeyFile       = "index.key"
	encryptionKeyFile = "encryption.key"
)

// privacyKeys returns the number index and the keyring, from
// privacy.hmac_key and privacy.encryption_key (conf.Validate requires both
// with an external cluster) or, for a key left empty with the embedded
// store, from a key file in data_dir/keys: made on first start when
// create, else it must exist. Keys kept beside the data they protect earn
// a warning.
func privacyKeys(cfg *conf.Config, create bool, log *slog.Logger) (*privacy.Index, *privacy.Keyring, error) {
	hmacKey, err := cfg.Privacy.HMACKey()
	if err != nil {
		return nil, nil, err
	}
	encKey, err := cfg.Privacy.EncryptionKey()
	if err != nil {
		return nil, nil, err
	}
	oldKeys, err := cfg.Privacy.OldEncryptionKeys()
	if err != nil {
		return nil, nil, err
	}
	fromFile := func(setting, file string, size int) ([]byte, error) {
		if len(cfg.Store.Endpoints) > 0 {
			return nil, fmt.Errorf("%s is required with an external etcd cluster", setting)
		}
		path := filepath.Join(cfg.Store.DataDir, "keys", file)
		var key []byte
		if create {
			var made bool
			if key, made, err = privacy.LoadOrCreateKey(path); err != nil {
				return nil, err
			}
			if made {
				log.Warn(setting+" is not set: generated a key in "+path+"; back it up, or set "+setting+" to keep the key apart from the data it protects", "setting", setting)
			} else {
				log.Warn(setting+" is not set: using the key generated in "+path, "setting", setting)
			}
		} else if key, err = privacy.LoadKey(path); err != nil {
			return nil, fmt.Errorf("%s is not set and %w", setting, err)
		}
		return key[:size], nil
	}
	if hmacKey == nil {
		if hmacKey, err = fromFile("privacy.hmac_key", hmacKeyFile, privacy.KeySize); err != nil {
			return nil, nil, err
		}
	}
	if encKey == nil {
		if encKey, err = fromFile("privacy.encryption_key", encryptionKeyFile, privacy.EncryptionKeySize); err != nil {
			return nil, nil, err
		}
	}
	idx, err := privacy.NewIndex(hmacKey)
	if err != nil {
		return nil, nil, err
	}
	ring, err := privacy.NewKeyring(encKey, oldKeys...)
	if err != nil {
		return nil, nil, err
	}
	return idx, ring, nil
}

// openVault returns the vault of personal data in st and hist.
func openVault(cfg *conf.Config, st *store.Store, hist history.Store, log *slog.Logger, create bool) (*privacy.Vault, error) {
	idx, ring, err := privacyKeys(cfg, create, log)
	if err != nil {
		return nil, err
	}
	return privacy.NewVault(st, privacy.VaultConfig{
		Index:     idx,
		Keyring:   ring,
		History:   hist,
		Retention: time.Duration(cfg.Privacy.RetentionDays) * 24 * time.Hour,
		Places:    append(verify.NumberKeyPlaces(), masking.Places()...),
		Log:       log,
	})
}

// cmdPrivacy runs "ringproof privacy <export|erase|audit|rewrap>".
func cmdPrivacy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		privacyUsage(stderr)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("privacy "+sub, flag.ContinueOnError)
	path := configFlag(fs)
	var (
		number, region, operator, out *string
		dryRun                        *bool
	)
	switch sub {
	case "export", "erase", "audit":
		number = fs.String("number", "", "the phone `number`: E.164, or national with --region")
		region = fs.String("region", "", "ISO 3166 `region` of a national --number, such as GB")
	case "rewrap":
	default:
		fmt.Fprintf(stderr, "ringproof privacy: unknown command %q\n", sub)
		privacyUsage(stderr)
		return 2
	}
	if sub == "export" || sub == "erase" {
		operator = fs.String("operator", os.Getenv("USER"), "who asks, for the audit trail (default $USER)")
	}
	if sub == "export" {
		out = fs.String("out", "", "write the export to `file` (mode 0600) instead of standard output")
	}
	if sub == "erase" {
		dryRun = fs.Bool("dry-run", false, "count what would be erased; erase nothing")
	}
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if number != nil && *number == "" && sub != "audit" {
		fmt.Fprintf(stderr, "ringproof privacy %s: --number is required\n", sub)
		return 2
	}
	var e164 string
	if number != nil && *number != "" {
		n, err := verify.ParseNumber(*number, *region)
		if err != nil {
			fmt.Fprintf(stderr, "ringproof privacy %s: %v\n", sub, err)
			return 2
		}
		e164 = n
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof: %v\n", err)
		return 2
	}
	log := newLogger(conf.Log{Level: "warn", Format: cfg.Log.Format}, stderr)
	octx, cancel := context.WithTimeout(ctx, time.Duration(cfg.Store.DialTimeoutS)*time.Second+10*time.Second)
	st, err := store.Attach(octx, cfg.Store, log)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy %s: no store reachable: %v\n", sub, err)
		return 1
	}
	defer st.Close()
	hist, err := history.Open(ctx, cfg.History, cfg.Store.DataDir)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy %s: %v\n", sub, err)
		return 1
	}
	defer hist.Close()
	vault, err := openVault(cfg, st, hist, log, false)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy %s: %v\n", sub, err)
		return 1
	}
	var by privacy.Actor
	if operator != nil {
		by = privacy.Actor{Operator: *operator, Via: "cli"}
	}

	var doc any
	switch sub {
	case "export":
		doc, err = vault.Export(ctx, e164, by)
	case "erase":
		doc, err = vault.Erase(ctx, e164, *dryRun, by)
	case "audit":
		var entries []privacy.AuditEntry
		if entries, err = vault.Audit(ctx, e164); err == nil {
			doc = map[string]any{"entries": entries}
		}
	case "rewrap":
		var n, total int
		if n, total, err = vault.Rewrap(ctx); err == nil {
			doc = map[string]any{"rewrapped": n, "data_keys": total}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy %s: %v\n", sub, err)
		return 1
	}
	data, _ := json.MarshalIndent(doc, "", "  ")
	data = append(data, '\n')
	if out != nil && *out != "" {
		if err := os.WriteFile(*out, data, 0o600); err != nil {
			fmt.Fprintf(stderr, "ringproof privacy export: %v\n", err)
			return 1
		}
		return 0
	}
	if _, err := stdout.Write(data); err != nil {
		return 1
	}
	return 0
}

func privacyUsage(w io.Writer) {
	fmt.Fprint(w, `usage: ringproof privacy <command> [flags]

commands:
  export --number N [--region R] [--out FILE] [--operator NAME]
            print everything held about a number, as one JSON document
  erase --number N [--region R] [--dry-run] [--operator NAME]
            delete everything held about a number, hang up its calls,
            and print what was deleted, by kind
  audit [--number N [--region R]]
            list the audit trail of exports and erasures
  rewrap    rewrap data keys under privacy.encryption_key (after a rotation)

Every command takes --config FILE. With the embedded store they work
whether "ringproof serve" runs or not: when it holds the data dir, they
connect to its etcd as a client. See docs/privacy.md.
`)
}

// privacyHandler serves the admin API under /v1/privacy/: export, erase and
// the audit trail, for compliance staff holding an admin key.
type privacyHandler struct {
	vault   *privacy.Vault
	admin   [][]byte
	api     [][]byte
	maxBody int64
	log     *slog.Logger
	mux     *http.ServeMux
}

func newPrivacyHandler(v *privacy.Vault, c conf.HTTP, log *slog.Logger) http.Handler {
	h := &privacyHandler{vault: v, maxBody: c.MaxBodyBytes, log: log, mux: http.NewServeMux()}
	for _, k := range c.AdminKeys {
		h.admin = append(h.admin, []byte(k))
	}
	for _, k := range c.APIKeys {
		h.api = append(h.api, []byte(k))
	}
	h.mux.HandleFunc("GET /v1/privacy/export", h.export)
	h.mux.HandleFunc("POST /v1/privacy/erase", h.erase)
	h.mux.HandleFunc("GET /v1/privacy/audit", h.audit)
	for _, path := range []string{"/v1/privacy/export", "/v1/privacy/erase", "/v1/privacy/audit"} {
		h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			verify.WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here", "")
		})
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		verify.WriteError(w, http.StatusNotFound, "not_found", "no such resource", "")
	})
	return h
}

// ServeHTTP admits admin keys only: no key (or an unknown one) gets 401,
// an application's API key 403. With no admin key configured the API is
// off: 404.
func (h *privacyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.admin) == 0 {
		verify.WriteError(w, http.StatusNotFound, "not_found", "the privacy API is off: http.admin_keys is empty", "")
		return
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	admin, api := match(h.admin, token), match(h.api, token)
	switch {
	case admin >= 0:
		by := privacy.Actor{Operator: "admin_keys[" + strconv.Itoa(admin) + "]", Via: "api"}
		h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, by)))
	case api >= 0:
		verify.WriteError(w, http.StatusForbidden, "forbidden", "the privacy API needs an admin key, not an API key", "")
	default:
		w.Header().Set("WWW-Authenticate", `Bearer realm="ringproof-admin"`)
		verify.WriteError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong admin key", "")
	}
}

// match returns the index of token among keys, or -1, comparing with every
// key in constant time.
func match(keys [][]byte, token string) int {
	found := -1
	for i, k := range keys {
		if subtle.ConstantTimeCompare(k, []byte(token)) == 1 && token != "" {
			found = i
		}
	}
	return found
}

// actorKey is the request context key of the admin making the request.
type actorKey struct{}

func (h *privacyHandler) actor(r *http.Request) privacy.Actor {
	by, _ := r.Context().Value(actorKey{}).(privacy.Actor)
	return by
}

func (h *privacyHandler) export(w http.ResponseWriter, r *http.Request) {
	number, ok := h.queryNumber(w, r)
	if !ok {
		return
	}
	x, err := h.vault.Export(r.Context(), number, h.actor(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, x)
}

// eraseRequest is the body of POST /v1/privacy/erase.
type eraseRequest struct {
	Number string `json:"number"`
	Region string `json:"region"`
	DryRun bool   `json:"dry_run"`
}

func (h *privacyHandler) erase(w http.ResponseWriter, r *http.Request) {
	var req eraseRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, h.maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		verify.WriteError(w, http.StatusBadRequest, "invalid_json", "body must be one JSON object: {\"number\", \"region\"?, \"dry_run\"?}", "")
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
	h.log.Info("privacy: number erased", "number", privacy.Mask(number), "dry_run", req.DryRun, "operator", h.actor(r).Operator)
	writeJSON(w, x)
}

func (h *privacyHandler) audit(w http.ResponseWriter, r *http.Request) {
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
	writeJSON(w, map[string]any{"entries": entries})
}

// queryNumber parses the number and region of r's query, answering 400
// when the number is not valid.
//
// A URL query reads '+' as a space (form encoding), so ?number=+447911123456
// arrives as " 447911123456". Since no number starts with a space, a
// number whose raw query value starts with '+' is read with the plus it
// was meant to have. Any other space (a %20, or a '+' inside the number)
// is left to refuse, and the error says to write the plus as %2B.
func (h *privacyHandler) queryNumber(w http.ResponseWriter, r *http.Request) (string, bool) {
	q := r.URL.Query()
	number := q.Get("number")
	if strings.HasPrefix(number, " ") && rawStartsWithPlus(r.URL.RawQuery, "number") {
		number = "+" + number[1:]
	}
	n, err := verify.ParseNumber(number, q.Get("region"))
	var in *verify.InputError
	if errors.As(err, &in) {
		msg := in.Message
		if strings.Contains(number, " ") {
			msg += `; a "+" in a URL query reads as a space: write it as %2B (number=%2B447911123456)`
		}
		verify.WriteError(w, http.StatusBadRequest, in.Code, msg, in.Field)
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
func (h *privacyHandler) number(w http.ResponseWriter, number, region string) (string, bool) {
	n, err := verify.ParseNumber(number, region)
	var in *verify.InputError
	if errors.As(err, &in) {
		verify.WriteError(w, http.StatusBadRequest, in.Code, in.Message, in.Field)
		return "", false
	}
	return n, err == nil
}

func (h *privacyHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		w.Header().Set("Retry-After", "2")
		verify.WriteError(w, http.StatusServiceUnavailable, "unavailable", "state store unavailable; retry", "")
		return
	}
	h.log.Error("privacy request failed", "path", r.URL.Path, "err", err)
	verify.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
