package verify

import "crypto/subtle"

// codeMatches compares a code given by a user with the expected one in
// constant time. An empty expected code never matches.
func codeMatches(expected, given string) bool {
	if expected == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(expected), []byte(given)) == 1
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
