package verify

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ringproof/ringproof/api"
)

// FailureCounter counts an address's failed authentications against a
// budget shared by every node (limit.Limiter): Allow takes one from
// subject's budget, or says how long until there is one again.
type FailureCounter interface {
	Allow(ctx context.Context, subject string) (ok bool, retryAfter time.Duration, err error)
}

// keyGuardMaxBlocked bounds the addresses a KeyGuard remembers refusing.
const keyGuardMaxBlocked = 100_000

// KeyGuard stands in front of every authenticated route against guessing
// keys: each answer 401 (a missing or wrong API, admin or publishable
// key) counts against the client address's budget of failures, held
// across the cluster; once it is spent, every request from the address is
// answered 429 with Retry-After, before its key is looked at (so that the
// answer tells a guesser nothing), until the budget has room again. A
// client address is ClientIP's: behind a reverse proxy, the proxy's.
type KeyGuard struct {
	failures FailureCounter
	subject  func(ip string) string // an opaque id for the address
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	blocked map[string]time.Time // ClientIP -> refused until
}

// NewKeyGuard returns a guard counting failures with failures, under
// subject(ip) (a keyed hash: addresses are personal data and must not
// appear in store keys).
func NewKeyGuard(failures FailureCounter, subject func(ip string) string, log *slog.Logger) *KeyGuard {
	if log == nil {
		log = slog.Default()
	}
	return &KeyGuard{failures: failures, subject: subject, log: log, now: time.Now, blocked: map[string]time.Time{}}
}

// Wrap returns h behind the guard.
func (g *KeyGuard) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := ClientIP(r)
		if wait := g.refusedFor(ip); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			api.WriteError(w, http.StatusTooManyRequests, "too_many_failed_authentications", "too many requests with a missing or wrong key from your address; retry later", "")
			return
		}
		sw := &api.StatusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.Status() == http.StatusUnauthorized {
			g.failed(r.Context(), ip)
		}
	})
}

// refusedFor returns how much longer ip is refused; 0 if it is not.
func (g *KeyGuard) refusedFor(ip string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.blocked[ip]
	if !ok {
		return 0
	}
	if wait := until.Sub(g.now()); wait > 0 {
		return wait
	}
	delete(g.blocked, ip)
	return 0
}

// failed counts a failed authentication from ip, and refuses ip once its
// budget is spent. Should the store not answer, the failure goes
// uncounted: a store outage must not lock everybody out.
func (g *KeyGuard) failed(ctx context.Context, ip string) {
	ok, wait, err := g.failures.Allow(context.WithoutCancel(ctx), g.subject(ip))
	if err != nil {
		g.log.Warn("cannot count a failed authentication", "err", err)
		return
	}
	if ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.blocked) >= keyGuardMaxBlocked {
		now := g.now()
		for k, until := range g.blocked {
			if !until.After(now) {
				delete(g.blocked, k)
			}
		}
	}
	if len(g.blocked) < keyGuardMaxBlocked {
		g.blocked[ip] = g.now().Add(wait)
	}
	g.log.Warn("too many failed authentications from one address: refusing its requests", "retry_after", wait.Round(time.Second))
}
