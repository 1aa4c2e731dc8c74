package conf

import (
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Fraud protects the owner of the server, who pays for every call and
// text, from toll fraud and SMS pumping (docs/fraud.md).
type Fraud struct {
	// AllowedCountries are the ISO 3166-1 alpha-2 regions (as
	// libphonenumber assigns numbers to them: GB, GG, JE and IM share +44)
	// that verifications and masking sessions may reach. Empty means every
	// country. Load upper-cases them.
	AllowedCountries []string `yaml:"allowed_countries"`
	// BlockedNumberTypes are libphonenumber's number types that are never
	// called or texted: fixed_line, mobile, fixed_line_or_mobile,
	// toll_free, premium_rate, shared_cost, voip, personal_number, pager,
	// uan, voicemail, unknown. Default premium_rate, shared_cost,
	// personal_number, uan, pager, voicemail, unknown.
	BlockedNumberTypes []string `yaml:"blocked_number_types"`
	// SafeNumbers are E.164 numbers or ranges (as callers) exempt from the
	// pumping guard. Default empty.
	SafeNumbers  []string     `yaml:"safe_numbers"`
	PumpingGuard PumpingGuard `yaml:"pumping_guard"`
}

// PumpingGuard suspends number prefixes whose verifications are mostly
// never verified: the mark of SMS pumping and of toll fraud on flash
// calls.
type PumpingGuard struct {
	// Enabled turns the guard on. Default true.
	Enabled bool `yaml:"enabled"`
	// PrefixDigits groups numbers by their first N digits after '+'.
	// Default 6; 1 to 15.
	PrefixDigits int `yaml:"prefix_digits"`
	// WindowS is the window verifications are counted over, in seconds,
	// and how long a suspension lasts. Default 3600; 60 to 604800.
	WindowS int `yaml:"window_s"`
	// MinAttempts is how many verifications a prefix needs in the window
	// before it is judged. Default 20; at least 1.
	MinAttempts int `yaml:"min_attempts"`
	// MaxUnverifiedRatio: a create that would take a judged prefix's share
	// of unverified verifications above it is refused, and the prefix
	// suspended. Default 0.9; above 0, at most 1 (1: never).
	MaxUnverifiedRatio float64 `yaml:"max_unverified_ratio"`
}

// Limits are rate limits held across the cluster. 0 means unlimited.
type Limits struct {
	// PerKeyPerMinute caps creates per API key. Default 0.
	PerKeyPerMinute int `yaml:"per_key_per_minute"`
	// PerIPPerMinute caps creates per client address (IPv6 by /64);
	// http.trusted_proxies decide whether X-Forwarded-For names it.
	// Default 0.
	PerIPPerMinute int `yaml:"per_ip_per_minute"`
	// GlobalPerSecond caps creates across the whole cluster. Default 0.
	GlobalPerSecond int `yaml:"global_per_second"`
	// ChecksPerIPPerMinute caps code checks per client address. Default 0.
	ChecksPerIPPerMinute int `yaml:"checks_per_ip_per_minute"`
}

// NumberTypes are the names blocked_number_types accepts, by
// libphonenumber's type.
var NumberTypes = map[string]phonenumbers.PhoneNumberType{
	"fixed_line":           phonenumbers.FIXED_LINE,
	"mobile":               phonenumbers.MOBILE,
	"fixed_line_or_mobile": phonenumbers.FIXED_LINE_OR_MOBILE,
	"toll_free":            phonenumbers.TOLL_FREE,
	"premium_rate":         phonenumbers.PREMIUM_RATE,
	"shared_cost":          phonenumbers.SHARED_COST,
	"voip":                 phonenumbers.VOIP,
	"personal_number":      phonenumbers.PERSONAL_NUMBER,
	"pager":                phonenumbers.PAGER,
	"uan":                  phonenumbers.UAN,
	"voicemail":            phonenumbers.VOICEMAIL,
	"unknown":              phonenumbers.UNKNOWN,
}

// Attestation levels a trunk's min_attestation accepts, strongest first.
var attestations = []string{"A", "B", "C"}

// normaliseFraud upper-cases allowed_countries, as trunks' regions are.
func (c *Config) normaliseFraud() {
	for i, r := range c.Fraud.AllowedCountries {
		c.Fraud.AllowedCountries[i] = upperASCII(strings.TrimSpace(r))
	}
	for i := range c.Trunks {
		c.Trunks[i].MinAttestation = upperASCII(c.Trunks[i].MinAttestation)
	}
}

func (c *Config) validateFraud(v *validator) {
	f := &c.Fraud
	for i, r := range f.AllowedCountries {
		if !validRegion(r) || r == "" || phonenumbers.GetCountryCodeForRegion(r) == 0 {
			v.add("fraud.allowed_countries["+strconv.Itoa(i)+"]", "%q is not a region with phone numbers (ISO 3166-1 alpha-2, such as GB)", r)
		}
	}
	for i, t := range f.BlockedNumberTypes {
		if _, ok := NumberTypes[t]; !ok {
			names := make([]string, 0, len(NumberTypes))
			for n := range NumberTypes {
				names = append(names, n)
			}
			slices.Sort(names)
			v.add("fraud.blocked_number_types["+strconv.Itoa(i)+"]", "%q is not one of %s", t, strings.Join(names, ", "))
		}
	}
	v.numberRanges("fraud.safe_numbers", f.SafeNumbers, nil)
	g := &f.PumpingGuard
	v.between("fraud.pumping_guard.prefix_digits", int64(g.PrefixDigits), 1, 15)
	v.between("fraud.pumping_guard.window_s", int64(g.WindowS), 60, 604800)
	v.atLeast("fraud.pumping_guard.min_attempts", int64(g.MinAttempts), 1)
	if r := g.MaxUnverifiedRatio; math.IsNaN(r) || r <= 0 || r > 1 {
		v.add("fraud.pumping_guard.max_unverified_ratio", "%v is out of range: above 0, at most 1", r)
	}
	v.limits("limits", c.Limits)
	for i, s := range c.HTTP.TrustedProxies {
		if _, err := parseInboundCIDR(s); err != nil {
			v.add("http.trusted_proxies["+strconv.Itoa(i)+"]", "%v", err)
		}
	}
	for i, t := range c.Trunks {
		if t.MinAttestation != "" && !slices.Contains(attestations, t.MinAttestation) {
			v.add("trunks["+strconv.Itoa(i)+"].min_attestation", "%q is not one of A, B, C, nor empty", t.MinAttestation)
		}
	}
}

// TrustedProxies returns http.trusted_proxies as prefixes (a single
// address as a /32 or /128). Validate has checked them.
func (c *Config) TrustedProxies() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.HTTP.TrustedProxies {
		if p, err := parseInboundCIDR(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// SafeRanges returns fraud.safe_numbers as ranges. Validate has checked
// them.
func (c *Config) SafeRanges() []NumberRange {
	rs, err := ParseRanges(c.Fraud.SafeNumbers)
	if err != nil {
		return nil
	}
	return rs
}

// limits checks a limits section set at key (limits, or a service's).
func (v *validator) limits(key string, l Limits) {
	v.between(key+".per_key_per_minute", int64(l.PerKeyPerMinute), 0, 1e9)
	v.between(key+".per_ip_per_minute", int64(l.PerIPPerMinute), 0, 1e9)
	v.between(key+".global_per_second", int64(l.GlobalPerSecond), 0, 1e7)
	v.between(key+".checks_per_ip_per_minute", int64(l.ChecksPerIPPerMinute), 0, 1e9)
}
