package conf

import (
	"slices"
	"strings"
	"testing"
)

func TestValidateRejectsFraud(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		key     string
		problem string
	}{
		{"country not ISO", func(c *Config) { c.Fraud.AllowedCountries = []string{"GB", "UK"} }, "fraud.allowed_countries[1]", `"UK" is not a region with phone numbers`},
		{"country empty", func(c *Config) { c.Fraud.AllowedCountries = []string{""} }, "fraud.allowed_countries[0]", "is not a region"},
		{"country three letters", func(c *Config) { c.Fraud.AllowedCountries = []string{"GBR"} }, "fraud.allowed_countries[0]", "is not a region"},
		{"number type unknown", func(c *Config) { c.Fraud.BlockedNumberTypes = []string{"premium"} }, "fraud.blocked_number_types[0]", `"premium" is not one of fixed_line, fixed_line_or_mobile`},
		{"safe number not E.164", func(c *Config) { c.Fraud.SafeNumbers = []string{"447911123456"} }, "fraud.safe_numbers[0]", "does not start with '+'"},
		{"safe numbers overlap", func(c *Config) { c.Fraud.SafeNumbers = []string{"+447911123400-+447911123499", "+447911123456"} }, "fraud.safe_numbers[1]", "overlaps fraud.safe_numbers[0]"},
		{"prefix digits 0", func(c *Config) { c.Fraud.PumpingGuard.PrefixDigits = 0 }, "fraud.pumping_guard.prefix_digits", "0 is out of range 1..15"},
		{"window too short", func(c *Config) { c.Fraud.PumpingGuard.WindowS = 59 }, "fraud.pumping_guard.window_s", "59 is out of range 60..604800"},
		{"min attempts 0", func(c *Config) { c.Fraud.PumpingGuard.MinAttempts = 0 }, "fraud.pumping_guard.min_attempts", "0 is below the minimum 1"},
		{"ratio 0", func(c *Config) { c.Fraud.PumpingGuard.MaxUnverifiedRatio = 0 }, "fraud.pumping_guard.max_unverified_ratio", "0 is out of range"},
		{"ratio above 1", func(c *Config) { c.Fraud.PumpingGuard.MaxUnverifiedRatio = 1.5 }, "fraud.pumping_guard.max_unverified_ratio", "1.5 is out of range"},
		{"per key negative", func(c *Config) { c.Limits.PerKeyPerMinute = -1 }, "limits.per_key_per_minute", "-1 is out of range"},
		{"per ip negative", func(c *Config) { c.Limits.PerIPPerMinute = -1 }, "limits.per_ip_per_minute", "-1 is out of range"},
		{"global negative", func(c *Config) { c.Limits.GlobalPerSecond = -5 }, "limits.global_per_second", "-5 is out of range"},
		{"checks negative", func(c *Config) { c.Limits.ChecksPerIPPerMinute = -1 }, "limits.checks_per_ip_per_minute", "-1 is out of range"},
		{"trusted proxy not an address", func(c *Config) { c.HTTP.TrustedProxies = []string{"10.0.0.0/8", "proxy.example"} }, "http.trusted_proxies[1]", `"proxy.example" is not a CIDR prefix`},
		{"attestation D", func(c *Config) { c.Trunks[0].MinAttestation = "D" }, "trunks[0].min_attestation", `"D" is not one of A, B, C`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mod(c)
			errs := FieldErrors(c.Validate())
			i := slices.IndexFunc(errs, func(e *FieldError) bool { return e.Key == tt.key })
			if i < 0 || !strings.Contains(errs[i].Problem, tt.problem) {
				t.Fatalf("Validate() = %v; want %s: ...%s...", errs, tt.key, tt.problem)
			}
		})
	}
}

// TestParseFraud reads the fraud keys as an operator writes them: lower
// case regions and attestation, a whole-number ratio, and keys left out
// keeping their defaults.
func TestParseFraud(t *testing.T) {
	c, err := Parse([]byte(`
http:
  trusted_proxies: [10.0.0.0/8, "2001:db8::1"]
trunks:
  - name: carrier1
    address: 127.0.0.1:5070
    require_verstat: true
    min_attestation: b
fraud:
  allowed_countries: [gb, " us"]
  blocked_number_types: []
  pumping_guard:
    max_unverified_ratio: 1
limits:
  per_key_per_minute: 60
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Fraud.AllowedCountries; !slices.Equal(got, []string{"GB", "US"}) {
		t.Errorf("allowed_countries = %q", got)
	}
	if len(c.Fraud.BlockedNumberTypes) != 0 {
		t.Errorf("blocked_number_types = %q, want none", c.Fraud.BlockedNumberTypes)
	}
	g := c.Fraud.PumpingGuard
	if !g.Enabled || g.PrefixDigits != 6 || g.WindowS != 3600 || g.MinAttempts != 20 || g.MaxUnverifiedRatio != 1 {
		t.Errorf("pumping_guard = %+v", g)
	}
	if c.Limits.PerKeyPerMinute != 60 || c.Limits.PerIPPerMinute != 0 {
		t.Errorf("limits = %+v", c.Limits)
	}
	if tr := c.Trunks[0]; !tr.RequireVerstat || tr.MinAttestation != "B" {
		t.Errorf("trunk = %+v", tr)
	}
	if ps := c.TrustedProxies(); len(ps) != 2 || ps[1].Bits() != 128 {
		t.Errorf("TrustedProxies() = %v", ps)
	}
}

func TestParseRejectsRatioNotANumber(t *testing.T) {
	_, err := Parse([]byte("fraud:\n  pumping_guard:\n    max_unverified_ratio: lots\n"), nil)
	if err == nil || !strings.Contains(err.Error(), `fraud.pumping_guard.max_unverified_ratio: want a number, got "lots" (line 3)`) {
		t.Fatalf("Parse = %v", err)
	}
}
