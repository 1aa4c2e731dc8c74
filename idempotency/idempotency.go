// Package idempotency makes API creates safe to retry: a POST bearing an
// Idempotency-Key is answered once, and the same key with the same body,
// from the same API key, gets that first answer again for 24 hours,
// across the cluster, without the create being run again (no second call
// placed, no second event taken from the number's rate limit). The same
// key with another body is refused with 422; while the first request is
// still being answered, a second gets 409.
//
// The answers live in the history store (history.Store's idempotency
// rows), never in etcd: under a keyed hash of the API key and the
// Idempotency-Key, sealed (AES-256-GCM) with a key derived from both, so
// that a copy of the database shows neither the keys nor the answers (a
// create's answer may hold a code to show).
package idempotency

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/history"
)

// Header is the request header that names a request for idempotency.
const Header = "Idempotency-Key"

// ReplayedHeader is set ("true") on an answer replayed from the first
// request with the key.
const ReplayedHeader = "Idempotent-Replayed"

const (
	// Retention is how long a key's answer is kept and replayed.
	Retention = 24 * time.Hour
	// Lock is how long a request may take before another with the same
	// key and body takes its place (the first one's node died).
	Lock = time.Minute
	// MaxKeyLength bounds an Idempotency-Key.
	MaxKeyLength = 255
)

// Store is what the guard needs of the history store.
type Store interface {
	ClaimIdempotency(ctx context.Context, c history.IdempotencyClaim) (history.Idempotency, bool, error)
	CompleteIdempotency(ctx context.Context, key string, status int, response []byte) error
	ReleaseIdempotency(ctx context.Context, key string) error
}

// Guard wraps the routes whose POSTs honour Idempotency-Key.
type Guard struct {
	st      Store
	who     func(r *http.Request) string
	keyed   func(domain string, parts ...string) []byte
	paths   []string
	maxBody int64
	log     *slog.Logger
	now     func() time.Time
}

// New returns a guard that keeps answers in st for POSTs to paths (exact
// paths: "/v1/verifications"). who names the secret key a request bears
// (an API key), or "" for a request whose key is not secret or not valid
// (a publishable key, which every visitor of a page holds: answers kept
// under it could be replayed to anyone) and which the guard passes by.
// keyed is a keyed hash (an HMAC under the deployment's secret key) of a
// domain and parts, 32 bytes or more; maxBody caps the bodies read.
func New(st Store, who func(r *http.Request) string, keyed func(domain string, parts ...string) []byte, maxBody int64, log *slog.Logger, paths ...string) *Guard {
	if log == nil {
		log = slog.Default()
	}
	return &Guard{st: st, who: who, keyed: keyed, paths: paths, maxBody: maxBody, log: log, now: time.Now}
}

// answer is a kept answer, as sealed in the store.
type answer struct {
	Status      int    `json:"status"`
	ContentType string `json:"content_type,omitempty"`
	Location    string `json:"location,omitempty"`
	Body        []byte `json:"body"`
}

// Wrap returns next with the guard in front of it.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, named := r.Header[Header]
		if !named || r.Method != http.MethodPost || !slices.Contains(g.paths, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		who := g.who(r)
		if who == "" {
			next.ServeHTTP(w, r) // no secret key: nothing is kept
			return
		}
		if len(key) != 1 || !validKey(key[0]) {
			api.WriteError(w, http.StatusBadRequest, "invalid",
				fmt.Sprintf("%s must be one value of 1 to %d printable ASCII characters", Header, MaxKeyLength), Header)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, g.maxBody+1))
		r.Body.Close()
		if err != nil {
			api.WriteError(w, http.StatusBadRequest, "invalid", "cannot read the request body", "")
			return
		}
		if int64(len(body)) > g.maxBody {
			api.WriteError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body exceeds %d bytes", g.maxBody), "")
			return
		}
		g.serve(w, r, next, who, key[0], body)
	})
}

func (g *Guard) serve(w http.ResponseWriter, r *http.Request, next http.Handler, who, key string, body []byte) {
	rowKey := hex.EncodeToString(g.keyed("idempotency key", who, key)[:16])
	sum := sha256.Sum256(append([]byte(r.URL.Path+"\x00"), body...))
	now := g.now()
	row, claimed, err := g.st.ClaimIdempotency(r.Context(), history.IdempotencyClaim{
		Key: rowKey, BodyHash: sum[:], At: now, LockedUntil: now.Add(Lock), ExpiresAt: now.Add(Retention),
	})
	switch {
	case err != nil:
		g.log.Warn("idempotency: cannot read the history store", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "2")
		api.WriteError(w, http.StatusServiceUnavailable, "unavailable", "history store unavailable; retry with the same "+Header, "")
	case claimed:
		g.first(w, r, next, rowKey, g.seal(who, key), body)
	case !bytes.Equal(row.BodyHash, sum[:]):
		api.WriteError(w, http.StatusUnprocessableEntity, "idempotency_key_reused",
			"this "+Header+" was used with another request body (or route) in the last 24 hours; use a new key for a new request", Header)
	case row.Status == 0:
		w.Header().Set("Retry-After", "1")
		api.WriteError(w, http.StatusConflict, "idempotency_key_in_flight",
			"a request with this "+Header+" is still being answered; retry in a moment to get its answer", Header)
	default:
		a, err := openAnswer(g.seal(who, key), rowKey, row.Response)
		if err != nil {
			g.log.Error("idempotency: a kept answer cannot be opened", "err", err)
			api.WriteError(w, http.StatusInternalServerError, "internal", "internal error", "")
			return
		}
		if a.ContentType != "" {
			w.Header().Set("Content-Type", a.ContentType)
		}
		if a.Location != "" {
			w.Header().Set("Location", a.Location)
		}
		w.Header().Set(ReplayedHeader, "true")
		w.WriteHeader(a.Status)
		w.Write(a.Body)
	}
}

// first runs the request that claimed the key and keeps its answer, unless
// it is worth another try (5xx, 429) or was refused before any work
// (401, 403): then the key is released, and the next request with it runs
// again.
func (g *Guard) first(w http.ResponseWriter, r *http.Request, next http.Handler, rowKey string, seal cipher.AEAD, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{StatusWriter: api.StatusWriter{ResponseWriter: w}}
	next.ServeHTTP(rec, r)
	status := rec.Status()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusUnauthorized || status == http.StatusForbidden {
		if err := g.st.ReleaseIdempotency(ctx, rowKey); err != nil {
			g.log.Warn("idempotency: cannot release a key; it is free again within a minute", "err", err)
		}
		return
	}
	a := answer{Status: status, ContentType: rec.Header().Get("Content-Type"), Location: rec.Header().Get("Location"), Body: rec.body.Bytes()}
	sealed, err := sealAnswer(seal, rowKey, a)
	if err == nil {
		err = g.st.CompleteIdempotency(ctx, rowKey, status, sealed)
	}
	if err != nil {
		g.log.Warn("idempotency: cannot keep an answer; a retry within a minute gets 409, later it runs again", "path", r.URL.Path, "err", err)
	}
}

// validKey reports whether k is 1 to MaxKeyLength printable ASCII
// characters.
func validKey(k string) bool {
	if len(k) == 0 || len(k) > MaxKeyLength {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// seal is the AEAD that seals the answers of key sent by who.
func (g *Guard) seal(who, key string) cipher.AEAD {
	b, err := aes.NewCipher(g.keyed("idempotency seal", who, key)[:32])
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return a
}

func sealAnswer(a cipher.AEAD, rowKey string, ans answer) ([]byte, error) {
	plain, err := json.Marshal(ans)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return a.Seal(nonce, nonce, plain, []byte(rowKey)), nil
}

func openAnswer(a cipher.AEAD, rowKey string, sealed []byte) (answer, error) {
	var ans answer
	if len(sealed) < a.NonceSize() {
		return ans, errors.New("sealed answer too short")
	}
	plain, err := a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], []byte(rowKey))
	if err != nil {
		return ans, err
	}
	err = json.Unmarshal(plain, &ans)
	return ans, err
}

// recorder passes a response on and keeps a copy of its body; its
// api.StatusWriter keeps the status.
type recorder struct {
	api.StatusWriter
	body bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.body.Write(p)
	return r.StatusWriter.Write(p)
}
