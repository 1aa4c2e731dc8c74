package media

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
)

// Errors of ParseDTMFInfo. A SIP layer answers an INFO whose type is
// unsupported with 415 and one whose body is invalid with 400.
var (
	ErrDTMFInfoType = errors.New("media: unsupported DTMF INFO content type")
	ErrDTMFInfoBody = errors.New("media: invalid DTMF INFO body")
)

// ParseDTMFInfo reads the key carried by a SIP INFO body. contentType is the
// Content-Type header value (parameters and case are ignored):
//
//   - application/dtmf-relay: lines "Key=value"; the Signal line carries the
//     key ("Signal=5\r\nDuration=160"); other lines are ignored.
//   - application/dtmf: the body is the key itself ("5").
//
// A key is one of 0–9 * # A–D (letters in either case) or its RFC 4733
// event code 10–15, which some gateways send for * # A–D.
func ParseDTMFInfo(contentType string, body []byte) (Digit, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %v", ErrDTMFInfoType, contentType, err)
	}
	switch mt {
	case "application/dtmf-relay":
		return parseDTMFRelay(body)
	case "application/dtmf":
		return parseDTMFKey(string(bytes.TrimSpace(body)))
	}
	return 0, fmt.Errorf("%w: %q", ErrDTMFInfoType, mt)
}

func parseDTMFRelay(body []byte) (Digit, error) {
	for line := range strings.Lines(string(body)) {
		key, value, ok := strings.Cut(line, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(key), "Signal") {
			continue
		}
		return parseDTMFKey(strings.TrimSpace(value))
	}
	return 0, fmt.Errorf("%w: dtmf-relay body has no Signal line", ErrDTMFInfoBody)
}

func parseDTMFKey(s string) (Digit, error) {
	if len(s) == 1 {
		d := Digit(s[0])
		if d >= 'a' && d <= 'd' {
			d -= 'a' - 'A'
		}
		if d.Valid() {
			return d, nil
		}
	}
	if code, err := strconv.ParseUint(s, 10, 8); err == nil {
		if d, ok := DigitFromEvent(uint8(code)); ok {
			return d, nil
		}
	}
	if len(s) > 16 {
		s = s[:16] + "..."
	}
	return 0, fmt.Errorf("%w: signal %q is not a DTMF key", ErrDTMFInfoBody, s)
}
