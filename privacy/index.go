package privacy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// KeySize is the length in bytes of an index key.
const KeySize = 32

// Index maps phone numbers to the opaque keys the store indexes them by: a
// keyed HMAC-SHA256, so that a copy of the store does not give the numbers
// away and cannot be searched for a number without the key.
type Index struct{ key []byte }

// NewIndex returns an index under key, which must be KeySize bytes or more.
func NewIndex(key []byte) (*Index, error) {
	if len(key) < KeySize {
		return nil, fmt.Errorf("privacy: index key is %d bytes, want at least %d", len(key), KeySize)
	}
	return &Index{key: append([]byte(nil), key...)}, nil
}

// Of returns the index key of an E.164 number: 32 hex digits.
func (x *Index) Of(number string) string {
	m := hmac.New(sha256.New, x.key)
	m.Write([]byte(number))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// LoadOrCreateKey reads a hex key from path, or, when the file does not
// exist, makes a random one and writes it there (mode 0600). created says
// which happened.
func LoadOrCreateKey(path string) (key []byte, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err = hex.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(key) < KeySize {
			return nil, false, fmt.Errorf("privacy: key file %s: want %d hex-encoded bytes", path, KeySize)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("privacy: key file: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("privacy: new key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("privacy: key file: %w", err)
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, false, fmt.Errorf("privacy: key file: %w", err)
	}
	return key, true, nil
}

// Subject returns the id under which the audit trail records exports and
// erasures of number: a keyed HMAC like Of's, domain-separated so that it
// differs from the index key, 32 hex digits. Erasure removes every key
// named by the index key; the audit trail, which outlives it, can then be
// joined to nothing else in the store, yet staff who hold the HMAC key can
// still find the trail of a number.
func (x *Index) Subject(number string) string {
	m := hmac.New(sha256.New, x.key)
	m.Write([]byte("ringproof audit subject\x00"))
	m.Write([]byte(number))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// CodeHash returns the keyed hash under which a verification's record keeps
// its code: HMAC-SHA256 under the index key, domain-separated, bound to the
// verification id, 32 hex digits. Without the key a copy of the store
// cannot tell one code from another; with it, the code is still one of at
// most a million.
func (x *Index) CodeHash(id, code string) string {
	m := hmac.New(sha256.New, x.key)
	m.Write([]byte("ringproof code\x00"))
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// LoadKey reads a hex key that LoadOrCreateKey wrote at path.
func LoadKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("privacy: key file: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) < KeySize {
		return nil, fmt.Errorf("privacy: key file %s: want %d hex-encoded bytes", path, KeySize)
	}
	return key, nil
}

// Keyed returns the keyed HMAC-SHA256 (32 bytes) of parts under domain,
// for secrets the deployment keeps that are not numbers (an API key with
// an Idempotency-Key, a webhook's secret). Each domain gives unrelated
// values, and none equals an index key.
func (x *Index) Keyed(domain string, parts ...string) []byte {
	m := hmac.New(sha256.New, x.key)
	m.Write([]byte("ringproof keyed\x00" + domain))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(strconv.Itoa(len(p))))
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}
