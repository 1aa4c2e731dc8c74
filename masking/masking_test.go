package masking

import (
	"slices"
	"testing"

	"github.com/ringproof/ringproof/conf"
)

func TestCandidatesAndOwns(t *testing.T) {
	ranges, err := conf.ParseRanges([]string{"+447700900000-+447700900002", "+15005550006"})
	if err != nil {
		t.Fatal(err)
	}
	s := New(nil, nil, nil, Config{Numbers: ranges}, nil)
	all := []string{"+447700900000", "+447700900001", "+447700900002", "+15005550006"}
	for range 20 {
		got := s.candidates()
		sorted := slices.Sorted(slices.Values(got))
		if !slices.Equal(sorted, slices.Sorted(slices.Values(all))) {
			t.Fatalf("candidates %v, want each of %v once", got, all)
		}
	}
	tests := []struct {
		n    string
		owns bool
	}{
		{"+447700900000", true},
		{"+447700900002", true},
		{"+447700900003", false},
		{"+15005550006", true},
		{"+1500555000", false},
		{"07700900000", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := s.Owns(tt.n); got != tt.owns {
			t.Errorf("Owns(%q) = %v, want %v", tt.n, got, tt.owns)
		}
	}
}

func TestIDs(t *testing.T) {
	id := newID()
	if !validID(id) || validID("v"+id[1:]) || validID(id[:32]) || validID("m"+id[2:]+"g") {
		t.Fatalf("validID misjudges ids around %q", id)
	}
}
