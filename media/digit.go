package media

import "fmt"

// Digit is a DTMF key: '0'–'9', '*', '#' or 'A'–'D'.
type Digit byte

// Valid reports whether d is one of the 16 DTMF keys.
func (d Digit) Valid() bool {
	switch {
	case d >= '0' && d <= '9', d == '*', d == '#', d >= 'A' && d <= 'D':
		return true
	}
	return false
}

// String returns the key as a one-character string.
func (d Digit) String() string {
	if d.Valid() {
		return string(rune(d))
	}
	return fmt.Sprintf("Digit(%#x)", byte(d))
}

// eventDigits maps RFC 4733 §3.2 event codes 0–15 to keys.
const eventDigits = "0123456789*#ABCD"

// DigitFromEvent returns the key for an RFC 4733 event code (0–9, 10 '*',
// 11 '#', 12–15 'A'–'D'); ok is false for any other code, such as 16 (flash).
func DigitFromEvent(code uint8) (d Digit, ok bool) {
	if int(code) < len(eventDigits) {
		return Digit(eventDigits[code]), true
	}
	return 0, false
}

// EventCode returns the RFC 4733 event code of d; ok is false if d is not
// a DTMF key.
func (d Digit) EventCode() (code uint8, ok bool) {
	for i := range len(eventDigits) {
		if eventDigits[i] == byte(d) {
			return uint8(i), true
		}
	}
	return 0, false
}
