package fraud

import (
	"errors"
	"testing"

	"github.com/ringproof/ringproof/conf"
)

func TestDestinations(t *testing.T) {
	defaults := conf.Default().Fraud
	onlyGB := defaults
	onlyGB.AllowedCountries = []string{"GB", "US"}
	none := conf.Fraud{}
	tests := []struct {
		name    string
		rules   conf.Fraud
		number  string
		reason  string // "" when allowed
		country string
	}{
		{"UK mobile", defaults, "+447400123456", "", ""},
		{"US fixed line or mobile", defaults, "+12015550123", "", ""},
		{"UK premium rate", defaults, "+449098790123", ReasonNumberType, "GB"},
		{"US premium rate (900)", defaults, "+19005550111", ReasonNumberType, "US"},
		{"UK personal number (070)", defaults, "+447012345678", ReasonNumberType, "GB"},
		{"UK UAN (055)", defaults, "+445512345678", ReasonNumberType, "GB"},
		{"UK pager (076)", defaults, "+447640123456", ReasonNumberType, "GB"},
		{"UK toll free is not blocked by default", defaults, "+448001234567", "", ""},
		{"French mobile, every country allowed", defaults, "+33612345678", "", ""},
		{"French mobile, GB and US only", onlyGB, "+33612345678", ReasonCountry, "FR"},
		{"Jersey mobile is not GB", onlyGB, "+447797123456", ReasonCountry, "JE"},
		{"GB mobile, GB and US only", onlyGB, "+447400123456", "", ""},
		{"country checked before type", onlyGB, "+33890123456", ReasonCountry, "FR"},
		{"no rules: premium allowed", none, "+449098790123", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewDestinations(tt.rules).Check(tt.number)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want allowed", tt.number, err)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) || !errors.Is(err, ErrDestinationBlocked) {
				t.Fatalf("Check(%s) = %v, want a destination_blocked refusal", tt.number, err)
			}
			if r.Status != 403 || r.Code != CodeDestinationBlocked || r.Reason != tt.reason || r.Country != tt.country {
				t.Fatalf("Check(%s) = %+v, want 403 %s reason %s country %s", tt.number, r, CodeDestinationBlocked, tt.reason, tt.country)
			}
		})
	}
}

func BenchmarkDestinationsCheck(b *testing.B) {
	d := NewDestinations(conf.Default().Fraud)
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Check("+447400123456"); err != nil {
			b.Fatal(err)
		}
	}
}
