package number

import "testing"

func TestDescribe(t *testing.T) {
	tests := []struct {
		in   string
		want Info
	}{
		{"+447911123456", Info{CountryCode: 44, Region: "GG", Mobile: true, International: "+44 7911 123456"}},
		{"+442079460000", Info{CountryCode: 44, Region: "GB", Mobile: false, International: "+44 20 7946 0000"}},
		{"+12015550123", Info{CountryCode: 1, Region: "US", Mobile: true, International: "+1 201-555-0123"}},
		{"+33612345678", Info{CountryCode: 33, Region: "FR", Mobile: true, International: "+33 6 12 34 56 78"}},
	}
	for _, tt := range tests {
		got, err := Describe(tt.in)
		if err != nil {
			t.Fatalf("Describe(%s): %v", tt.in, err)
		}
		got.Carrier = "" // a guess from the plan's data, which changes
		if got != tt.want {
			t.Errorf("Describe(%s) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	if i, _ := Describe("+40743123456"); i.Carrier == "" {
		t.Error("no carrier for a Romanian mobile range the plan allocates")
	}
	if _, err := Describe("+4412"); err == nil {
		t.Error("Describe accepted an invalid number")
	}
}
