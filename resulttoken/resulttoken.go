// Package resulttoken signs and checks result tokens: what the widget
// hands to the page's form when a number is verified, so that the app's
// server can trust the outcome without calling ringproof.
//
// A token is three parts joined by dots:
//
//	rp1.<payload>.<signature>
//
// payload is the claims as JSON, base64url without padding; signature is
// HMAC-SHA256 under the server's http.result_token_key of the text
// "rp1.<payload>", base64url without padding. The payload is signed, not
// encrypted: it holds the number the user typed.
//
// The package needs nothing but the standard library, so an app's server
// written in Go may import it; docs/widget.md shows the same check as a
// short function to copy, in Go and in Python.
package resulttoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Version is the first part of every token this package makes.
const Version = "rp1"

// Claims is what a token says.
type Claims struct {
	// ID is the verification's id.
	ID string `json:"id"`
	// Number is the number verified, E.164.
	Number string `json:"number"`
	// Status is the verification's status when the token was made:
	// "verified" for every token ringproof hands out today.
	Status string `json:"status"`
	// Time is when the token was made, in Unix seconds.
	Time int64 `json:"time"`
}

// Errors of Check; test with errors.Is.
var (
	// ErrMalformed: the token is not three dot-separated base64url parts
	// of this version with a JSON payload.
	ErrMalformed = errors.New("resulttoken: malformed token")
	// ErrSignature: the signature does not match (another key, or the
	// token was altered).
	ErrSignature = errors.New("resulttoken: bad signature")
	// ErrExpired: the token is older than the maximum age given, or made
	// in the future.
	ErrExpired = errors.New("resulttoken: expired")
	// ErrNotVerified: the token says a status other than verified.
	ErrNotVerified = errors.New("resulttoken: not verified")
)

var b64 = base64.RawURLEncoding

// Sign returns the token of c under key.
func Sign(key []byte, c Claims) string {
	payload, err := json.Marshal(c)
	if err != nil {
		panic("resulttoken: " + err.Error()) // strings and an int always marshal
	}
	signed := Version + "." + b64.EncodeToString(payload)
	return signed + "." + b64.EncodeToString(mac(key, signed))
}

// Check returns the claims of token if its signature under key holds. It
// does not look at the claims: Verify does.
func Check(key []byte, token string) (Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != Version {
		return Claims{}, ErrMalformed
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return Claims{}, ErrMalformed
	}
	if !hmac.Equal(sig, mac(key, parts[0]+"."+parts[1])) {
		return Claims{}, ErrSignature
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return Claims{}, ErrMalformed
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return c, nil
}

// Verify is what an app's server does with a token from its form: Check,
// then require the status verified and a token made within maxAge of now
// (and not later than now, allowing a minute of clock difference). The app
// should also accept each verification id once, so that a token cannot be
// replayed.
func Verify(key []byte, token string, maxAge time.Duration, now time.Time) (Claims, error) {
	c, err := Check(key, token)
	if err != nil {
		return Claims{}, err
	}
	if c.Status != "verified" {
		return c, fmt.Errorf("%w: status %q", ErrNotVerified, c.Status)
	}
	made := time.Unix(c.Time, 0)
	if now.Sub(made) > maxAge || made.Sub(now) > time.Minute {
		return c, fmt.Errorf("%w: made %s", ErrExpired, made.UTC().Format(time.RFC3339))
	}
	return c, nil
}

func mac(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}
