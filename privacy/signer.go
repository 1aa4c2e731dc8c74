package privacy

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrBadSignature means a signature does not verify under the key it is
// checked with: what it signs was altered, or another key signed it.
var ErrBadSignature = errors.New("privacy: signature does not verify")

// SigningKeySize is the size in bytes of a signing key's seed
// (privacy.signing_key).
const SigningKeySize = ed25519.SeedSize

// keyIDLen is the length in bytes of a signing key's id.
const keyIDLen = 8

// Signer signs what the deployment vouches for, erasure receipts and audit
// entries, with its Ed25519 key (privacy.signing_key). Anyone holding its
// public key can check what it signed. Each use signs under its own
// domain, so that a signature made for one purpose never passes for
// another.
type Signer struct {
	priv ed25519.PrivateKey
	pub  Verifier
}

// NewSigner returns the signer whose key is made from seed,
// SigningKeySize bytes.
func NewSigner(seed []byte) (*Signer, error) {
	if len(seed) != SigningKeySize {
		return nil, fmt.Errorf("privacy: signing key is %d bytes, want %d", len(seed), SigningKeySize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Signer{priv: priv, pub: Verifier{key: priv.Public().(ed25519.PublicKey)}}, nil
}

// newRandomSigner returns a signer with a key made for this process only.
func newRandomSigner() *Signer {
	seed := make([]byte, SigningKeySize)
	mustRandom(seed)
	s, _ := NewSigner(seed)
	return s
}

// Verifier returns the public half of s.
func (s *Signer) Verifier() Verifier { return s.pub }

// sign signs msg under domain.
func (s *Signer) sign(domain string, msg []byte) []byte {
	return ed25519.Sign(s.priv, signed(domain, msg))
}

// Verifier checks what a Signer signed, with its public key.
type Verifier struct{ key ed25519.PublicKey }

// ParsePublicKey reads a public key written as PublicKey writes it (64 hex
// digits).
func ParsePublicKey(s string) (Verifier, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return Verifier{}, fmt.Errorf("privacy: a public key is %d hex-encoded bytes", ed25519.PublicKeySize)
	}
	return Verifier{key: ed25519.PublicKey(b)}, nil
}

// PublicKey is the public key, in hex: what to give whoever must check
// receipts and the audit trail without the deployment's secrets.
func (v Verifier) PublicKey() string { return hex.EncodeToString(v.key) }

// KeyID names the key in what it signed: the first 8 bytes of the
// SHA-256 of the public key, in hex.
func (v Verifier) KeyID() string {
	sum := sha256.Sum256(v.key)
	return hex.EncodeToString(sum[:keyIDLen])
}

// verify checks sig, made by sign(domain, msg).
func (v Verifier) verify(domain string, msg, sig []byte) error {
	if len(v.key) != ed25519.PublicKeySize || !ed25519.Verify(v.key, signed(domain, msg), sig) {
		return ErrBadSignature
	}
	return nil
}

// signed is what a signature under domain covers: the domain, a zero
// byte, and msg.
func signed(domain string, msg []byte) []byte {
	b := make([]byte, 0, len(domain)+1+len(msg))
	b = append(b, domain...)
	b = append(b, 0)
	return append(b, msg...)
}
