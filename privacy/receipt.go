package privacy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Stores named in erasure receipts.
const (
	StoreHistory = "history_store"
	StoreState   = "state_store"
)

// ReceiptType is the type every erasure receipt states.
const ReceiptType = "ringproof erasure receipt"

// receiptDomain is what receipts are signed under.
const receiptDomain = "ringproof erasure receipt v1"

// Receipt is the proof of an erasure that a deployment hands out: what it
// removed, from which store, when, at whose request, signed with its
// signing key (privacy.signing_key). It never holds the number: only its
// keyed hash, the audit subject, which whoever holds the HMAC key can
// compute again from the number (VerifyReceipt with a number).
//
// The signature covers the JSON of Body in compact form (no whitespace
// between tokens), as Body marshals; a receipt may be printed indented and
// still verifies, but any other change to it does not.
type Receipt struct {
	Body      ReceiptBody `json:"receipt"`
	Signature string      `json:"signature"`
}

// ReceiptBody is what a receipt states.
type ReceiptBody struct {
	Type    string `json:"type"`
	Version int    `json:"version"`
	// ID is the id of the erasure's entry in the audit trail, which holds
	// the receipt too.
	ID string `json:"id"`
	// Subject is the number's keyed hash (Index.Subject).
	Subject  string    `json:"subject"`
	ErasedAt time.Time `json:"erased_at"`
	Operator string    `json:"operator"`
	Via      string    `json:"via"`
	// Removed counts what was deleted, by store (history_store,
	// state_store) then kind.
	Removed map[string]map[string]int64 `json:"removed"`
	// CompactedRevision is the state store revision compacted after the
	// deletion: no earlier version of a deleted key can be read.
	CompactedRevision int64 `json:"compacted_revision"`
	// KeyID and PublicKey name the key that signed.
	KeyID     string `json:"key_id"`
	PublicKey string `json:"public_key"`
}

// Errors of VerifyReceipt; test with errors.Is.
var (
	// ErrNotReceipt: the document is not a receipt as ringproof writes
	// it.
	ErrNotReceipt = errors.New("privacy: not an erasure receipt")
	// ErrOtherNumber: the receipt is about another number.
	ErrOtherNumber = errors.New("privacy: the receipt is about another number")
)

// receipt makes and signs the receipt of the erasure out, audited as e.
func (v *Vault) receipt(e AuditEntry, out *Erasure) *Receipt {
	key := v.signer.Verifier()
	b := ReceiptBody{Type: ReceiptType, Version: 1, ID: e.ID, Subject: e.Subject, ErasedAt: out.At,
		Operator: e.Operator, Via: e.Via, Removed: out.Stores, CompactedRevision: out.CompactedRevision,
		KeyID: key.KeyID(), PublicKey: key.PublicKey()}
	b.Operator = Redact(b.Operator)
	msg, _ := json.Marshal(b)
	return &Receipt{Body: b, Signature: base64.StdEncoding.EncodeToString(v.signer.sign(receiptDomain, msg))}
}

// VerifyReceipt checks a receipt, as `ringproof privacy erase --receipt`
// writes it (or the erasure's whole output, which holds it under
// "receipt"), against key. It returns what the receipt states if its
// signature verifies; else an error wrapping ErrBadSignature (altered, or
// signed by another key) or ErrNotReceipt. With idx and number, the
// receipt must also be about number (else ErrOtherNumber).
func VerifyReceipt(doc []byte, key Verifier, idx *Index, number string) (*ReceiptBody, error) {
	top, err := strictObject(doc)
	if err != nil {
		return nil, err
	}
	if _, ok := top["signature"]; !ok {
		// An erasure's output: the receipt is under "receipt".
		inner, ok := top["receipt"]
		if !ok {
			return nil, fmt.Errorf("%w: no \"signature\" and no \"receipt\"", ErrNotReceipt)
		}
		if top, err = strictObject(inner); err != nil {
			return nil, err
		}
	}
	rawBody, rawSig := top["receipt"], top["signature"]
	if len(top) != 2 || rawBody == nil || rawSig == nil {
		return nil, fmt.Errorf("%w: want exactly \"receipt\" and \"signature\"", ErrNotReceipt)
	}
	var sig string
	if err := json.Unmarshal(rawSig, &sig); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrNotReceipt, err)
	}
	sigBytes, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: signature is not base64", ErrBadSignature)
	}
	var msg bytes.Buffer
	if err := json.Compact(&msg, rawBody); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotReceipt, err)
	}
	if _, err := strictObject(msg.Bytes()); err != nil {
		return nil, err
	}
	var b ReceiptBody
	dec := json.NewDecoder(bytes.NewReader(msg.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.Type != ReceiptType {
		return nil, fmt.Errorf("%w: the body is not a receipt's (%v)", ErrNotReceipt, err)
	}
	if err := key.verify(receiptDomain, msg.Bytes(), sigBytes); err != nil {
		if b.KeyID != key.KeyID() {
			return nil, fmt.Errorf("%w: the receipt names the key %s; checked with %s", err, b.KeyID, key.KeyID())
		}
		return nil, fmt.Errorf("%w: the receipt was altered", err)
	}
	if idx != nil && number != "" && idx.Subject(number) != b.Subject {
		return nil, ErrOtherNumber
	}
	return &b, nil
}

// strictObject reads doc as one JSON object whose keys each appear once,
// and returns its members.
func strictObject(doc []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%w: not a JSON object", ErrNotReceipt)
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotReceipt, err)
		}
		k, _ := t.(string)
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%w: %q appears twice", ErrNotReceipt, k)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotReceipt, err)
		}
		out[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotReceipt, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: more after the object", ErrNotReceipt)
	}
	return out, nil
}
