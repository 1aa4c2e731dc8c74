package verify

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxNumberInput bounds what is handed to the phone number parser.
const maxNumberInput = 64

// ParseNumber turns s into E.164 ("+447911123456"). A number without a
// leading '+' is read as dialled in region (national, or 00-prefixed international), an ISO 3166
// code such as "GB". It fails with an *InputError naming field "number"
// (or "region") unless the result is a valid, dialable number.
func ParseNumber(s, region string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &InputError{Field: "number", Code: "missing", Message: "number is required"}
	}
	if len(s) > maxNumberInput {
		return "", &InputError{Field: "number", Code: "invalid", Message: "number is too long"}
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	if region != "" && !knownRegion(region) {
		return "", &InputError{Field: "region", Code: "invalid", Message: "region must be an ISO 3166-1 alpha-2 code such as GB"}
	}
	if !strings.HasPrefix(s, "+") && region == "" {
		return "", &InputError{Field: "number", Code: "invalid", Message: "number must be in E.164 form (+447911123456), or give region for a national number"}
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", &InputError{Field: "number", Code: "invalid", Message: "number is not a phone number"}
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", &InputError{Field: "number", Code: "invalid", Message: "number is not a valid phone number"}
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// knownRegion reports whether region is a region the numbering plan knows.
func knownRegion(region string) bool {
	return phonenumbers.GetCountryCodeForRegion(region) != 0
}
