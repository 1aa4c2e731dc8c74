package privacy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Errors about keys; test with errors.Is.
var (
	// ErrUnknownKey: a data key was wrapped with an encryption key that is
	// neither privacy.encryption_key nor one of privacy.old_encryption_keys.
	ErrUnknownKey = errors.New("privacy: data key wrapped with an encryption key not configured")
	// ErrBadCiphertext: a wrapped key or sealed value does not decrypt: it
	// was altered, or belongs to another number or record.
	ErrBadCiphertext = errors.New("privacy: ciphertext does not authenticate")
)

// EncryptionKeySize is the size in bytes of an encryption key (AES-256).
const EncryptionKeySize = 32

// wrapVersion is the first byte of a wrapped data key.
const wrapVersion = 1

// keyIDSize is the length of a key id: enough to tell a handful of keys
// apart, too short to say anything about the key.
const keyIDSize = 4

// Keyring holds the encryption keys that wrap per-number data keys: the
// current one, which wraps every new or refreshed data key, and old ones,
// which still unwrap data keys wrapped before a rotation. Each key is known
// by an id derived from it (the first 4 bytes of HMAC-SHA256(key, "ringproof
// key id")), stored beside every wrapped key, so that unwrapping picks the
// right key at once. A Keyring is safe for concurrent use.
type Keyring struct {
	current kek
	old     []kek
}

type kek struct {
	id   [keyIDSize]byte
	aead cipher.AEAD
}

// NewKeyring returns a keyring wrapping with current and unwrapping with
// current and old. Every key must be EncryptionKeySize bytes.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	cur, err := newKEK(current)
	if err != nil {
		return nil, fmt.Errorf("privacy: encryption key: %w", err)
	}
	r := &Keyring{current: cur}
	for i, k := range old {
		o, err := newKEK(k)
		if err != nil {
			return nil, fmt.Errorf("privacy: old encryption key %d: %w", i, err)
		}
		if o.id == cur.id {
			continue // the current key listed among the old ones as well
		}
		r.old = append(r.old, o)
	}
	return r, nil
}

func newKEK(key []byte) (kek, error) {
	if len(key) != EncryptionKeySize {
		return kek{}, fmt.Errorf("%d bytes, want %d", len(key), EncryptionKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return kek{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return kek{}, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ringproof key id"))
	var k kek
	copy(k.id[:], m.Sum(nil))
	k.aead = aead
	return k, nil
}

// KeyID returns the id of the current encryption key, in hex: what
// wrapped keys record, and what `ringproof privacy rewrap` reports.
func (r *Keyring) KeyID() string { return hex.EncodeToString(r.current.id[:]) }

// wrap encrypts data key dk for number key nk under the current key:
// version byte, key id, nonce, AES-256-GCM ciphertext. The number key is
// authenticated, so a wrapped key moved to another number does not
// unwrap.
func (r *Keyring) wrap(nk string, dk []byte) []byte {
	nonce := make([]byte, r.current.aead.NonceSize())
	mustRandom(nonce)
	out := make([]byte, 0, 1+keyIDSize+len(nonce)+len(dk)+r.current.aead.Overhead())
	out = append(out, wrapVersion)
	out = append(out, r.current.id[:]...)
	out = append(out, nonce...)
	return r.current.aead.Seal(out, nonce, dk, wrapAAD(nk))
}

// unwrap decrypts a wrapped data key of nk. current reports whether it was
// wrapped with the current key (else it should be rewrapped).
func (r *Keyring) unwrap(nk string, w []byte) (dk []byte, current bool, err error) {
	const head = 1 + keyIDSize
	if len(w) < head || w[0] != wrapVersion {
		return nil, false, fmt.Errorf("%w: not a wrapped key", ErrBadCiphertext)
	}
	var id [keyIDSize]byte
	copy(id[:], w[1:head])
	k, current, ok := r.find(id)
	if !ok {
		return nil, false, fmt.Errorf("%w (key id %x)", ErrUnknownKey, id)
	}
	ns := k.aead.NonceSize()
	if len(w) < head+ns {
		return nil, false, fmt.Errorf("%w: wrapped key too short", ErrBadCiphertext)
	}
	dk, err = k.aead.Open(nil, w[head:head+ns], w[head+ns:], wrapAAD(nk))
	if err != nil || len(dk) != dataKeySize {
		return nil, false, ErrBadCiphertext
	}
	return dk, current, nil
}

func (r *Keyring) find(id [keyIDSize]byte) (kek, bool, bool) {
	if id == r.current.id {
		return r.current, true, true
	}
	for _, k := range r.old {
		if id == k.id {
			return k, false, true
		}
	}
	return kek{}, false, false
}

func wrapAAD(nk string) []byte { return []byte("ringproof data key\x00" + nk) }

// mustRandom fills b from crypto/rand, which does not fail on supported
// systems.
func mustRandom(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("privacy: crypto/rand failed: " + err.Error())
	}
}
