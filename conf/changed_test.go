package conf

import (
	"slices"
	"testing"
)

func TestChanged(t *testing.T) {
	a, b := Default(), Default()
	if got := Changed(a, b); len(got) != 0 {
		t.Fatalf("Changed(Default, Default) = %v", got)
	}
	b.HTTP.Listen = "0.0.0.0:8080"
	b.HTTP.APIKeys = []string{"other"}
	b.Trunks[0].MaxCPS = 7
	b.Callers = append(b.Callers, "+12025550100")
	b.Log.Access = false
	want := []string{"http.listen", "http.api_keys[0]", "trunks[0].max_cps", "callers", "log.access"}
	if got := Changed(a, b); !slices.Equal(got, want) {
		t.Fatalf("Changed = %v, want %v", got, want)
	}
}
