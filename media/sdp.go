// Package media moves audio: SDP offers and answers, RTP sessions with
// G.711, spoken prompts and DTMF detection. It knows nothing of SIP; the
// sip package carries the bodies it builds.
package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Payload types ringproof offers, in order of preference.
const (
	PCMU           = 0   // G.711 µ-law, RFC 3551
	PCMA           = 8   // G.711 A-law, RFC 3551
	TelephoneEvent = 101 // RFC 4733 DTMF, dynamic
)

// Errors of Answer and ParseAnswer. A SIP layer answers an offer failing
// with ErrNoCommonCodec with 488 Not Acceptable Here, and one failing with
// ErrMalformedSDP with 400 Bad Request.
var (
	ErrNoCommonCodec = errors.New("media: no common codec")
	ErrMalformedSDP  = errors.New("media: malformed SDP")
)

// Negotiated is the outcome of an offer/answer exchange: where to send RTP
// and in which format.
type Negotiated struct {
	// Remote is the peer's RTP address from its SDP. Its address may be
	// unspecified (0.0.0.0, an offer on hold); a Session then sends only
	// once the peer's packets show where it is.
	Remote netip.AddrPort
	// Codec is the G.711 law both sides use, with the peer's payload type.
	Codec Codec
	// EventPT is the payload type of RFC 4733 telephone-events, 0 if the
	// peer offered none.
	EventPT uint8
	// SRTP holds the keys of a stream over RTP/SAVP; nil for clear RTP.
	SRTP *SRTPKeys
}

// Offer builds an SDP offer for one audio stream at addr: PCMU, PCMA and
// telephone-event/8000, 20 ms packets. sessionID should be unique per call
// (a random number will do); it is also used as the session version.
func Offer(addr netip.AddrPort, sessionID uint64) ([]byte, error) {
	return offer(addr, sessionID, nil)
}

// OfferSRTP is Offer over SRTP: the stream is RTP/SAVP with an a=crypto
// line carrying local, the key the offerer encrypts with (RFC 4568).
// Read the answer with ParseAnswer(answer, &local).
func OfferSRTP(addr netip.AddrPort, sessionID uint64, local Crypto) ([]byte, error) {
	return offer(addr, sessionID, &local)
}

func offer(addr netip.AddrPort, sessionID uint64, local *Crypto) ([]byte, error) {
	if !addr.IsValid() {
		return nil, fmt.Errorf("media: offer: invalid address %v", addr)
	}
	md := audioDescription(addr.Port(), local != nil).
		WithCodec(PCMU, "PCMU", SampleRate, 0, "").
		WithCodec(PCMA, "PCMA", SampleRate, 0, "").
		WithCodec(TelephoneEvent, "telephone-event", SampleRate, 0, "0-16").
		WithValueAttribute("ptime", strconv.Itoa(FrameDurationMs)).
		WithPropertyAttribute("sendrecv")
	if local != nil {
		md = md.WithValueAttribute("crypto", local.attribute())
	}
	return describe(addr.Addr(), sessionID, md).Marshal()
}

// Answer answers an SDP offer for a stream at local. It takes the first
// audio stream offered over RTP/AVP, or over RTP/SAVP with an
// AES_CM_128_HMAC_SHA1_80 key (then answered over SRTP with a key of its
// own, neg.SRTP holding both), with a non-zero port, chooses the first
// of PCMU and PCMA in the peer's order of preference, and keeps the peer's
// telephone-event/8000 payload type if it offered one; every other stream is
// declined with port 0, as RFC 3264 §6 requires. The answer mirrors the
// offer's direction (sendonly becomes recvonly). It returns an error
// wrapping ErrNoCommonCodec if no stream can be accepted, ErrMalformedSDP if
// offer does not parse or lacks an IP address for the stream. It never
// panics, whatever offer holds.
func Answer(offer []byte, local netip.AddrPort) (answer []byte, neg Negotiated, err error) {
	if !local.IsValid() {
		return nil, Negotiated{}, fmt.Errorf("media: answer: invalid local address %v", local)
	}
	desc, err := parseSDP(offer)
	if err != nil {
		return nil, Negotiated{}, fmt.Errorf("media: answer: %w", err)
	}
	chosen := -1
	var reasons []string
	for i, md := range desc.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		n, err := negotiate(desc, md)
		if errors.Is(err, ErrMalformedSDP) {
			return nil, Negotiated{}, fmt.Errorf("media: answer: %w", err)
		}
		if err != nil {
			reasons = append(reasons, err.Error())
			continue
		}
		chosen, neg = i, n
		break
	}
	if chosen < 0 {
		if len(reasons) == 0 {
			reasons = append(reasons, "no audio stream offered")
		}
		return nil, Negotiated{}, fmt.Errorf("media: answer: %w: %s", ErrNoCommonCodec, strings.Join(reasons, "; "))
	}

	ans := describe(local.Addr(), rand.Uint64()>>1, nil) // o= numbers are 63-bit
	for i, md := range desc.MediaDescriptions {
		if i != chosen {
			ans.MediaDescriptions = append(ans.MediaDescriptions, declined(md))
			continue
		}
		a := audioDescription(local.Port(), neg.SRTP != nil)
		name := "PCMU"
		if neg.Codec.Law == ALaw {
			name = "PCMA"
		}
		a = a.WithCodec(neg.Codec.PT, name, SampleRate, 0, "")
		if neg.EventPT != 0 {
			events := "0-15"
			if f, ok := fmtp(md, neg.EventPT); ok {
				events = f
			}
			a = a.WithCodec(neg.EventPT, "telephone-event", SampleRate, 0, events)
		}
		a = a.WithValueAttribute("ptime", strconv.Itoa(FrameDurationMs)).
			WithPropertyAttribute(answerDirection(desc, md))
		if neg.SRTP != nil {
			ours, err := NewCrypto()
			if err != nil {
				return nil, Negotiated{}, err
			}
			ours.Tag = neg.SRTP.Remote.Tag // the offer's line we accept
			neg.SRTP.Local = ours
			a = a.WithValueAttribute("crypto", ours.attribute())
		}
		ans.MediaDescriptions = append(ans.MediaDescriptions, a)
	}
	answer, err = ans.Marshal()
	if err != nil {
		return nil, Negotiated{}, fmt.Errorf("media: answer: %w", err)
	}
	return answer, neg, nil
}

// ParseAnswer reads the peer's answer to an Offer (offered nil) or an
// OfferSRTP (offered, the key it carried): the first audio stream with a
// non-zero port, its first PCMU or PCMA format and its telephone-event
// payload type, and for SRTP the peer's key. Errors wrap ErrNoCommonCodec
// (the peer declined the stream or chose no G.711), ErrNoSRTP (SRTP was
// offered and the answer is clear RTP, or has no key ringproof can use) or
// ErrMalformedSDP.
func ParseAnswer(answer []byte, offered *Crypto) (Negotiated, error) {
	desc, err := parseSDP(answer)
	if err != nil {
		return Negotiated{}, fmt.Errorf("media: parse answer: %w", err)
	}
	for _, md := range desc.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		if offered != nil && strings.Join(md.MediaName.Protos, "/") != "RTP/SAVP" {
			return Negotiated{}, fmt.Errorf("media: parse answer: %w: audio over %s", ErrNoSRTP, strings.Join(md.MediaName.Protos, "/"))
		}
		n, err := negotiate(desc, md)
		switch {
		case errors.Is(err, errNoCrypto):
			return Negotiated{}, fmt.Errorf("media: parse answer: %w: %w", ErrNoSRTP, err)
		case err != nil:
			return Negotiated{}, fmt.Errorf("media: parse answer: %w", err)
		case offered == nil && n.SRTP != nil:
			return Negotiated{}, fmt.Errorf("media: parse answer: %w: audio over RTP/SAVP, offered RTP/AVP", ErrNoCommonCodec)
		}
		if n.SRTP != nil {
			n.SRTP.Local = *offered
		}
		return n, nil
	}
	return Negotiated{}, fmt.Errorf("media: parse answer: %w: no accepted audio stream", ErrNoCommonCodec)
}

// parseSDP unmarshals b. pion/sdp is fuzzed, but b comes from the network
// and a panic here would end every call in progress, so one is turned into
// an error.
func parseSDP(b []byte) (desc *sdp.SessionDescription, err error) {
	defer func() {
		if r := recover(); r != nil {
			desc, err = nil, fmt.Errorf("%w: parser panicked: %v", ErrMalformedSDP, r)
		}
	}()
	desc = new(sdp.SessionDescription)
	if err := desc.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedSDP, err)
	}
	// pion/sdp accepts input that ends anywhere, even at once; a session
	// description has at least v=, o=, s= and t= (RFC 4566 §5).
	if len(desc.TimeDescriptions) == 0 {
		return nil, fmt.Errorf("%w: incomplete: no t= line", ErrMalformedSDP)
	}
	return desc, nil
}

// negotiate reads the address, codec and event type of one audio stream.
func negotiate(desc *sdp.SessionDescription, md *sdp.MediaDescription) (Negotiated, error) {
	var keys *SRTPKeys
	switch proto := strings.Join(md.MediaName.Protos, "/"); proto {
	case "RTP/AVP":
	case "RTP/SAVP":
		c, ok := cryptoOf(md)
		if !ok {
			return Negotiated{}, fmt.Errorf("%w: %w", ErrNoCommonCodec, errNoCrypto)
		}
		keys = &SRTPKeys{Remote: c}
	default:
		return Negotiated{}, fmt.Errorf("%w: audio over %s, not RTP/AVP or RTP/SAVP", ErrNoCommonCodec, proto)
	}
	addr, err := connectionAddr(desc, md)
	if err != nil {
		return Negotiated{}, err
	}
	port := md.MediaName.Port.Value
	if port < 1 || port > 65535 {
		return Negotiated{}, fmt.Errorf("%w: port %d", ErrMalformedSDP, port)
	}
	n := Negotiated{Remote: netip.AddrPortFrom(addr, uint16(port)), SRTP: keys}
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			continue // not an RTP payload type
		}
		name, clock, channels, ok := rtpmap(md, uint8(pt))
		if !ok { // static types need no rtpmap (RFC 3551 §6)
			switch pt {
			case PCMU:
				name, clock, channels = "PCMU", SampleRate, ""
			case PCMA:
				name, clock, channels = "PCMA", SampleRate, ""
			}
		}
		if clock != SampleRate || (channels != "" && channels != "1") {
			continue
		}
		switch {
		case n.Codec.Law == 0 && strings.EqualFold(name, "PCMU"):
			n.Codec = Codec{Law: ULaw, PT: uint8(pt)}
		case n.Codec.Law == 0 && strings.EqualFold(name, "PCMA"):
			n.Codec = Codec{Law: ALaw, PT: uint8(pt)}
		case n.EventPT == 0 && pt != 0 && strings.EqualFold(name, "telephone-event"):
			n.EventPT = uint8(pt)
		}
	}
	if n.Codec.Law == 0 {
		return Negotiated{}, fmt.Errorf("%w: audio formats %v have neither PCMU nor PCMA", ErrNoCommonCodec, md.MediaName.Formats)
	}
	return n, nil
}

// connectionAddr returns the stream's c= address, else the session's.
func connectionAddr(desc *sdp.SessionDescription, md *sdp.MediaDescription) (netip.Addr, error) {
	c := md.ConnectionInformation
	if c == nil {
		c = desc.ConnectionInformation
	}
	if c == nil || c.Address == nil {
		return netip.Addr{}, fmt.Errorf("%w: audio stream without a connection address (c=)", ErrMalformedSDP)
	}
	addr, err := netip.ParseAddr(c.Address.Address)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%w: connection address %q is not an IP address", ErrMalformedSDP, c.Address.Address)
	}
	if addr.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("%w: multicast connection address %v", ErrNoCommonCodec, addr)
	}
	return addr.Unmap(), nil
}

// rtpmap returns the fields of "a=rtpmap:<pt> <name>/<clock>[/<channels>]".
func rtpmap(md *sdp.MediaDescription, pt uint8) (name string, clock int, channels string, ok bool) {
	prefix := strconv.Itoa(int(pt)) + " "
	for _, a := range md.Attributes {
		v, found := strings.CutPrefix(a.Value, prefix)
		if a.Key != "rtpmap" || !found {
			continue
		}
		parts := strings.Split(strings.TrimSpace(v), "/")
		if len(parts) < 2 || len(parts) > 3 {
			return "", 0, "", false
		}
		clock, err := strconv.Atoi(parts[1])
		if err != nil {
			return "", 0, "", false
		}
		if len(parts) == 3 {
			channels = parts[2]
		}
		return parts[0], clock, channels, true
	}
	return "", 0, "", false
}

// fmtp returns the parameters of "a=fmtp:<pt> <params>".
func fmtp(md *sdp.MediaDescription, pt uint8) (string, bool) {
	prefix := strconv.Itoa(int(pt)) + " "
	for _, a := range md.Attributes {
		if v, found := strings.CutPrefix(a.Value, prefix); a.Key == "fmtp" && found && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// answerDirection mirrors the offered direction of md (RFC 3264 §6.1).
func answerDirection(desc *sdp.SessionDescription, md *sdp.MediaDescription) string {
	dir := "sendrecv"
	for _, attrs := range [][]sdp.Attribute{desc.Attributes, md.Attributes} {
		for _, a := range attrs {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				dir = a.Key
			}
		}
	}
	switch dir {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	}
	return dir
}

// declined answers a stream we do not take: same media and transport, port 0.
func declined(md *sdp.MediaDescription) *sdp.MediaDescription {
	formats := md.MediaName.Formats
	if len(formats) > 1 {
		formats = formats[:1]
	}
	return &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media:   md.MediaName.Media,
		Port:    sdp.RangedPort{Value: 0},
		Protos:  md.MediaName.Protos,
		Formats: formats,
	}}
}

// audioDescription starts an m=audio line at port, over RTP/SAVP when
// secure; formats are added with WithCodec, which appends them to the m=
// line itself.
func audioDescription(port uint16, secure bool) *sdp.MediaDescription {
	proto := []string{"RTP", "AVP"}
	if secure {
		proto = []string{"RTP", "SAVP"}
	}
	return &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:  "audio",
			Port:   sdp.RangedPort{Value: int(port)},
			Protos: proto,
		},
	}
}

// errNoCrypto says that an RTP/SAVP stream has no key ringproof can use.
var errNoCrypto = errors.New("RTP/SAVP without an " + SuiteAES128SHA1_80 + " inline key")

// describe builds a session description at ip with the given media.
func describe(ip netip.Addr, sessionID uint64, md *sdp.MediaDescription) *sdp.SessionDescription {
	ip = ip.Unmap()
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
	if md != nil {
		desc.MediaDescriptions = append(desc.MediaDescriptions, md)
	}
	return desc
}
