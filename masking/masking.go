// Package masking lets two parties, say a rider and a driver, reach each
// other through a proxy number from a pool without learning each other's
// number. A session pairs the two numbers on a proxy; a call from one of
// them to the proxy is bridged to the other with the proxy as caller ID.
//
// ringproof carries the signalling: the caller's SDP offer goes to the
// called party and the answer comes back, so the audio flows between the
// two carriers' media addresses, which hold no phone number.
//
// The store never holds a number in clear. A session is two routes, one
// per party, found by the caller's number key (its keyed HMAC) and the
// proxy; each holds the other party's number sealed with that party's data
// key (privacy.Vault). A privacy erasure deletes the erased number's routes
// (Places) and destroys its data key, which leaves the other party's route
// to it unreadable.
package masking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/ringproof/ringproof/api"
	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/sip"
	"github.com/ringproof/ringproof/store"
)

// Store is what masking needs of the store (store.Store).
type Store interface {
	Get(ctx context.Context, key string) ([]byte, int64, error)
	Apply(ctx context.Context, t store.Txn) (store.TxnResult, error)
	DeleteKeys(ctx context.Context, keys []string) (int64, error)
}

// Bridger places the leg to the called party and passes texts on
// (dialer.Dialer).
type Bridger interface {
	Bridge(ctx context.Context, callerID, number string, offer []byte, timeout time.Duration) (*sip.Dialog, sip.Event)
	Relay(ctx context.Context, callerID, number, body string) sip.Event
}

// Config is the part of the configuration masking uses.
type Config struct {
	// Numbers is the proxy pool; empty turns masking off.
	Numbers []conf.NumberRange
	// MaxTTL bounds a session's life.
	MaxTTL time.Duration
	// AnswerTimeout bounds the called party's ringing.
	AnswerTimeout time.Duration
	// MaxCall bounds a bridged call.
	MaxCall time.Duration
	// Stranger, if set, decides a call from someone with no session on
	// the proxy (an announcement); nil rejects it with 404.
	Stranger func(ctx context.Context, in *sip.Inbound) sip.InboundDecision
	// TrunkRegions maps a trunk to the region its national caller IDs are
	// read in.
	TrunkRegions map[string]string
	// Destinations, if set, refuses parties in countries or of number
	// types that may not be reached (fraud.Guard): both parties are
	// called.
	Destinations Destinations
	// CallEnded, if set, is told of every call to a proxy from a party of
	// its session once it is over (answered or not), for the
	// masking.call_ended webhook. It must not block.
	CallEnded func(CallEnd)
}

// Destinations decides whether a number may be called at all
// (fraud.Guard).
type Destinations interface {
	// CheckDestination returns nil, or an error refusing number (one
	// that is api.Refused).
	CheckDestination(number string) error
}

// Service creates and ends sessions and bridges their calls. It is safe
// for concurrent use.
type Service struct {
	st     Store
	vault  *privacy.Vault
	bridge Bridger
	cfg    Config
	log    *slog.Logger
	stats  counters
}

// New returns a masking service. A zero MaxCall means an hour, a zero
// AnswerTimeout a minute.
func New(st Store, vault *privacy.Vault, b Bridger, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	if cfg.MaxCall <= 0 {
		cfg.MaxCall = time.Hour
	}
	if cfg.AnswerTimeout <= 0 {
		cfg.AnswerTimeout = time.Minute
	}
	return &Service{st: st, vault: vault, bridge: b, cfg: cfg, log: log}
}

// Errors the service returns besides *api.InputError.
var (
	ErrOff      = errors.New("masking: no proxy numbers configured (masking.numbers)")
	ErrNoProxy  = errors.New("masking: every proxy number is in use by one of these numbers")
	ErrNotFound = errors.New("masking: no such session")
)

// Session is a masking session as the API shows it: never the numbers.
type Session struct {
	ID        string    `json:"id"`
	Proxy     string    `json:"proxy_number"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Service is the service whose key created the session (services):
	// only its keys see it.
	Service string `json:"service,omitempty"`
}

// stored is a session in the store: the proxy and the parties' number
// keys.
type stored struct {
	Session
	Keys [2]string `json:"number_keys"`
}

// route is what a caller's call to a proxy leads to.
type route struct {
	Session string `json:"session"`
	// PeerKey is the other party's number key; Peer its number, sealed
	// with its data key.
	PeerKey string `json:"peer_key"`
	Peer    []byte `json:"peer"`
}

// Store key prefixes.
const (
	// RoutePrefix + number key + "/" + proxy: that number's route through
	// the proxy (a privacy.Place).
	RoutePrefix   = "mask/route/"
	sessionPrefix = "mask/session/"
	// PeerPrefix + number key + "/" + session id: the keys of a session
	// that name the number besides its own route (the other party's route
	// to it, the session record), as a JSON list, so that an erasure of
	// the number deletes them too (a privacy.Place with Refs).
	PeerPrefix = "mask/peer/"
)

// Places lists the keys masking names by number key, for privacy export
// and erasure.
func Places() []privacy.Place {
	return []privacy.Place{
		{Kind: "masking_routes", Prefix: RoutePrefix},
		{Kind: "masking_peers", Prefix: PeerPrefix, Refs: true},
	}
}

func routeKey(nk, proxy string) string { return RoutePrefix + nk + "/" + proxy }

func peerKey(nk, session string) string { return PeerPrefix + nk + "/" + session }

// peerOp writes the keys of session that name nk besides its own route:
// the other party's route (through which nk is reached), the session
// record, and the other party's own such key (whose list names nk's
// route).
func peerOp(nk, otherNK, session, otherRoute string, ttl time.Duration) store.Op {
	val, _ := json.Marshal([]string{otherRoute, sessionPrefix + session, peerKey(otherNK, session)})
	return store.OpPut(peerKey(nk, session), val, ttl)
}

func sealAAD(nk, session string) []byte {
	return []byte("ringproof masking\x00" + nk + "\x00" + session)
}

// Create pairs the numbers a and b (E.164, or national with region) on a
// proxy number that neither uses in another session, for ttl.
func (s *Service) Create(ctx context.Context, a, b, region string, ttl time.Duration) (*Session, error) {
	if len(s.cfg.Numbers) == 0 {
		return nil, ErrOff
	}
	na, err := number.Parse(a, region)
	if err != nil {
		return nil, renamed(err, "a")
	}
	nb, err := number.Parse(b, region)
	if err != nil {
		return nil, renamed(err, "b")
	}
	if na == nb {
		return nil, &api.InputError{Field: "b", Code: "invalid", Message: "a and b must be different numbers"}
	}
	if ttl <= 0 || ttl > s.cfg.MaxTTL {
		return nil, &api.InputError{Field: "ttl_s", Code: "out_of_range", Message: fmt.Sprintf("ttl_s must be between 1 and %d", int(s.cfg.MaxTTL/time.Second))}
	}
	if d := s.cfg.Destinations; d != nil {
		if err := d.CheckDestination(na); err != nil {
			return nil, &partyError{field: "a", err: err}
		}
		if err := d.CheckDestination(nb); err != nil {
			return nil, &partyError{field: "b", err: err}
		}
	}
	idx := s.vault.Index()
	ka, kb := idx.Of(na), idx.Of(nb)
	now := time.Now().UTC()
	service := api.DefaultService
	if name, ok := api.ServiceFrom(ctx); ok {
		service = name
	}
	sess := stored{Session: Session{ID: newID(), CreatedAt: now, ExpiresAt: now.Add(ttl), Service: service}, Keys: [2]string{ka, kb}}
	for _, proxy := range s.candidates() {
		sess.Proxy = proxy
		ok, err := s.claim(ctx, &sess, na, nb, ttl)
		if err != nil {
			return nil, err
		}
		if ok {
			s.stats.session()
			s.log.Info("masking session created", "id", sess.ID, "proxy", proxy, "a", privacy.Mask(na), "b", privacy.Mask(nb))
			return &sess.Session, nil
		}
	}
	return nil, ErrNoProxy
}

// partyError is a refusal of one party, field naming it (a or b).
type partyError struct {
	field string
	err   error
}

func (e *partyError) Error() string { return e.field + ": " + e.err.Error() }
func (e *partyError) Unwrap() error { return e.err }

// claim writes sess's two routes through sess.Proxy, if neither party has
// one there already: a's route (holding b sealed with b's data key) in one
// transaction, then b's with the session record; if the second fails the
// first is taken back. Each transaction also puts in the outbox the
// history entry of the party whose data key it writes (privacy.RouteEntry):
// what an export of that party shows once the session is over.
func (s *Service) claim(ctx context.Context, sess *stored, na, nb string, ttl time.Duration) (bool, error) {
	ka, kb := sess.Keys[0], sess.Keys[1]
	ra, rb := routeKey(ka, sess.Proxy), routeKey(kb, sess.Proxy)
	var qb, qa privacy.Queued
	res, err := s.vault.Write(ctx, kb, ttl, func(k *privacy.Key) (store.Txn, error) {
		val, err := json.Marshal(route{Session: sess.ID, PeerKey: kb, Peer: k.Seal([]byte(nb), sealAAD(kb, sess.ID))})
		if err != nil {
			return store.Txn{}, err
		}
		h, q, err := s.historyOp(k, sess, 1, 1, nil)
		if err != nil {
			return store.Txn{}, err
		}
		qb = q
		// ra holds b's number and number key: erasing b deletes it.
		return store.Txn{If: []store.Cmp{store.IfAbsent(ra), store.IfAbsent(rb)},
			Then: []store.Op{store.OpPut(ra, val, ttl), peerOp(kb, ka, sess.ID, ra, ttl), h}}, nil
	})
	if err != nil || !res.OK {
		return false, err
	}
	s.vault.Queue(res.Rev, qb)
	rec, err := json.Marshal(sess)
	if err != nil {
		return false, err
	}
	res, err = s.vault.Write(ctx, ka, ttl, func(k *privacy.Key) (store.Txn, error) {
		val, err := json.Marshal(route{Session: sess.ID, PeerKey: ka, Peer: k.Seal([]byte(na), sealAAD(ka, sess.ID))})
		if err != nil {
			return store.Txn{}, err
		}
		h, q, err := s.historyOp(k, sess, 0, 1, nil)
		if err != nil {
			return store.Txn{}, err
		}
		qa = q
		return store.Txn{If: []store.Cmp{store.IfAbsent(rb)}, Then: []store.Op{store.OpPut(rb, val, ttl), store.OpPut(sessionPrefix+sess.ID, rec, ttl),
			peerOp(ka, kb, sess.ID, rb, ttl), h}}, nil
	})
	if err == nil && res.OK {
		s.vault.Queue(res.Rev, qa)
		return true, nil
	}
	if _, derr := s.st.DeleteKeys(context.WithoutCancel(ctx), []string{ra, peerKey(kb, sess.ID)}); derr != nil {
		s.log.Warn("masking: a half-made session's route is left to expire", "id", sess.ID, "err", derr)
	}
	return false, err
}

// maxCandidates bounds the proxies one Create tries.
const maxCandidates = 64

// candidates returns proxy numbers to try, from a random place in the pool
// onwards.
func (s *Service) candidates() []string {
	var total uint64
	for _, r := range s.cfg.Numbers {
		total += r.End - r.Start + 1
	}
	start, err := rand.Int(rand.Reader, new(big.Int).SetUint64(total))
	if err != nil {
		panic("masking: crypto/rand failed: " + err.Error())
	}
	var out []string
	for i := uint64(0); i < min(total, maxCandidates); i++ {
		n := (start.Uint64() + i) % total
		for _, r := range s.cfg.Numbers {
			if size := r.End - r.Start + 1; n < size {
				out = append(out, r.Format(r.Start+n))
				break
			} else {
				n -= size
			}
		}
	}
	return out
}

// Get returns session id.
func (s *Service) Get(ctx context.Context, id string) (*Session, error) {
	sess, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	return &sess.Session, nil
}

func (s *Service) load(ctx context.Context, id string) (*stored, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	val, _, err := s.st.Get(ctx, sessionPrefix+id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var sess stored
	if err := json.Unmarshal(val, &sess); err != nil {
		return nil, fmt.Errorf("masking: session %s: %w", id, err)
	}
	if !api.SameService(ctx, sess.Service) {
		return nil, ErrNotFound // another service's: as if absent
	}
	if sess.Service == "" {
		sess.Service = api.DefaultService
	}
	return &sess, nil
}

// End deletes session id and its routes, and returns the session as it
// was: calls to its proxy no longer connect (calls in progress go on). The
// parties' history entries say when it ended.
func (s *Service) End(ctx context.Context, id string) (*Session, error) {
	sess, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	ended := time.Now().UTC()
	ops := []store.Op{
		store.OpDelete(routeKey(sess.Keys[0], sess.Proxy)), store.OpDelete(routeKey(sess.Keys[1], sess.Proxy)), store.OpDelete(sessionPrefix + id),
		store.OpDelete(peerKey(sess.Keys[0], id)), store.OpDelete(peerKey(sess.Keys[1], id)),
	}
	var qs []privacy.Queued
	for party, nk := range sess.Keys {
		k, err := s.vault.Key(ctx, nk, false)
		if err != nil {
			continue // erased meanwhile: its history is gone
		}
		h, q, err := s.historyOp(k, sess, party, 2, &ended)
		if err != nil {
			return nil, err
		}
		ops, qs = append(ops, h), append(qs, q)
	}
	res, err := s.st.Apply(ctx, store.Txn{Then: ops})
	if err != nil {
		return nil, err
	}
	s.vault.Queue(res.Rev, qs...)
	s.log.Info("masking session ended", "id", id)
	return &sess.Session, nil
}

// historyOp puts in the outbox the history entry of party (0: a, 1: b) of
// sess, sealed with the party's data key k; version 1 when the session
// begins, 2 when it is ended early. Only the entry of an ended session is
// final: the writer may hold the first a moment for an early end.
func (s *Service) historyOp(k *privacy.Key, sess *stored, party int, version int64, ended *time.Time) (store.Op, privacy.Queued, error) {
	body, err := json.Marshal(privacy.RouteEntry{Session: sess.ID, Proxy: sess.Proxy, CreatedAt: sess.CreatedAt, ExpiresAt: sess.ExpiresAt, EndedAt: ended})
	if err != nil {
		return store.Op{}, privacy.Queued{}, err
	}
	return s.vault.ScopedOutbox(k, history.KindMaskingRoute, sess.Service, sess.ID+"."+"ab"[party:party+1], sess.CreatedAt, version, ended != nil, body)
}

// Owns reports whether dialled is a proxy number.
func (s *Service) Owns(dialled string) bool {
	n, err := conf.ParseRange(dialled)
	if err != nil {
		return false
	}
	for _, r := range s.cfg.Numbers {
		if r.Digits == n.Digits && r.Contains(n.Start) {
			return true
		}
	}
	return false
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("masking: crypto/rand failed: " + err.Error())
	}
	return "m" + hex.EncodeToString(b[:])
}

func validID(id string) bool {
	if len(id) != 33 || id[0] != 'm' {
		return false
	}
	_, err := hex.DecodeString(id[1:])
	return err == nil
}

// renamed gives an input error about "number" the name of the field it
// came from.
func renamed(err error, field string) error {
	var in *api.InputError
	if errors.As(err, &in) && in.Field == "number" {
		c := *in
		c.Field = field
		c.Message = field + strings.TrimPrefix(in.Message, "number")
		return &c
	}
	return err
}
