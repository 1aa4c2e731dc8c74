package media

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// toneSpec describes synthesised test audio: a key's two tones.
type toneSpec struct {
	key          Digit
	dur          time.Duration
	rowDB, colDB float64 // level of each tone in dBFS
	offset       float64 // relative frequency error of both tones, e.g. 0.015
}

// keyFreqs returns the row and column frequency of key.
func keyFreqs(t testing.TB, key Digit) (row, col float64) {
	t.Helper()
	for r, line := range keypad {
		if c := strings.IndexByte(line, byte(key)); c >= 0 {
			return dtmfRows[r], dtmfCols[c]
		}
	}
	t.Fatalf("no key %q", key)
	return 0, 0
}

// appendTone appends the tones of s to pcm, with a random phase per tone.
func appendTone(t testing.TB, pcm []float64, s toneSpec, rng *rand.Rand) []float64 {
	fr, fc := keyFreqs(t, s.key)
	fr, fc = fr*(1+s.offset), fc*(1+s.offset)
	ar, ac := 32767*math.Pow(10, s.rowDB/20), 32767*math.Pow(10, s.colDB/20)
	pr, pc := rng.Float64()*2*math.Pi, rng.Float64()*2*math.Pi
	n := int(s.dur * SampleRate / time.Second)
	for i := range n {
		ts := float64(i) / SampleRate
		pcm = append(pcm, ar*math.Sin(2*math.Pi*fr*ts+pr)+ac*math.Sin(2*math.Pi*fc*ts+pc))
	}
	return pcm
}

func appendSilence(pcm []float64, d time.Duration) []float64 {
	return append(pcm, make([]float64, int(d*SampleRate/time.Second))...)
}

// toPCM adds white noise at noiseDB dBFS (RMS) and clips to 16 bits.
func toPCM(pcm []float64, noiseDB float64, rng *rand.Rand) []int16 {
	sigma := 32767 * math.Pow(10, noiseDB/20)
	out := make([]int16, len(pcm))
	for i, v := range pcm {
		v += rng.NormFloat64() * sigma
		out[i] = int16(max(-32768, min(32767, math.Round(v))))
	}
	return out
}

// detectAll runs a fresh default Detector over pcm in packets of 160.
func detectAll(t testing.TB, pcm []int16) string {
	t.Helper()
	d, err := NewDetector(DetectorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var got []Digit
	for p := range slices.Chunk(pcm, FrameSamples) {
		got = d.Detect(p, got)
	}
	var b strings.Builder
	for _, k := range got {
		b.WriteByte(byte(k))
	}
	return b.String()
}

// noiseDB is the white noise added to every synthesised signal: 20 dB
// below each -10 dBFS tone.
const noiseDB = -30

func TestDetectorFindsEveryKeyInNoise(t *testing.T) {
	for _, key := range "0123456789*#ABCD" {
		t.Run(string(key), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(key)))
			// Start at an arbitrary sample, not on a block boundary.
			pcm := appendSilence(nil, 7*time.Millisecond+3*time.Second/SampleRate)
			pcm = appendTone(t, pcm, toneSpec{key: Digit(key), dur: 80 * time.Millisecond, rowDB: -10, colDB: -10}, rng)
			pcm = appendSilence(pcm, 60*time.Millisecond)
			if got := detectAll(t, toPCM(pcm, noiseDB, rng)); got != string(key) {
				t.Errorf("detected %q, want %q", got, string(key))
			}
		})
	}
}

func TestDetectorTwist(t *testing.T) {
	tests := []struct {
		name         string
		rowDB, colDB float64
		want         bool
	}{
		{"none", -10, -10, true},
		{"normal at limit", -8, -8 - DefaultNormalTwist + 0.5, true},
		{"normal beyond limit", -8, -8 - DefaultNormalTwist - 1.5, false},
		{"reverse at limit", -10 - DefaultReverseTwist + 0.5, -10, true},
		{"reverse beyond limit", -10 - DefaultReverseTwist - 1.5, -10, false},
	}
	for _, tt := range tests {
		for _, key := range "15*D" {
			t.Run(tt.name+"/"+string(key), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(2, uint64(key)))
				pcm := appendSilence(nil, 13*time.Millisecond)
				pcm = appendTone(t, pcm, toneSpec{key: Digit(key), dur: 60 * time.Millisecond, rowDB: tt.rowDB, colDB: tt.colDB}, rng)
				pcm = appendSilence(pcm, 60*time.Millisecond)
				got := detectAll(t, toPCM(pcm, noiseDB, rng))
				if want := map[bool]string{true: string(key)}[tt.want]; got != want {
					t.Errorf("row %.1f dBFS, column %.1f dBFS: detected %q, want %q", tt.rowDB, tt.colDB, got, want)
				}
			})
		}
	}
}

func TestDetectorFrequencyTolerance(t *testing.T) {
	tests := []struct {
		offset float64
		want   bool
	}{
		{0.015, true},
		{-0.015, true},
		{0.035, false},
		{-0.035, false},
	}
	for _, tt := range tests {
		for _, key := range "0123456789*#ABCD" {
			t.Run(fmt.Sprintf("%c/%+.1f%%", key, tt.offset*100), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, uint64(key)))
				pcm := appendSilence(nil, 5*time.Millisecond)
				pcm = appendTone(t, pcm, toneSpec{key: Digit(key), dur: 60 * time.Millisecond, rowDB: -10, colDB: -10, offset: tt.offset}, rng)
				pcm = appendSilence(pcm, 60*time.Millisecond)
				got := detectAll(t, toPCM(pcm, noiseDB, rng))
				if want := map[bool]string{true: string(key)}[tt.want]; got != want {
					t.Errorf("tones %+.1f%% off: detected %q, want %q", tt.offset*100, got, want)
				}
			})
		}
	}
}

func TestDetectorDuration(t *testing.T) {
	tests := []struct {
		dur  time.Duration
		want bool
	}{
		{40 * time.Millisecond, true},
		{20 * time.Millisecond, false},
	}
	for _, tt := range tests {
		// Every alignment of the tone against the 10 ms blocks.
		for lead := 0; lead < detectBlock; lead += 7 {
			for _, key := range "19#" {
				rng := rand.New(rand.NewPCG(4, uint64(lead)))
				pcm := make([]float64, lead)
				pcm = appendTone(t, pcm, toneSpec{key: Digit(key), dur: tt.dur, rowDB: -10, colDB: -10}, rng)
				pcm = appendSilence(pcm, 60*time.Millisecond)
				got := detectAll(t, toPCM(pcm, noiseDB, rng))
				if want := map[bool]string{true: string(key)}[tt.want]; got != want {
					t.Errorf("%v tone %q after %d samples: detected %q, want %q", tt.dur, key, lead, got, want)
				}
			}
		}
	}
}

func TestDetectorReportsOncePerPress(t *testing.T) {
	type seg struct {
		key Digit // 0 for silence
		dur time.Duration
	}
	tests := []struct {
		name string
		segs []seg
		want string
	}{
		{"long press", []seg{{'5', 600 * time.Millisecond}}, "5"},
		{"press broken by a 10 ms dropout", []seg{{'5', 100 * time.Millisecond}, {0, 10 * time.Millisecond}, {'5', 100 * time.Millisecond}}, "5"},
		{"two presses 40 ms apart", []seg{{'5', 50 * time.Millisecond}, {0, 40 * time.Millisecond}, {'5', 50 * time.Millisecond}}, "55"},
		{"different keys back to back", []seg{{'1', 60 * time.Millisecond}, {'2', 60 * time.Millisecond}}, "12"},
		{"code with pauses", []seg{{'1', 50 * time.Millisecond}, {0, 50 * time.Millisecond}, {'2', 50 * time.Millisecond}, {0, 50 * time.Millisecond}, {'3', 50 * time.Millisecond}, {0, 50 * time.Millisecond}, {'3', 50 * time.Millisecond}, {0, 50 * time.Millisecond}, {'#', 50 * time.Millisecond}}, "1233#"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 5))
			pcm := appendSilence(nil, 3*time.Millisecond)
			for _, s := range tt.segs {
				if s.key == 0 {
					pcm = appendSilence(pcm, s.dur)
					continue
				}
				pcm = appendTone(t, pcm, toneSpec{key: s.key, dur: s.dur, rowDB: -10, colDB: -10}, rng)
			}
			pcm = appendSilence(pcm, 60*time.Millisecond)
			if got := detectAll(t, toPCM(pcm, noiseDB, rng)); got != tt.want {
				t.Errorf("detected %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDetectorRejectsWeakToneAndNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	pcm := appendTone(t, nil, toneSpec{key: '5', dur: 100 * time.Millisecond, rowDB: -45, colDB: -45}, rng)
	pcm = appendSilence(pcm, time.Second)
	if got := detectAll(t, toPCM(pcm, -20, rng)); got != "" {
		t.Errorf("detected %q in a -45 dBFS tone and -20 dBFS noise", got)
	}
}

func TestNewDetectorRejectsBadConfig(t *testing.T) {
	tests := []DetectorConfig{
		{MinLevel: 3},
		{NormalTwist: -1},
		{MinDuration: 20 * time.Millisecond},
		{MinGap: -time.Millisecond},
	}
	for _, cfg := range tests {
		if _, err := NewDetector(cfg); err == nil {
			t.Errorf("NewDetector(%+v) = nil error", cfg)
		}
	}
}

func FuzzDetector(f *testing.F) {
	f.Add([]byte{0, 0, 0xff, 0x7f})
	rng := rand.New(rand.NewPCG(7, 7))
	tone := toPCM(appendTone(f, nil, toneSpec{key: '7', dur: 50 * time.Millisecond, rowDB: -6, colDB: -6}, rng), -40, rng)
	seed := make([]byte, 0, 2*len(tone))
	for _, s := range tone {
		seed = append(seed, byte(s), byte(s>>8))
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := NewDetector(DetectorConfig{})
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(b[2*i]) | int16(b[2*i+1])<<8
		}
		for _, k := range d.Detect(pcm, nil) {
			if !k.Valid() {
				t.Fatalf("invalid key %v", k)
			}
		}
	})
}

func BenchmarkGoertzel(b *testing.B) {
	rng := rand.New(rand.NewPCG(8, 8))
	pcm := toPCM(appendTone(b, nil, toneSpec{key: '5', dur: time.Second, rowDB: -10, colDB: -10}, rng), noiseDB, rng)
	d, err := NewDetector(DetectorConfig{})
	if err != nil {
		b.Fatal(err)
	}
	digits := make([]Digit, 0, 8)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// One 160-sample packet, as a session feeds it.
		digits = d.Detect(pcm[i:i+FrameSamples], digits[:0])
		i = (i + FrameSamples) % (len(pcm) - FrameSamples)
	}
}
