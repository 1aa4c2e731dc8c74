package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/dialer"
	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/limit"
	"github.com/ringproof/ringproof/media"
	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/sip"
	"github.com/ringproof/ringproof/store"
)

// Store is what the service needs of the state store (store.Store).
type Store interface {
	Put(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
	Watch(ctx context.Context, prefix string) <-chan store.Event
	Broadcast(prefix string) *store.Broadcast
	Get(ctx context.Context, key string) ([]byte, int64, error)
	UpdateWithFrom(ctx context.Context, key string, cur []byte, rev int64, fn func(cur []byte) ([]byte, []store.Op, error)) ([]byte, int64, error)
	// Apply and GetSerializable serve the per-number rate limit
	// (package limit).
	Apply(ctx context.Context, t store.Txn) (store.TxnResult, error)
	GetSerializable(ctx context.Context, key string) ([]byte, int64, error)
}

// Dialer places flash calls (dialer.Dialer).
type Dialer interface {
	// DrawCallerID draws a caller ID for a flash call to number from its
	// route's pool and says how to lease it for numberKey; the
	// verification's transaction writes the lease.
	DrawCallerID(number, numberKey string) (dialer.CallerIDClaim, error)
	// Flash calls number from callerID and hangs up when it rings,
	// reporting each step; cancelling ctx hangs up.
	Flash(ctx context.Context, callerID, number string, report func(sip.Event)) sip.Event
	// Call places a call to be answered, with audio.
	Call(ctx context.Context, number, locale string, report func(sip.Event)) (*dialer.Conversation, sip.Event)
	// SendText texts body to number and returns the final event (sent,
	// failed or timeout).
	SendText(ctx context.Context, number, body string) sip.Event
	// Answer prepares the answer to an inbound call offering offer.
	Answer(ctx context.Context, offer []byte, locale string, talk func(context.Context, *dialer.Conversation)) sip.InboundDecision
}

// conversation is what the voice and keypad methods do on an answered call
// (dialer.Conversation).
type conversation interface {
	Say(ctx context.Context, names ...string) error
	ReadKeys(ctx context.Context, max int, term media.Digit, gap time.Duration) (string, error)
}

// Config is the part of the configuration the service uses.
type Config struct {
	CodeLength          int
	MaxCodeLength       int // longest code the caller-ID pool can carry
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

// CreateRequest is an application's request for a verification.
type CreateRequest struct {
	Number     string `json:"number"`
	Method     string `json:"method"`
	Region     string `json:"region,omitempty"`
	CodeLength int    `json:"code_length,omitempty"`
	Platform   string `json:"platform,omitempty"`
	Reference  string `json:"reference,omitempty"`
	// Locale picks the language of spoken prompts (voice and keypad).
	Locale string `json:"locale,omitempty"`
	// Consent is the consent the application obtained: stored encrypted
	// and exported with the rest of the number's data.
	Consent *privacy.Consent `json:"consent,omitempty"`
	// Fallback are methods to try in turn when this one does not reach
	// the user (fallback.go): flashcall, sms or voice, at most 3.
	Fallback []string `json:"fallback,omitempty"`
}

// Create validates req, reserves what the method needs, stores the
// verification and starts its call. The call goes on after Create returns.
//
// The record, its history entry, its number's data key, the rate-limit
// count and what the method reserves (a caller ID, a dial number) are
// written in one store transaction.
func (s *Service) Create(ctx context.Context, req CreateRequest) (*Verification, error) {
	rec, err := s.newRecord(req)
	if err != nil {
		return nil, err
	}
	return s.create(ctx, rec)
}

// create stores the new record rec and starts its method.
func (s *Service) create(ctx context.Context, rec *record) (*Verification, error) {
	m := methods[rec.Method]
	if err := m.prepare(ctx, s, rec); err != nil {
		return nil, err
	}
	done, err := s.cfg.Guard.Admit(ctx, rec.Number)
	if err != nil {
		return nil, err
	}
	err = s.save(ctx, rec, m)
	done(err == nil)
	if err != nil {
		return nil, err
	}
	s.stats.add(&s.stats.s.Created, string(rec.Method))
	s.log.Info("verification created", "id", rec.ID, "method", rec.Method, "number", privacy.Mask(rec.Number))
	if err := m.start(s, rec); err != nil {
		return nil, err
	}
	v := rec.view(s.now())
	if m.traits().showsCode {
		// The web page shows this code; it is never returned again.
		v.Code = rec.Code
	}
	// Only the creator learns the watch token: the store keeps its hash.
	v.WatchToken = rec.WatchToken
	return v, nil
}

// newRecord validates req into a fresh record.
func (s *Service) newRecord(req CreateRequest) (*record, error) {
	if _, err := lookupMethod(req.Method); err != nil {
		return nil, err
	}
	method := Method(req.Method)
	number, err := number.Parse(req.Number, req.Region)
	if err != nil {
		return nil, err
	}
	codeLen := s.cfg.CodeLength
	if req.CodeLength != 0 {
		if req.CodeLength < 3 || req.CodeLength > 6 || req.CodeLength > s.cfg.MaxCodeLength {
			return nil, &api.InputError{Field: "code_length", Code: "out_of_range",
				Message: fmt.Sprintf("code_length must be between 3 and %d", min(6, s.cfg.MaxCodeLength))}
		}
		codeLen = req.CodeLength
	}
	if len(req.Platform) > 32 {
		return nil, &api.InputError{Field: "platform", Code: "too_long", Message: "platform is at most 32 characters"}
	}
	if len(req.Locale) > 16 || strings.ContainsAny(req.Locale, "/\\. ") {
		return nil, &api.InputError{Field: "locale", Code: "invalid", Message: "locale is a language tag such as en or pt-BR"}
	}
	if len(req.Reference) > 128 {
		return nil, &api.InputError{Field: "reference", Code: "too_long", Message: "reference is at most 128 characters"}
	}
	now := s.now().UTC()
	if req.Consent != nil {
		if field, problem := req.Consent.Check(now); field != "" {
			return nil, &api.InputError{Field: field, Code: "invalid", Message: problem}
		}
	}
	fallback, err := checkFallback(method, req.Fallback)
	if err != nil {
		return nil, err
	}
	token := newToken()
	return &record{
		ID:          newID(),
		WatchToken:  token,
		WatchHash:   watchHash(token),
		Method:      method,
		Status:      StatusPending,
		Number:      number,
		NumberKey:   s.index(number),
		CodeLength:  codeLen,
		MaxAttempts: s.cfg.MaxAttempts,
		Platform:    req.Platform,
		Reference:   req.Reference,
		Consent:     req.Consent,
		Locale:      req.Locale,
		Fallback:    fallback,
		Node:        s.cfg.Node,
		CreatedAt:   now,
		UpdatedAt:   now,
		ExpiresAt:   now.Add(s.cfg.Expiry),
		Events:      []Event{},
	}, nil
}

// goCall runs call in the background as rec's call: Hangup and Close
// cancel its ctx, and Close waits for it to return.
func (s *Service) goCall(id string, call func(ctx context.Context)) error {
	ctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return errors.New("verify: shutting down")
	}
	s.calls[id] = cancel
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.endCall(id)
		call(ctx)
	}()
	return nil
}

// startCall places rec's flash call in the background.
func (s *Service) startCall(rec *record) error {
	id, callerID, number := rec.ID, rec.CallerID, rec.Number
	return s.goCall(id, func(ctx context.Context) {
		events := s.newEventWriter(rec)
		final := s.dialer.Flash(ctx, callerID, number, events.report)
		events.close()
		s.stats.add(&s.stats.s.Calls, string(final.Kind))
		s.log.Info("call ended", "id", id, "event", final.Kind, "sip_status", final.Status, "reason", final.Reason)
	})
}

// startAnsweredCall places rec's call in the background and, once it is
// answered, has t talk on it; the call is hung up when t is done.
func (s *Service) startAnsweredCall(rec *record, t talker) error {
	id, number, locale, method, code := rec.ID, rec.Number, rec.Locale, rec.Method, rec.Code
	return s.goCall(id, func(ctx context.Context) {
		conv, ev := s.dialer.Call(ctx, number, locale, func(ev sip.Event) { s.recordEvent(id, ev) })
		if conv == nil {
			s.stats.add(&s.stats.s.Answered, string(method)+" "+string(ev.Kind))
			s.log.Info("call ended", "id", id, "event", ev.Kind, "sip_status", ev.Status, "reason", ev.Reason)
			return
		}
		t.talk(ctx, s, id, code, conv)
		conv.Hangup()
		why := conv.Ended()
		s.stats.add(&s.stats.s.Answered, string(method)+" "+why)
		s.recordEvent(id, sip.Event{Kind: sip.EventHungUp, Reason: why, At: time.Now(), Trunk: conv.Trunk()})
		s.log.Info("call ended", "id", id, "event", sip.EventHungUp, "reason", why)
	})
}

// LiveCalls is how many calls this node is placing or holding now.
func (s *Service) LiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// endCall forgets a call that has ended.
func (s *Service) endCall(id string) {
	s.mu.Lock()
	cancel := s.calls[id]
	delete(s.calls, id)
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// hangupLocal hangs up id's call if this node is placing it.
func (s *Service) hangupLocal(id string) bool {
	s.mu.Lock()
	cancel := s.calls[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return cancel != nil
}

// recordEvent stores one call event on the verification.
func (s *Service) recordEvent(id string, ev sip.Event) { s.recordEvents(id, []sip.Event{ev}) }

// Get returns the verification id as of now.
func (s *Service) Get(ctx context.Context, id string) (*Verification, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	v := r.view(s.now())
	v.ResultToken = s.resultToken(v)
	return v, nil
}

// CheckResult is the answer to a check.
type CheckResult struct {
	ID           string `json:"id"`
	Status       Status `json:"status"`
	AttemptsLeft int    `json:"attempts_left"`
	// ResultToken is set when the verification is verified
	// (resulttoken.go).
	ResultToken string `json:"result_token,omitempty"`
}

// HangupCode is the code an application sends, in CheckMobi's manner, when
// no call came: the call is hung up instead of a code being checked.
const HangupCode = "HANGUP"

// Check compares code with the verification's code. A right code verifies
// it (and hangs up a call still ringing); a wrong one uses an attempt, and
// the last attempt fails it. Final verifications are not changed. Code
// HANGUP hangs up the call instead and uses no attempt.
func (s *Service) Check(ctx context.Context, id, code string) (*CheckResult, error) {
	if err := s.cfg.Guard.Check(ctx); err != nil {
		return nil, err
	}
	if code == HangupCode {
		v, err := s.Hangup(ctx, id)
		if err != nil {
			return nil, err
		}
		return &CheckResult{ID: v.ID, Status: v.Status, AttemptsLeft: v.AttemptsLeft}, nil
	}
	if !validID(id) {
		return nil, ErrNotFound
	}
	var result outcome
	r, err := s.update(ctx, id, func(r *record) error {
		if r.CodeHash == "" {
			return &api.InputError{Field: "code", Code: "not_applicable",
				Message: fmt.Sprintf("a %s verification has no code: the call itself verifies it", r.Method)}
		}
		if !validCode(code, r.CodeLength) {
			return &api.InputError{Field: "code", Code: "invalid", Message: fmt.Sprintf("code must be %d digits", r.CodeLength)}
		}
		result = r.applyCheck(s.codeHash(id, code), s.now())
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.stats.add(&s.stats.s.Checks, outcomeName(result))
	switch result {
	case outcomeMatch:
		s.hangupAnywhere(ctx, r)
		s.log.Info("verification verified", "id", id)
	case outcomeLockout:
		s.hangupAnywhere(ctx, r)
		s.log.Info("verification failed: attempts exhausted", "id", id)
	}
	v := r.view(s.now())
	return &CheckResult{ID: v.ID, Status: v.Status, AttemptsLeft: v.AttemptsLeft, ResultToken: s.resultToken(v)}, nil
}

// Hangup ends the verification's call if it is still in progress. It does
// not change a final status and is harmless when there is no call.
func (s *Service) Hangup(ctx context.Context, id string) (*Verification, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	r, err := s.update(ctx, id, func(r *record) error {
		// With fallbacks, asking to hang up says nothing came: the chain
		// moves on once the call (or text) is over.
		if !r.callOver() || (len(r.Fallback) > 0 && !r.Status.Final()) {
			r.HangupAsked = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.hangupAnywhere(ctx, r)
	return r.view(s.now()), nil
}

// callOver reports whether r's call has reached a final event.
func (r *record) callOver() bool {
	for _, ev := range r.Events {
		if sip.EventKind(ev.Type).Final() {
			return true
		}
	}
	return false
}

// load reads one record.
func (s *Service) load(ctx context.Context, id string) (*record, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	val, _, err := s.store.Get(ctx, recordKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("verify: load %s: %w", id, err)
	}
	return s.decode(ctx, val)
}

// update applies fn to the stored record atomically (compare-and-swap), so
// that nodes racing on one verification never lose a change. The record's
// history entry is written in the same transaction. An error from fn
// aborts the update and is returned as is. If this node wrote the record
// recently, the update starts from that write instead of reading it.
func (s *Service) update(ctx context.Context, id string, fn func(*record) error) (*record, error) {
	return s.updateFrom(ctx, id, nil, 0, fn)
}

// updateFrom is update starting from the record as this node last wrote it
// (cur at store revision rev), which saves a read when nothing else changed
// it; with rev 0 it reads first. It waits for any other update of the
// record on this node to end, and starts from the later of that one's
// write and cur. The result holds what it wrote and its revision
// (record.stored, record.rev) for the next update.
func (s *Service) updateFrom(ctx context.Context, id string, cur []byte, rev int64, fn func(*record) error) (*record, error) {
	release, err := s.lastWrites.acquire(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("verify: update %s: %w", id, err)
	}
	defer release()
	if last, lastRev := s.lastWrites.get(id); lastRev > rev {
		cur, rev = last, lastRev
	}
	var (
		out    record
		opened *record      // the personal data, decrypted once: it never changes
		key    *privacy.Key // the number's data key, which sealed it
		due    bool         // the chain moves on after this update (fallback.go)
		queued privacy.Queued
		// verified: this update verified it (for the pumping guard)
		verified bool
	)
	next, rev, err := s.store.UpdateWithFrom(ctx, recordKey(id), cur, rev, func(cur []byte) ([]byte, []store.Op, error) {
		out = record{}
		if err := json.Unmarshal(cur, &out); err != nil {
			return nil, nil, fmt.Errorf("verify: decode %s: %w", id, err)
		}
		if opened == nil || !bytes.Equal(opened.Sealed, out.Sealed) {
			k, err := s.open(ctx, &out)
			if err != nil {
				return nil, nil, err
			}
			opened, key = &record{Sealed: out.Sealed}, k
			opened.copyPersonal(&out)
		}
		out.copyPersonal(opened)
		before := out.Status
		if err := fn(&out); err != nil {
			return nil, nil, err
		}
		out.Seq++
		verified = out.Status == StatusVerified && before != StatusVerified
		due = out.fallbackDue()
		next, err := json.Marshal(&out)
		if err != nil {
			return nil, nil, err
		}
		op, q, err := s.outboxOp(key, &out)
		if err != nil {
			return nil, nil, err
		}
		queued = q
		return next, []store.Op{op}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		var in *api.InputError
		if errors.As(err, &in) {
			return nil, in
		}
		return nil, fmt.Errorf("verify: update %s: %w", id, err)
	}
	out.stored, out.rev = next, rev
	s.lastWrites.put(id, next, rev)
	s.vault.Queue(rev, queued)
	if verified {
		s.cfg.Guard.Verified(out.Number, out.CreatedAt)
	}
	if due {
		s.goFallback(&out)
	}
	return &out, nil
}

// save stores a new record in one transaction with its history entry (in
// the outbox, for the history store), its number's data key, one event
// taken from the number's rate limit (MaxPerNumberPerHour, in a sliding
// hour), and m's reservation if it has one. The personal data (number, reference, consent, caller ID) is sealed
// with the data key and the code hashed: the stored record holds neither
// in clear. A reservation that is held already is tried again with the
// next one m offers; nothing is written when the rate limit is reached.
func (s *Service) save(ctx context.Context, rec *record, m method) error {
	live := s.cfg.Expiry + s.cfg.Grace
	budget := numberSubject(rec.NumberKey)
	var next func() (reservation, error)
	if r, ok := m.(reserver); ok {
		next = r.reservations(s, rec)
	}
	claim, stale := reservation{}, false
	for {
		budgetRes, err := s.perNumber.Reserve(ctx, budget)
		if err != nil {
			return fmt.Errorf("verify: save %s: %w", rec.ID, err)
		}
		if !budgetRes.OK() {
			return &NumberLimitError{RetryAfter: budgetRes.RetryAfter()}
		}
		if next != nil && !stale {
			if claim, err = next(); err != nil {
				return err
			}
		}
		if code := m.code(rec); code != "" {
			rec.CodeHash = s.codeHash(rec.ID, code)
		}
		var queued privacy.Queued
		res, err := s.vault.Write(ctx, rec.NumberKey, live, func(k *privacy.Key) (store.Txn, error) {
			personal := privacy.Personal{Number: rec.Number, Reference: rec.Reference, Consent: rec.Consent, CallerID: rec.CallerID}
			if m.traits().sealsCode {
				// Whichever node answers the user's call speaks the code.
				personal.Code = rec.Code
			}
			sealed, err := k.SealPersonal(rec.ID, personal)
			if err != nil {
				return store.Txn{}, err
			}
			rec.Sealed, rec.Seq = sealed, 1
			if rec.stored, err = json.Marshal(rec); err != nil {
				return store.Txn{}, err
			}
			op, q, err := s.outboxOp(k, rec)
			if err != nil {
				return store.Txn{}, err
			}
			queued = q
			t := store.Txn{
				If: []store.Cmp{store.IfAbsent(recordKey(rec.ID))},
				Then: []store.Op{
					store.OpPut(recordKey(rec.ID), rec.stored, live),
					op,
				},
			}
			budgetRes.AddTo(&t)
			if claim.key != "" {
				if !claim.force {
					t.If = append(t.If, store.IfAbsent(claim.key))
					t.Read = append(t.Read, claim.key)
				}
				t.Then = append(t.Then, store.OpPut(claim.key, claim.val, claim.ttl))
			}
			return t, nil
		})
		if errors.Is(err, privacy.ErrErasing) {
			return ErrErasing
		}
		if err != nil {
			return fmt.Errorf("verify: save %s: %w", rec.ID, err)
		}
		if stale = budgetRes.Settle(res); stale {
			continue // another create of the number took from its budget: decide again
		}
		if res.OK {
			rec.rev = res.Rev
			s.lastWrites.put(rec.ID, rec.stored, rec.rev)
			s.vault.Queue(res.Rev, queued)
			return nil
		}
		if _, held := res.Read[claim.key]; claim.key != "" && held {
			continue // reserved already: take the next one
		}
		return fmt.Errorf("verify: save %s: %w", rec.ID, store.ErrConflict)
	}
}

// numberSubject is the per-number rate limit's subject for a number key:
// its state lives at RateLimitPrefix + number key + "/n", a key that
// privacy export shows and erasure deletes (NumberKeyPlaces).
func numberSubject(nk string) string { return nk + "/n" }

// decode reads a stored record and decrypts its personal data.
func (s *Service) decode(ctx context.Context, val []byte) (*record, error) {
	var r record
	if err := json.Unmarshal(val, &r); err != nil {
		return nil, fmt.Errorf("verify: decode: %w", err)
	}
	if _, err := s.open(ctx, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// open decrypts r's sealed personal data into its fields, and returns the
// number's data key that sealed it.
func (s *Service) open(ctx context.Context, r *record) (*privacy.Key, error) {
	k, err := s.vault.Key(ctx, r.NumberKey, false)
	if err != nil {
		return nil, fmt.Errorf("verify: %s: %w", r.ID, err)
	}
	p, err := k.OpenPersonal(r.ID, r.Sealed)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	r.Number, r.Reference, r.Consent, r.CallerID, r.Code = p.Number, p.Reference, p.Consent, p.CallerID, p.Code
	return k, nil
}

// codeHash is the keyed hash of a verification's code that its record
// keeps, bound to its id.
func (s *Service) codeHash(id, code string) string { return s.vault.Index().CodeHash(id, code) }

// outboxOp puts r's history entry in the outbox, on its way to the history
// store: the record's state without its secrets (code, watch token), its
// personal data sealed with k (without the code), and the keys that hold
// the verification while it lives, for erasure.
func (s *Service) outboxOp(k *privacy.Key, r *record) (store.Op, privacy.Queued, error) {
	events, err := json.Marshal(r.Events)
	if err != nil {
		return store.Op{}, privacy.Queued{}, err
	}
	sealed := r.Sealed
	if r.Code != "" && traitsOf(r.Method).sealsCode {
		// The record's sealed data holds the code: the history's must not.
		if sealed, err = k.SealPersonal(r.ID, privacy.Personal{Number: r.Number, Reference: r.Reference, Consent: r.Consent, CallerID: r.CallerID}); err != nil {
			return store.Op{}, privacy.Queued{}, err
		}
	}
	e := privacy.Entry{
		ID: r.ID, Method: string(r.Method), Status: string(r.Status), Final: r.Status.Final(),
		Reason: r.Reason, CodeLength: r.CodeLength, Attempts: r.Attempts, MaxAttempts: r.MaxAttempts,
		DialNumber: r.DialNumber, Platform: r.Platform,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt,
		Events: events, Sealed: sealed,
		Keys: map[string]string{"verifications": recordKey(r.ID)},
	}
	if r.DialNumber != "" {
		e.Keys["inbound_index"] = inboundKey(r.DialNumber, r.NumberKey)
	}
	val, err := json.Marshal(&e)
	if err != nil {
		return store.Op{}, privacy.Queued{}, err
	}
	return s.vault.Outbox(k, history.KindVerification, r.ID, r.CreatedAt, r.Seq, val)
}

// RateLimitPrefix is where per-number rate limits live: RateLimitPrefix +
// number key + "/n", holding the number's theoretical arrival time (package
// limit), leased to expire when its budget is full again.
const RateLimitPrefix = "ratelimit/number/"

// NumberKeyPlaces lists the store keys, besides records and history, that
// verifications name by number key: what a privacy export shows and an
// erasure deletes.
func NumberKeyPlaces() []privacy.Place {
	return []privacy.Place{
		{Kind: "rate_limit_counters", Prefix: RateLimitPrefix},
		{Kind: "caller_id_leases", Prefix: dialer.LeasePrefix},
		{Kind: "inbound_index", Prefix: inboundPrefix, Last: true},
	}
}

// hangupErased forgets the records this node wrote last and hangs up its
// calls whose records are gone: called when an erasure was made somewhere
// in the cluster.
func (s *Service) hangupErased() {
	s.lastWrites.clear()
	s.mu.Lock()
	ids := make([]string, 0, len(s.calls))
	for id := range s.calls {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		_, _, err := s.store.Get(ctx, recordKey(id))
		cancel()
		if errors.Is(err, store.ErrNotFound) && s.hangupLocal(id) {
			s.log.Info("call hung up: its number was erased", "id", id)
		}
	}
}

// recordKey is where a verification lives in the store.
func recordKey(id string) string { return "v/" + id }

// newID returns a random verification id: "v" and 32 hex digits.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("verify: crypto/rand failed: " + err.Error())
	}
	return "v" + hex.EncodeToString(b[:])
}

// newToken returns a random token that lets a web page watch one
// verification without an API key.
func newToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("verify: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// validID reports whether id could have come from newID, so that junk never
// reaches the store.
func validID(id string) bool {
	if len(id) != 33 || id[0] != 'v' {
		return false
	}
	for i := 1; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
