package number

import (
	"github.com/nyaruka/phonenumbers"

	"github.com/ringproof/ringproof/api"
)

// Info is what the numbering plan says of a number.
type Info struct {
	// CountryCode is the country calling code (44 for +447911123456).
	CountryCode int
	// Region is the number's ISO 3166-1 alpha-2 region ("GB").
	Region string
	// Mobile reports whether the number may be a mobile one: the plan
	// says mobile, or cannot tell mobile from fixed (North America).
	Mobile bool
	// International is the number written for people, in international
	// format ("+44 7911 123456").
	International string
	// Carrier is the operator the number's range was allocated to, in
	// English, or "" if the plan does not say. Numbers move between
	// operators: it is a guess.
	Carrier string
}

// Describe returns what the numbering plan says of e164, a number Parse
// returned. It fails with an *api.InputError naming "number" if e164 is
// not a valid number.
func Describe(e164 string) (Info, error) {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return Info{}, &api.InputError{Field: "number", Code: "invalid", Message: "number is not a valid phone number"}
	}
	t := phonenumbers.GetNumberType(n)
	carrier, _ := phonenumbers.GetCarrierForNumber(n, "en")
	return Info{
		CountryCode:   int(n.GetCountryCode()),
		Region:        phonenumbers.GetRegionCodeForNumber(n),
		Mobile:        t == phonenumbers.MOBILE || t == phonenumbers.FIXED_LINE_OR_MOBILE,
		International: phonenumbers.Format(n, phonenumbers.INTERNATIONAL),
		Carrier:       carrier,
	}, nil
}
