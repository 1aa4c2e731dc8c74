// Package media moves audio: SDP offers and answers, RTP and G.711. It knows
// nothing of SIP; the sip package carries the bodies it builds.
package media

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/pion/sdp/v3"
)

// Payload types ringproof offers, in order of preference.
const (
	PCMU           = 0   // G.711 µ-law, RFC 3551
	PCMA           = 8   // G.711 A-law, RFC 3551
	TelephoneEvent = 101 // RFC 4733 DTMF, dynamic
)

// Offer builds an SDP offer for one audio stream at addr: PCMU, PCMA and
// telephone-event/8000, 20 ms packets. sessionID should be unique per call
// (a random number will do); it is also used as the session version.
func Offer(addr netip.AddrPort, sessionID uint64) ([]byte, error) {
	if !addr.IsValid() {
		return nil, fmt.Errorf("media: offer: invalid address %v", addr)
	}
	ip := addr.Addr().Unmap()
	addrType := "IP4"
	if ip.Is6() {
		addrType = "IP6"
	}
	desc := &sdp.SessionDescription{
		Version: 0,
		Origin: sdp.Origin{
			Username:       "ringproof",
			SessionID:      sessionID,
			SessionVersion: sessionID,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: ip.String(),
		},
		SessionName: "ringproof",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType,
			Address:     &sdp.Address{Address: ip.String()},
		},
		TimeDescriptions: []sdp.TimeDescription{{Timing: sdp.Timing{}}},
	}
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:  "audio",
			Port:   sdp.RangedPort{Value: int(addr.Port())},
			Protos: []string{"RTP", "AVP"},
		},
	}
	md = md.WithCodec(PCMU, "PCMU", 8000, 0, "").
		WithCodec(PCMA, "PCMA", 8000, 0, "").
		WithCodec(TelephoneEvent, "telephone-event", 8000, 0, "0-16").
		WithValueAttribute("ptime", strconv.Itoa(20)).
		WithPropertyAttribute("sendrecv")
	desc.MediaDescriptions = append(desc.MediaDescriptions, md)
	return desc.Marshal()
}
