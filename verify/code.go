package verify

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// codeMatches compares, in constant time, the keyed hash of a code given by
// a user with the hash of the expected one. An empty expected hash never
// matches.
func codeMatches(expectedHash, givenHash string) bool {
	if expectedHash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(expectedHash), []byte(givenHash)) == 1
}

// watchHash is what the store keeps of a watch token: a hash, so that
// reading the store does not give a web page's credential away (the token
// is 128 random bits: no key is needed to make guessing useless).
func watchHash(token string) string {
	sum := sha256.Sum256([]byte("ringproof watch token\x00" + token))
	return hex.EncodeToString(sum[:16])
}

// watchTokenMatches reports, in constant time, whether token is r's watch
// token.
func (r *record) watchTokenMatches(token string) bool {
	return r.WatchHash != "" && subtle.ConstantTimeCompare([]byte(watchHash(token)), []byte(r.WatchHash)) == 1
}

// validCode reports whether s is n ASCII digits.
func validCode(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
