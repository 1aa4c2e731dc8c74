package verify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/webhook"
)

// The service: what it needs of the store and the dialer (interfaces
// declared here, where they are used), its configuration, and its life
// (NewService, Close). Its work is in operations.go (the API's
// operations), request.go (checking a create request), calls.go (the
// calls this node places), storage.go (records in the store, sealed),
// inbound.go (the user's calls) and remote.go (what crosses nodes).

// Store is what the service needs of the state store (store.Store).
type Store interface {
	Put(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
	Watch(ctx context.Context, prefix string) <-chan store.Event
	Keys(ctx context.Context, prefix string) ([]string, error)
	Broadcast(prefix string) *store.Broadcast
	Get(ctx context.Context, key string) ([]byte, int64, error)
	UpdateWithFrom(ctx context.Context, key string, cur []byte, rev int64, fn func(cur []byte) ([]byte, []store.Op, error)) ([]byte, int64, error)
	// Apply and GetSerializable serve the per-number rate limit
	// (package limit).
	Apply(ctx context.Context, t store.Txn) (store.TxnResult, error)
	GetSerializable(ctx context.Context, key string) ([]byte, int64, error)
}

// Dialer places the calls and sends the texts of verifications (serve
// adapts dialer.Dialer to it).
type Dialer interface {
	// DrawCallerID draws a caller ID for a flash call to number from its
	// route's pool and says how to lease it for numberKey; the
	// verification's transaction writes the lease.
	DrawCallerID(number, numberKey string) (CallerIDLease, error)
	// Flash calls number from callerID and hangs up when it rings,
	// reporting each step; cancelling ctx hangs up.
	Flash(ctx context.Context, callerID, number string, report func(CallEvent)) CallEvent
	// Call places a call to be answered, with audio: answered, it returns
	// the conversation and the answer; otherwise nil and the final event.
	Call(ctx context.Context, number, locale string, report func(CallEvent)) (Conversation, CallEvent)
	// SendText texts body to number and returns the final event (sent,
	// failed or timeout).
	SendText(ctx context.Context, number, body string) CallEvent
}

// Config is the part of the configuration the service uses.
type Config struct {
	CodeLength          int
	MaxCodeLength       int // longest code a request may ask for; 0 or more than conf.MaxCodeLength means conf.MaxCodeLength
	Expiry              time.Duration
	MaxAttempts         int
	MaxPerNumberPerHour int
	// Grace keeps a record in the store this long after its expiry, so
	// that late checks get "expired" rather than "not found"
	// (verification.grace_s). 0 removes it at expiry.
	Grace time.Duration
	// Node names this node in records, for clusters.
	Node string
	// DialNumbers are the system numbers users call (inbound methods).
	DialNumbers []conf.NumberRange
	// InboundStatus is the final response to inbound missed calls.
	InboundStatus int
	// InboundRing is how long an inbound call rings before it.
	InboundRing time.Duration
	// TrunkRegions maps a trunk name to the region its national caller
	// IDs are read in.
	TrunkRegions map[string]string
	// UnknownCaller is "reject" or "announce" (answer with a prompt).
	UnknownCaller string
	// VoiceRepeat is how many times a voice call speaks the code.
	VoiceRepeat int
	// SMSText is the sms method's message, {code} standing for the code.
	// Empty means "Your verification code is {code}".
	SMSText string
	// Vault seals the personal data of records (the number, reference and
	// consent) with per-number data keys, hashes their codes, and keeps
	// their history. Required.
	Vault *privacy.Vault
	// Guard refuses creates and checks that would cost the owner for
	// nothing (package fraud); nil: none.
	Guard Guard
	// ResultTokenKey signs result tokens (resulttoken.go); nil: none are
	// made.
	ResultTokenKey []byte
	// TestNumbers maps the E.164 numbers developers verify in their CI to
	// their fixed codes (test_numbers; testnumber.go).
	TestNumbers map[string]string
	// Services holds what each service overrides, by name (services.go);
	// a service not in it has the global settings.
	Services map[string]ServiceSettings
	// Webhooks makes the deliveries of verification.updated events
	// (webhooks.go); nil: none.
	Webhooks *webhook.Hooks
	// Subscriptions returns the webhooks a verification's events go to
	// (the configuration's, or its service's); nil: none.
	Subscriptions func(v *Verification) []conf.Webhook
}

// Service creates, checks and hangs up verifications. It is safe for
// concurrent use.
type Service struct {
	store  Store
	dialer Dialer
	cfg    Config
	log    *slog.Logger
	index  func(number string) string
	vault  *privacy.Vault
	now    func() time.Time
	dial   *dialNumbers
	stats  counters
	// lastWrites holds the records this node wrote last, so that an
	// update need not read them back.
	lastWrites *lastWrites
	// perNumber holds each number to MaxPerNumberPerHour.
	perNumber *limit.Limiter

	ctx    context.Context // ends calls on Close
	stop   context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	calls  map[string]context.CancelFunc // live calls placed by this node
	closed bool
}

// NewService returns a service on st and d. index maps an E.164 number to
// the opaque key the store indexes it by; it must be deterministic.
func NewService(st Store, d Dialer, cfg Config, index func(string) string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	if cfg.SMSText == "" {
		cfg.SMSText = smsText
	}
	if cfg.MaxCodeLength <= 0 || cfg.MaxCodeLength > conf.MaxCodeLength {
		cfg.MaxCodeLength = conf.MaxCodeLength
	}
	if cfg.InboundStatus == 0 {
		cfg.InboundStatus = 603
	}
	if cfg.Guard == nil {
		cfg.Guard = noGuard{}
	}
	vault := cfg.Vault
	if vault == nil {
		panic("verify: NewService needs a Vault")
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Service{
		store: st, dialer: d, cfg: cfg, log: log, index: index, vault: vault, now: time.Now,
		dial:       newDialNumbers(cfg.DialNumbers),
		lastWrites: newLastWrites(lastWritesMax),
		perNumber:  limit.New(st, RateLimitPrefix, limit.PerHour(cfg.MaxPerNumberPerHour)),
		ctx:        ctx, stop: stop, calls: make(map[string]context.CancelFunc),
	}
	go vault.WatchErasures(ctx, s.hangupErased)
	return s
}

// Close hangs up every call this node is placing and waits until each has
// ended (CANCEL sent and answered, or abandoned), or ctx ends.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stop()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("verify: close: calls still ending: %w", ctx.Err())
	}
}
