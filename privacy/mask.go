// Package privacy owns personal data: masking for logs (Mask,
// RedactHandler), the keyed index by which the store finds a number without
// holding it (Index), encryption at rest under per-number data keys wrapped
// with the configured encryption key (Keyring, Vault), the per-number
// history kept for the retention period, and export, erasure
// (crypto-shredding) and their audit trail. docs/privacy.md describes the
// whole.
package privacy

import (
	"strings"
	"unicode/utf8"
)

const (
	// keepHead and keepTail are the digits Mask leaves visible at each end
	// of a long enough number: at most 5 in all.
	keepHead = 2
	keepTail = 3
	// minRevealDigits is the shortest number Mask leaves any digit of, so
	// that at least half of a number's digits are always hidden.
	minRevealDigits = 2 * (keepHead + keepTail)
)

// Mask returns number fit for a log line. A phone number, international
// ("+" then digits) or national (digits only), of 10 digits or more keeps
// its '+', its first 2 and its last 3 digits and has every other digit
// replaced by '*': "+447911123456" gives "+44*******456", "07911123456"
// gives "07******456". A shorter number keeps only its '+' ("1234" gives
// "****"). Anything else, including numbers written with spaces or other
// separators, has every character replaced by '*'. The result has as many
// characters as number, reveals no more than 5 of its digits, and never
// more than 3 in a row.
func Mask(number string) string {
	digits, plus := strings.CutPrefix(number, "+")
	if !isDigits(digits) {
		return stars(utf8.RuneCountInString(number))
	}
	var b strings.Builder
	b.Grow(len(number))
	if plus {
		b.WriteByte('+')
	}
	if len(digits) < minRevealDigits {
		b.WriteString(stars(len(digits)))
		return b.String()
	}
	b.WriteString(digits[:keepHead])
	b.WriteString(stars(len(digits) - keepHead - keepTail))
	b.WriteString(digits[len(digits)-keepTail:])
	return b.String()
}

// MaskCode returns as many '*' as code has characters: a verification code
// is a secret until it expires, and no part of it is shown.
func MaskCode(code string) string {
	return stars(utf8.RuneCountInString(code))
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func stars(n int) string { return strings.Repeat("*", n) }
