package media

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

func TestOfferListsG711AndTelephoneEvent(t *testing.T) {
	tests := []struct {
		addr     string
		wantConn string
	}{
		{"127.0.0.1:4000", "c=IN IP4 127.0.0.1"},
		{"[::1]:4002", "c=IN IP6 ::1"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			body, err := Offer(netip.MustParseAddrPort(tt.addr), 42)
			if err != nil {
				t.Fatal(err)
			}
			s := string(body)
			for _, want := range []string{tt.wantConn, "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20"} {
				if !strings.Contains(s, want+"\r\n") {
					t.Errorf("offer lacks %q:\n%s", want, s)
				}
			}
			var parsed sdp.SessionDescription
			if err := parsed.Unmarshal(body); err != nil {
				t.Fatalf("offer does not parse back: %v", err)
			}
			md := parsed.MediaDescriptions[0]
			if got := strings.Join(md.MediaName.Formats, " "); got != "0 8 101" {
				t.Errorf("m= formats = %q, want \"0 8 101\" (no duplicates)", got)
			}
			if md.MediaName.Port.Value != int(netip.MustParseAddrPort(tt.addr).Port()) {
				t.Errorf("m= port = %d", md.MediaName.Port.Value)
			}
		})
	}
}

func TestOfferRejectsInvalidAddress(t *testing.T) {
	if _, err := Offer(netip.AddrPort{}, 1); err == nil {
		t.Fatal("want error for zero address")
	}
}
