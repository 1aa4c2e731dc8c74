package privacy

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"fmt"
)

// dataKeySize is the size of a per-number data key (AES-256).
const dataKeySize = 32

// sealVersion is the first byte of a sealed value.
const sealVersion = 1

// Key is one number's data key: the AES-256 key its personal data is
// sealed with. The store holds it only wrapped by the Keyring; destroying
// that copy (erasure, or the end of the retention lease) makes everything
// sealed with it unreadable. Get one from Vault.Key.
type Key struct {
	nk   string
	aead cipher.AEAD
	// stored is the wrapped key as the store holds it, nil for a key not
	// stored yet; wrapped is what Keep writes: stored, or the key rewrapped
	// under the current encryption key.
	stored, wrapped []byte
}

func newKey(nk string, dk []byte) (*Key, error) {
	block, err := aes.NewCipher(dk)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{nk: nk, aead: aead}, nil
}

// NumberKey is the index key of the number this key belongs to.
func (k *Key) NumberKey() string { return k.nk }

// Seal encrypts plaintext with AES-256-GCM under a random nonce: version
// byte, nonce, ciphertext. aad is authenticated, not encrypted: bind the
// value to where it belongs (a record id) so it cannot be moved.
func (k *Key) Seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	mustRandom(nonce)
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+k.aead.Overhead())
	out = append(out, sealVersion)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, aad)
}

// Open decrypts what Seal returned for the same aad. The error wraps
// ErrBadCiphertext.
func (k *Key) Open(sealed, aad []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < 1+ns || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: not a sealed value", ErrBadCiphertext)
	}
	pt, err := k.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, ErrBadCiphertext
	}
	return pt, nil
}

// SealPersonal seals p for the verification id.
func (k *Key) SealPersonal(id string, p Personal) ([]byte, error) {
	pt, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("privacy: encode personal data: %w", err)
	}
	return k.Seal(pt, personalAAD(k.nk, id)), nil
}

// OpenPersonal opens what SealPersonal sealed for id.
func (k *Key) OpenPersonal(id string, sealed []byte) (Personal, error) {
	var p Personal
	pt, err := k.Open(sealed, personalAAD(k.nk, id))
	if err != nil {
		return p, fmt.Errorf("privacy: personal data of %s: %w", id, err)
	}
	if err := json.Unmarshal(pt, &p); err != nil {
		return p, fmt.Errorf("privacy: personal data of %s: %w", id, err)
	}
	return p, nil
}

func personalAAD(nk, id string) []byte { return []byte("ringproof personal\x00" + nk + "\x00" + id) }
