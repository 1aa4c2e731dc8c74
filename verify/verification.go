// Package verify owns verifications: the methods that prove a person holds
// a number, their codes, and the lifecycle every verification follows
// (pending → ringing → rang or answered → verified, failed, expired or
// canceled). It keeps each verification in the store so that any node can
// answer for it.
package verify

import (
	"cmp"
	"encoding/json"
	"github.com/ringproof/ringproof/api"
	"time"

	"github.com/ringproof/ringproof/privacy"
)

// Status is where a verification stands. Pending, Ringing, Rang and
// Answered accept codes; Verified, Failed, Expired and Canceled are final.
type Status string

// The statuses a verification passes through.
const (
	// StatusPending: created; the call is being placed.
	StatusPending Status = "pending"
	// StatusRinging: the user's phone is ringing (180/183 received).
	StatusRinging Status = "ringing"
	// StatusRang: the call is over without being answered (ringproof
	// cut it once the phone rang, or when asked to hang up); the code can
	// still be checked.
	StatusRang Status = "rang"
	// StatusAnswered: the user answered (voice, keypad) or ringproof
	// answered the user's call; the code can still be checked.
	StatusAnswered Status = "answered"
	// StatusVerified: the right code was given. Final.
	StatusVerified Status = "verified"
	// StatusFailed: the attempts ran out or the call failed. Final.
	StatusFailed Status = "failed"
	// StatusExpired: not verified before expires_at. Final.
	StatusExpired Status = "expired"
	// StatusCanceled: the application canceled it (Service.Cancel); any
	// call was hung up. Final.
	StatusCanceled Status = "canceled"
)

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{StatusPending, StatusRinging, StatusRang, StatusAnswered, StatusVerified, StatusFailed, StatusExpired, StatusCanceled}

// Final reports whether no code can change the status any more.
func (s Status) Final() bool {
	return s == StatusVerified || s == StatusFailed || s == StatusExpired || s == StatusCanceled
}

// legacyRang is what StatusRang was called before it was renamed: records
// that nodes of earlier versions wrote may still hold it.
const legacyRang = "cancelled"

// UnmarshalJSON reads a status, taking the former name of StatusRang for
// it.
func (s *Status) UnmarshalJSON(data []byte) error {
	var name string
	if err := json.Unmarshal(data, &name); err != nil {
		return err
	}
	if name == legacyRang {
		name = string(StatusRang)
	}
	*s = Status(name)
	return nil
}

// Method is a way of verifying a number.
type Method string

// The methods ringproof offers are declared each in its own file
// (flashcall.go, sms.go, voice.go, keypad.go, inboundmissed.go,
// inboundvoice.go), and listed in method.go.

// Reasons a verification is in its status; every one the API may show is
// listed in Reasons.
const (
	// ReasonAttempts: failed, the wrong codes used up its attempts.
	ReasonAttempts = "attempts_exhausted"
	// ReasonCall: failed, the call failed (busy, rejected, unreachable).
	ReasonCall = "call_failed"
	// ReasonNoRing: failed, the phone did not ring within the trunk's
	// timeout.
	ReasonNoRing = "no_ring"
	// ReasonExpired: expired.
	ReasonExpired = "expired"
	// ReasonHangup: the application said no call came (HANGUP, or
	// POST …/hangup); the status stays checkable, and a chain of
	// fallbacks moves on.
	ReasonHangup = "hangup_requested"
	// ReasonCanceled: canceled by the application (POST …/cancel).
	ReasonCanceled = "cancel_requested"
	// ReasonSMS: failed, the carrier did not take the text.
	ReasonSMS = "sms_failed"
	// ReasonNoRoute: failed, no trunk of the number's route could take
	// the call or text (every one down, unregistered or over its
	// max_cps).
	ReasonNoRoute = "no_route"
)

// Reasons lists every reason a verification may show.
var Reasons = []string{ReasonAttempts, ReasonCall, ReasonNoRing, ReasonSMS, ReasonNoRoute, ReasonExpired, ReasonHangup, ReasonCanceled}

// Event is one step of a verification's call, as the API shows it.
type Event struct {
	// Type is a step of the call (dialing, ringing, answered, cancelled,
	// failed, timeout, hungup...), or a request of the application
	// (hangup_requested, cancel_requested); README lists them all.
	Type string `json:"type"`
	// Status is the SIP status code behind the event, if any.
	Status int `json:"sip_status,omitempty"`
	// Reason says why, in a few words; it never holds a number.
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	// Trunk names the trunk the call (or text) went through.
	Trunk string `json:"trunk,omitempty"`
	// Verstat and Attestation are, on an inbound_call event (inbound_missed)
	// or the answered event of a call the user placed (inbound_voice,
	// keypad_in), the carrier's STIR/SHAKEN verification of the caller
	// ID and the originator's attestation level, when the call carried
	// them.
	Verstat     string `json:"verstat,omitempty"`
	Attestation string `json:"attestation,omitempty"`
}

// record is a verification as the store keeps it. Neither the code nor
// the personal data is ever encoded in clear: the store holds the code only
// as a keyed hash (CodeHash), the watch token only as a hash (WatchHash),
// and the personal data (Number, Reference, Consent, a flash call's
// CallerID, whose last digits are the code, and an inbound voice call's
// Code, which any node answering the user's call must speak) only in
// Sealed, encrypted with the number's data key (Service.save,
// Service.open). NumberKey is the number's index.
type record struct {
	ID         string `json:"id"`
	Method     Method `json:"method"`
	Status     Status `json:"status"`
	Reason     string `json:"reason,omitempty"`
	Number     string `json:"-"`
	NumberKey  string `json:"number_key"`
	CallerID   string `json:"-"`
	DialNumber string `json:"dial_number,omitempty"`
	// WatchToken is known only while the record is being created; the
	// store keeps its hash.
	WatchToken string `json:"-"`
	WatchHash  string `json:"watch_hash,omitempty"`
	// Code is the code of methods whose code ringproof makes up, known
	// while the record is created (and, sealed, for inbound voice);
	// CodeHash is what a check compares with (codeHash).
	Code        string    `json:"-"`
	CodeHash    string    `json:"code_hash,omitempty"`
	Locale      string    `json:"locale,omitempty"`
	CodeLength  int       `json:"code_length"`
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts"`
	Platform    string    `json:"platform,omitempty"`
	Reference   string    `json:"-"`
	Node        string    `json:"node,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// VerifiedAt is when the verification became verified; zero until
	// then.
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	Events     []Event   `json:"events"`
	// HangupAsked is set when an application asked to end the call; the
	// node placing the call acts on it.
	HangupAsked bool `json:"hangup_asked,omitempty"`
	// Fallback are the methods to try in turn if this one does not reach
	// the user; NextID names the verification started with the first,
	// PreviousID the one this verification follows (fallback.go).
	Fallback   []Method         `json:"fallback,omitempty"`
	NextID     string           `json:"next_id,omitempty"`
	PreviousID string           `json:"previous_id,omitempty"`
	Consent    *privacy.Consent `json:"-"`
	// Sealed is the personal data, encrypted (privacy.Personal).
	Sealed []byte `json:"sealed"`
	// Creator names the publishable key that created the verification
	// (publishable.go), never the key itself; empty when an API key did.
	// Only that key may act on it; a fallback link inherits it.
	Creator string `json:"creator,omitempty"`
	// Service names the service whose key created the verification
	// (services; "" for the implicit one): only its keys see it, and its
	// history is listed under it.
	Service string `json:"service,omitempty"`
	// Test marks a verification of a test number (testnumber.go): no call,
	// no text, a fixed code, no rate limit.
	Test bool `json:"test,omitempty"`
	// Seq counts the record's writes: its history entry's version.
	Seq int64 `json:"seq"`
	// Changes are the changes of status so far, each announced by a
	// webhook (webhooks.go).
	Changes []change `json:"changes,omitempty"`

	// stored and rev are the record as last written by this node and its
	// store revision: an update can start from them instead of a read.
	stored []byte
	rev    int64
}

// Verification is the view of a verification that the API returns.
type Verification struct {
	ID         string `json:"id"`
	Status     Status `json:"status"`
	Reason     string `json:"reason,omitempty"`
	Method     Method `json:"method"`
	Number     string `json:"number"`
	CodeLength int    `json:"code_length,omitempty"`
	CLIPrefix  string `json:"cli_prefix,omitempty"`
	DialNumber string `json:"dial_number,omitempty"`
	// Code is returned once, by create, for the keypad methods: the web
	// page shows it and the user types it on the call.
	Code string `json:"code,omitempty"`
	// WatchToken lets a web page follow this verification's status on
	// GET /v1/verifications/{id}/events?token=... without an API key.
	WatchToken   string    `json:"watch_token,omitempty"`
	AttemptsLeft int       `json:"attempts_left"`
	Platform     string    `json:"platform,omitempty"`
	Reference    string    `json:"reference,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	// VerifiedAt is when the verification became verified; absent until
	// then.
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	Events     []Event    `json:"events"`
	// Fallback are the methods still to try if this one does not reach the
	// user; NextID is the verification that took over (with the first of
	// them), PreviousID the one this verification took over from.
	Fallback   []Method `json:"fallback,omitempty"`
	NextID     string   `json:"next_id,omitempty"`
	PreviousID string   `json:"previous_id,omitempty"`
	// ResultToken is a signed statement that the number is verified, for
	// a web page to hand to its server (resulttoken.go); only when
	// verified.
	ResultToken string `json:"result_token,omitempty"`
	// Service is the service the verification belongs to (services).
	Service string `json:"service,omitempty"`
	// Test is true for a verification of a test number (test_numbers):
	// nothing was dialled or texted, and the configured code verifies it.
	Test bool `json:"test,omitempty"`
}

// view turns the stored record into what the API shows, as of now.
func (r *record) view(now time.Time) *Verification {
	v := &Verification{
		ID:           r.ID,
		Status:       r.statusAt(now),
		Reason:       r.Reason,
		Method:       r.Method,
		Number:       r.Number,
		CodeLength:   r.CodeLength,
		DialNumber:   r.DialNumber,
		AttemptsLeft: max(r.MaxAttempts-r.Attempts, 0),
		Platform:     r.Platform,
		Reference:    r.Reference,
		CreatedAt:    r.CreatedAt,
		ExpiresAt:    r.ExpiresAt,
		Events:       r.Events,
		Fallback:     r.Fallback,
		NextID:       r.NextID,
		PreviousID:   r.PreviousID,
		Test:         r.Test,
		Service:      cmp.Or(r.Service, api.DefaultService),
	}
	if v.Status == StatusExpired && r.Status != StatusExpired {
		v.Reason = ReasonExpired
	}
	if !r.VerifiedAt.IsZero() {
		at := r.VerifiedAt
		v.VerifiedAt = &at
	}
	if len(r.CallerID) > r.CodeLength { // a flash call's caller ID: the code is its last digits
		v.CLIPrefix = r.CallerID[:len(r.CallerID)-r.CodeLength]
	}
	if v.Events == nil {
		v.Events = []Event{}
	}
	return v
}

// statusAt is the status as of now: a verification past its expiry that
// has not reached a final status is expired, whether or not the store has
// been told yet.
func (r *record) statusAt(now time.Time) Status {
	if !r.Status.Final() && !now.Before(r.ExpiresAt) {
		return StatusExpired
	}
	return r.Status
}

// copyPersonal gives r the personal data of from, which was opened: it is
// sealed once, at creation, and never changes.
func (r *record) copyPersonal(from *record) {
	r.Number, r.Reference, r.Consent, r.CallerID, r.Code = from.Number, from.Reference, from.Consent, from.CallerID, from.Code
}
