package media

import (
	"math"
	"testing"
)

func TestG711RoundTrip(t *testing.T) {
	for _, law := range []Law{ULaw, ALaw} {
		t.Run(law.String(), func(t *testing.T) {
			pcm := make([]int16, 0, 65536)
			for v := math.MinInt16; v <= math.MaxInt16; v++ {
				pcm = append(pcm, int16(v))
			}
			enc := make([]byte, len(pcm))
			dec := make([]int16, len(pcm))
			if n := law.Encode(enc, pcm); n != len(pcm) {
				t.Fatalf("Encode wrote %d", n)
			}
			law.Decode(dec, enc)
			for i, s := range pcm {
				// Within half a quantisation step: at most 1/27 of the
				// value (at the start of a µ-law segment), 16 near zero.
				if d := math.Abs(float64(dec[i]) - float64(s)); d > math.Max(16, math.Abs(float64(s))/27) {
					t.Fatalf("%d decodes back as %d", s, dec[i])
				}
			}
			// Every code decodes to a value that encodes back to it (but
			// the µ-law's negative zero).
			for c := range 256 {
				var in [1]byte
				var out [1]int16
				in[0] = byte(c)
				law.Decode(out[:], in[:])
				law.Encode(in[:], out[:])
				if in[0] != byte(c) && !(law == ULaw && c == 0x7f) {
					t.Errorf("code %#x decodes to %d, which encodes to %#x", c, out[0], in[0])
				}
			}
			var s [1]int16
			law.Decode(s[:], []byte{law.Silence()})
			if s[0] != 0 && math.Abs(float64(s[0])) > 8 {
				t.Errorf("silence decodes to %d", s[0])
			}
		})
	}
}

func TestG711ShortBuffers(t *testing.T) {
	if n := ULaw.Encode(make([]byte, 3), make([]int16, 10)); n != 3 {
		t.Errorf("Encode into 3 bytes wrote %d", n)
	}
	if n := ALaw.Decode(make([]int16, 10), make([]byte, 4)); n != 4 {
		t.Errorf("Decode of 4 bytes wrote %d", n)
	}
}

func BenchmarkEncodeFrame(b *testing.B) {
	pcm := sweep(FrameSamples)
	out := make([]byte, FrameSamples)
	for _, law := range []Law{ULaw, ALaw} {
		b.Run(law.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				law.Encode(out, pcm)
			}
		})
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	in := make([]byte, FrameSamples)
	ULaw.Encode(in, sweep(FrameSamples))
	out := make([]int16, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		ULaw.Decode(out, in)
	}
}
