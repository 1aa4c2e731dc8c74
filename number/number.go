// Package number reads phone numbers as people and carriers write them,
// into E.164, with libphonenumber: Parse for what an API request names,
// NormaliseCallerID for a caller ID or a dialled number off a SIP trunk.
package number

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/ringproof/ringproof/api"
)

// maxNumberInput bounds what is handed to the phone number parser.
const maxNumberInput = 64

// Parse turns s into E.164 ("+447911123456"). A number without a
// leading '+' is read as dialled in region (national, or 00-prefixed international), an ISO 3166
// code such as "GB". It fails with an *api.InputError naming field "number"
// (or "region") unless the result is a valid, dialable number.
func Parse(s, region string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &api.InputError{Field: "number", Code: "missing", Message: "number is required"}
	}
	if len(s) > maxNumberInput {
		return "", &api.InputError{Field: "number", Code: "invalid", Message: "number is too long"}
	}
	if strings.IndexFunc(s, notDialable) >= 0 || strings.LastIndexByte(s, '+') > 0 {
		// The parser would drop what it does not understand
		// ("+447911128101x" would pass for +447911128101).
		return "", &api.InputError{Field: "number", Code: "invalid", Message: "number may hold only digits, a leading +, and spaces, dashes, dots or brackets between them"}
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	if region != "" && !knownRegion(region) {
		return "", &api.InputError{Field: "region", Code: "invalid", Message: "region must be an ISO 3166-1 alpha-2 code such as GB"}
	}
	if !strings.HasPrefix(s, "+") && region == "" {
		return "", &api.InputError{Field: "number", Code: "invalid", Message: "number must be in E.164 form (+447911123456), or give region for a national number"}
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", &api.InputError{Field: "number", Code: "invalid", Message: "number is not a phone number"}
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", &api.InputError{Field: "number", Code: "invalid", Message: "number is not a valid phone number"}
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// notDialable reports whether r may not appear in a number as written.
func notDialable(r rune) bool {
	return !(r >= '0' && r <= '9') && !strings.ContainsRune("+ -.()", r)
}

// knownRegion reports whether region is a region the numbering plan knows.
func knownRegion(region string) bool {
	return phonenumbers.GetCountryCodeForRegion(region) != 0
}

// NormaliseCallerID reads a caller ID or dialled number as carriers send
// it: E.164 with '+', national (with the trunk's region), or international
// digits without the '+'.
func NormaliseCallerID(raw, region string) (string, error) {
	raw = strings.TrimPrefix(strings.TrimSpace(raw), "tel:")
	raw, _, _ = strings.Cut(raw, ";") // user parameters (;isub=, ;npdi)
	if raw == "" {
		return "", errors.New("empty")
	}
	if strings.HasPrefix(raw, "+") {
		return Parse(raw, "")
	}
	if region != "" {
		if n, err := Parse(raw, region); err == nil {
			return n, nil
		}
	}
	return Parse("+"+raw, "")
}
