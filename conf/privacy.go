package conf

import (
	"encoding/hex"
	"fmt"
	"strconv"
)

// Sizes of the privacy keys, in bytes.
const (
	// minHMACKeyBytes is the least an HMAC-SHA256 key should hold.
	minHMACKeyBytes = 32
	// encryptionKeyBytes is the size of an AES-256 key.
	encryptionKeyBytes = 32
	// signingKeyBytes is the size of an Ed25519 seed.
	signingKeyBytes = 32
)

// HMACKey returns hmac_key decoded from hex, or nil, nil if it is empty.
// The error is a *FieldError naming privacy.hmac_key; it never shows the
// key.
func (p Privacy) HMACKey() ([]byte, error) {
	return decodeKey("privacy.hmac_key", p.HMACKeyHex, minHMACKeyBytes, 0)
}

// EncryptionKey returns encryption_key decoded from hex, 32 bytes for
// AES-256, or nil, nil if it is empty. The error is a *FieldError naming
// privacy.encryption_key; it never shows the key.
func (p Privacy) EncryptionKey() ([]byte, error) {
	return decodeKey("privacy.encryption_key", p.EncryptionKeyHex, encryptionKeyBytes, encryptionKeyBytes)
}

// SigningKey returns signing_key decoded from hex: the 32-byte seed of an
// Ed25519 key, or nil, nil if it is empty. The error is a *FieldError
// naming privacy.signing_key; it never shows the key.
func (p Privacy) SigningKey() ([]byte, error) {
	return decodeKey("privacy.signing_key", p.SigningKeyHex, signingKeyBytes, signingKeyBytes)
}

// OldEncryptionKeys returns old_encryption_keys decoded from hex, in
// order, or nil, nil if there are none. The error is a *FieldError naming
// the first element that is empty or not a 32-byte hex key; it never shows
// the key.
func (p Privacy) OldEncryptionKeys() ([][]byte, error) {
	var keys [][]byte
	for i, s := range p.OldEncryptionKeysHex {
		key := "privacy.old_encryption_keys[" + strconv.Itoa(i) + "]"
		if s == "" {
			return nil, &FieldError{Key: key, Problem: "is empty"}
		}
		k, err := decodeKey(key, s, encryptionKeyBytes, encryptionKeyBytes)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// decodeKey decodes the hex secret s, the value of key path key, and checks
// that it holds at least lo bytes and, when hi > 0, at most hi. An empty s
// gives nil, nil. The error is a *FieldError that does not show s.
func decodeKey(key, s string, lo, hi int) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	if problem := keyProblem(s, lo, hi); problem != "" {
		return nil, &FieldError{Key: key, Problem: problem}
	}
	return hex.DecodeString(s)
}

// keyProblem returns what is wrong with the hex secret s, not empty, for
// decodeKey: not hex, or too short or long. It never quotes s, nor any
// character of it (encoding/hex's errors do).
func keyProblem(s string, lo, hi int) string {
	want := fmt.Sprintf("at least %d bytes (%d hex digits)", lo, 2*lo)
	if hi == lo {
		want = fmt.Sprintf("exactly %d bytes (%d hex digits)", lo, 2*lo)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return "is not hex: want " + want + ", digits 0-9 and a-f only"
		}
	}
	if len(s)%2 != 0 {
		return fmt.Sprintf("has an odd number of hex digits (%d); want %s", len(s), want)
	}
	if n := len(s) / 2; n < lo || hi > 0 && n > hi {
		return fmt.Sprintf("is %d bytes; want %s", n, want)
	}
	return ""
}
