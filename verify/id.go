package verify

import (
	"crypto/rand"
	"encoding/hex"
)

// newID returns a random verification id: "v" and 32 hex digits.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("verify: crypto/rand failed: " + err.Error())
	}
	return "v" + hex.EncodeToString(b[:])
}

// newToken returns a random token that lets a web page watch one
// verification without an API key.
func newToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("verify: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// validID reports whether id could have come from newID, so that junk never
// reaches the store.
func validID(id string) bool {
	if len(id) != 33 || id[0] != 'v' {
		return false
	}
	for i := 1; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
