package verify

import (
	"slices"
	"testing"
)

// TestMethodTraits pins what each method's traits make of it, as the API
// documents it.
func TestMethodTraits(t *testing.T) {
	tests := []struct {
		name string
		keep func(traits) bool
		want []string
	}{
		{"may be a fallback link", func(t traits) bool { return t.link }, []string{"flashcall", "sms", "voice"}},
		{"may name fallbacks", traits.chains, []string{"flashcall", "keypad_out", "sms", "voice"}},
		{"dials a call", traits.dials, []string{"flashcall", "keypad_out", "voice"}},
		{"shows its code", func(t traits) bool { return t.showsCode }, []string{"keypad_in", "keypad_out"}},
		{"seals its code", func(t traits) bool { return t.sealsCode }, []string{"inbound_voice"}},
		{"answers the user's call", func(t traits) bool { return t.inbound == inboundAnswers }, []string{"inbound_voice", "keypad_in"}},
		{"verified by the user's call", func(t traits) bool { return t.inbound == inboundVerifies }, []string{"inbound_missed"}},
		{"delivered by ringing", func(t traits) bool { return t.delivers == byRing }, []string{"flashcall"}},
		{"delivered by a text", func(t traits) bool { return t.delivers == byText }, []string{"sms"}},
		{"delivered by an answered call", func(t traits) bool { return t.delivers == byAnswer }, AnsweredMethods()},
	}
	for _, tt := range tests {
		if got := methodsWhere(tt.keep); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if got, want := AnsweredMethods(), []string{"inbound_voice", "keypad_in", "keypad_out", "voice"}; !slices.Equal(got, want) {
		t.Errorf("AnsweredMethods() = %v, want %v", got, want)
	}
	for name, m := range methods {
		_, talks := m.(talker)
		if answers := m.traits().inbound == inboundAnswers; answers && !talks {
			t.Errorf("%s answers the user's call but does not talk", name)
		}
		if _, leases := m.(leaser); m.traits().inbound != inboundNone && !leases {
			t.Errorf("%s waits for the user's call but leases no dial number", name)
		}
	}
}
