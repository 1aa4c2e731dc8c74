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
	nk string
	// dk is the raw key. The AES-GCM state is built for each use: it is
	// about 1.4 KB, and vaults cache tens of thousands of keys.
	dk [dataKeySize]byte
	// stored is the wrapped key as the store holds it, nil for a key not
	// stored yet; wrapped is what Keep writes: stored, or the key rewrapped
	// under the current encryption key.
	stored, wrapped []byte
}

func newKey(nk string, dk []byte) (*Key, error) {
	if len(dk) != dataKeySize {
		return nil, fmt.Errorf("privacy: data key of %d bytes, want %d", len(dk), dataKeySize)
	}
	k := &Key{nk: nk}
	copy(k.dk[:], dk)
	return k, nil
}

// aead returns AES-256-GCM under k.
func (k *Key) aead() cipher.AEAD {
	block, err := aes.NewCipher(k.dk[:])
	if err != nil {
		panic("privacy: AES-256 with a 32-byte key: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("privacy: GCM: " + err.Error())
	}
	return aead
}

// NumberKey is the index key of the number this key belongs to.
func (k *Key) NumberKey() string { return k.nk }

// Seal encrypts plaintext with AES-256-GCM under a random nonce: version
// byte, nonce, ciphertext. aad is authenticated, not encrypted: bind the
// value to where it belongs (a record id) so it cannot be moved.
func (k *Key) Seal(plaintext, aad []byte) []byte {
	aead := k.aead()
	nonce := make([]byte, aead.NonceSize())
	mustRandom(nonce)
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+aead.Overhead())
	out = append(out, sealVersion)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, aad)
}

// Open decrypts what Seal returned for the same aad. The error wraps
// ErrBadCiphertext.
func (k *Key) Open(sealed, aad []byte) ([]byte, error) {
	aead := k.aead()
	ns := aead.NonceSize()
	if len(sealed) < 1+ns || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: not a sealed value", ErrBadCiphertext)
	}
	pt, err := aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
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
