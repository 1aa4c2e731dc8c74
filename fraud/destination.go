package fraud

import (
	"fmt"

	"github.com/nyaruka/phonenumbers"

	"github.com/ringproof/ringproof/conf"
)

// Destinations decides which numbers may be called or texted at all: those
// in fraud.allowed_countries (all, when empty) and of no type in
// fraud.blocked_number_types, as libphonenumber classifies them. It is
// safe for concurrent use.
type Destinations struct {
	allowed map[string]bool // nil: every country
	blocked map[phonenumbers.PhoneNumberType]string
}

// NewDestinations returns the rules of f, which conf has validated.
func NewDestinations(f conf.Fraud) *Destinations {
	d := &Destinations{blocked: map[phonenumbers.PhoneNumberType]string{}}
	if len(f.AllowedCountries) > 0 {
		d.allowed = map[string]bool{}
		for _, c := range f.AllowedCountries {
			d.allowed[c] = true
		}
	}
	for _, name := range f.BlockedNumberTypes {
		if t, ok := conf.NumberTypes[name]; ok {
			d.blocked[t] = name
		}
	}
	return d
}

// Check returns nil if number (E.164, valid) may be reached, else a
// *Refusal: 403 destination_blocked, reason country or number_type. It
// costs a parse of the number and a match of its type against
// libphonenumber's patterns (tens of µs) unless no rule is set.
func (d *Destinations) Check(number string) error {
	if d == nil || (d.allowed == nil && len(d.blocked) == 0) {
		return nil
	}
	n, err := phonenumbers.Parse(number, "")
	if err != nil {
		return fmt.Errorf("fraud: destination: %w", err)
	}
	if d.allowed != nil {
		if region := phonenumbers.GetRegionCodeForNumber(n); !d.allowed[region] {
			return blocked(ReasonCountry, region, "a number in "+regionName(region))
		}
	}
	if len(d.blocked) > 0 {
		t := phonenumbers.GetNumberType(n)
		if name, ok := d.blocked[t]; ok {
			// The region only now, for metrics: it costs as much again.
			return blocked(ReasonNumberType, phonenumbers.GetRegionCodeForNumber(n), "a "+name+" number")
		}
	}
	return nil
}

// Region returns number's region as libphonenumber assigns it ("" when it
// cannot tell): the country label of refusals in metrics.
func Region(number string) string {
	n, err := phonenumbers.Parse(number, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(n)
}

// regionName is region for a message: the code, or "no known region".
func regionName(region string) string {
	if region == "" || region == "ZZ" {
		return "no known region"
	}
	return region
}
