package media

import (
	"fmt"

	"github.com/zaf/g711"
)

// Audio format of every stream and prompt: G.711 at 8 kHz, 20 ms packets.
const (
	SampleRate      = 8000 // samples per second
	FrameSamples    = 160  // samples (and G.711 bytes) in one 20 ms packet
	FrameDurationMs = 20
)

// Law is a G.711 companding law.
type Law uint8

// The two G.711 laws. The zero Law is invalid.
const (
	ULaw Law = iota + 1 // µ-law, PCMU
	ALaw                // A-law, PCMA
)

// String returns "PCMU" or "PCMA".
func (l Law) String() string {
	switch l {
	case ULaw:
		return "PCMU"
	case ALaw:
		return "PCMA"
	}
	return fmt.Sprintf("Law(%d)", uint8(l))
}

// Valid reports whether l is ULaw or ALaw.
func (l Law) Valid() bool { return l == ULaw || l == ALaw }

// Silence returns the byte that encodes a zero sample.
func (l Law) Silence() byte {
	if l == ALaw {
		return 0xD5
	}
	return 0xFF
}

// Encode writes one G.711 byte per sample of pcm into dst and returns the
// number written, min(len(dst), len(pcm)). It allocates nothing.
func (l Law) Encode(dst []byte, pcm []int16) int {
	n := min(len(dst), len(pcm))
	dst, pcm = dst[:n], pcm[:n]
	if l == ALaw {
		for i, s := range pcm {
			dst[i] = g711.EncodeAlawFrame(s)
		}
		return n
	}
	for i, s := range pcm {
		dst[i] = g711.EncodeUlawFrame(s)
	}
	return n
}

// Decode writes one linear sample per G.711 byte of src into dst and
// returns the number written, min(len(dst), len(src)). It allocates nothing.
func (l Law) Decode(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	if l == ALaw {
		for i, b := range src {
			dst[i] = g711.DecodeAlawFrame(b)
		}
		return n
	}
	for i, b := range src {
		dst[i] = g711.DecodeUlawFrame(b)
	}
	return n
}

// Codec is a G.711 law with the RTP payload type negotiated for it.
type Codec struct {
	Law Law
	PT  uint8
}

// The G.711 codecs with their static payload types (RFC 3551).
var (
	CodecPCMU = Codec{Law: ULaw, PT: PCMU}
	CodecPCMA = Codec{Law: ALaw, PT: PCMA}
)

// String returns e.g. "PCMU/0".
func (c Codec) String() string { return fmt.Sprintf("%v/%d", c.Law, c.PT) }
