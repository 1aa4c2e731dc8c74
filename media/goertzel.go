package media

import (
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"time"
)

// DetectorConfig tunes in-band DTMF detection. Zero fields take the
// defaults, which follow ITU-T Q.24 practice.
type DetectorConfig struct {
	// MinLevel is the weakest tone detected, in dBFS per tone (0 dBFS is a
	// full-scale sine). Default -30.
	MinLevel float64
	// NormalTwist is how many dB the low-group (row) tone may be stronger
	// than the high-group (column) tone. Default 8.
	NormalTwist float64
	// ReverseTwist is how many dB the column tone may be stronger than the
	// row tone. Default 4.
	ReverseTwist float64
	// RelativePeak is how many dB every other tone of a group must be below
	// the strongest one. Default 10.
	RelativePeak float64
	// MinDuration is the tone length that is always reported; tones under
	// 20 ms never are, and those between may be, depending on how they fall
	// on the 10 ms analysis blocks. At least 40 ms, the default.
	MinDuration time.Duration
	// MinGap is the pause that always ends a key press, so that the same
	// key is reported again after it; a dropout under 10 ms never does.
	// Default 40 ms.
	MinGap time.Duration
}

// Defaults of DetectorConfig.
const (
	DefaultMinLevel     = -30.0
	DefaultNormalTwist  = 8.0
	DefaultReverseTwist = 4.0
	DefaultRelativePeak = 10.0
	DefaultMinDuration  = 40 * time.Millisecond
	DefaultMinGap       = 40 * time.Millisecond
)

// ErrDetectorConfig is returned by NewDetector for a configuration it
// cannot honour.
var ErrDetectorConfig = errors.New("media: invalid DTMF detector config")

const (
	// detectBlock is the analysis block: 80 samples, 10 ms, two per packet.
	// Blocks are short so that the duration rules hold in any alignment:
	// a 40 ms tone covers at least 3 whole blocks, a 20 ms tone at most 2.
	detectBlock = 80
	// windowBlocks blocks (30 ms) make the window of the final checks,
	// whose frequency resolution separates neighbouring DTMF tones by
	// over 20 dB and tones 1.5% off nominal from tones 3.5% off.
	windowBlocks = 3
	// minToneFraction of a block's energy must lie in its two tones. It
	// rejects speech and noise, and blocks that a tone only partly fills
	// (whose fraction is about the part filled), so that the two edge
	// blocks of a 20 ms tone cannot both count.
	minToneFraction = 0.65
	// probeOffset places probes at ±5% around each tone; a tone is nearer
	// its nominal frequency than either probe only when within ±2.5%.
	probeOffset = 0.05
)

var (
	dtmfRows = [4]float64{697, 770, 852, 941}
	dtmfCols = [4]float64{1209, 1336, 1477, 1633}
	keypad   = [4]string{"123A", "456B", "789C", "*0#D"}
)

// Detector finds DTMF key presses in 8 kHz linear audio with the Goertzel
// algorithm over the 8 DTMF frequencies. A key is reported once per press:
// when its two tones have lasted long enough and passed the level, energy,
// twist, relative-peak and frequency checks. A Detector is not safe for
// concurrent use.
type Detector struct {
	tones  [8]goertzel    // rows 0–3, columns 4–7
	probes [8][2]goertzel // below and above each tone

	minEnergy    float64 // per tone, per block
	normalTwist  float64 // power ratios
	reverseTwist float64
	relPeak      float64
	needBlocks   int // consecutive candidate blocks for a key
	gapBlocks    int // blocks without the key that end a press

	buf [detectBlock]float64
	n   int

	hist [windowBlocks]blockResult // ring of the latest blocks
	head int                       // index of the latest in hist
	run  int                       // consecutive blocks with the same candidate
	held Digit                     // key of the press under way, 0 if none
	gap  int                       // blocks since held was last seen
}

// blockResult is the analysis of one block.
type blockResult struct {
	digit    Digit // candidate key, 0 if none
	row, col int   // its tones' indices in Detector.tones
	x        [8]complex128
	probes   [2][2]complex128 // [row, col][below, above]
}

// NewDetector returns a Detector for cfg.
func NewDetector(cfg DetectorConfig) (*Detector, error) {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.MinLevel, DefaultMinLevel)
	def(&cfg.NormalTwist, DefaultNormalTwist)
	def(&cfg.ReverseTwist, DefaultReverseTwist)
	def(&cfg.RelativePeak, DefaultRelativePeak)
	if cfg.MinDuration == 0 {
		cfg.MinDuration = DefaultMinDuration
	}
	if cfg.MinGap == 0 {
		cfg.MinGap = DefaultMinGap
	}
	switch {
	case cfg.MinLevel > 0:
		return nil, fmt.Errorf("%w: MinLevel %.1f dBFS is above full scale", ErrDetectorConfig, cfg.MinLevel)
	case cfg.NormalTwist < 0 || cfg.ReverseTwist < 0 || cfg.RelativePeak < 0:
		return nil, fmt.Errorf("%w: twist and relative peak must be positive dB", ErrDetectorConfig)
	case cfg.MinDuration < DefaultMinDuration:
		return nil, fmt.Errorf("%w: MinDuration %v is under %v", ErrDetectorConfig, cfg.MinDuration, DefaultMinDuration)
	case cfg.MinGap < 0:
		return nil, fmt.Errorf("%w: MinGap %v is negative", ErrDetectorConfig, cfg.MinGap)
	}
	d := &Detector{
		normalTwist:  dbPower(cfg.NormalTwist),
		reverseTwist: dbPower(cfg.ReverseTwist),
		relPeak:      dbPower(cfg.RelativePeak),
		// A tone of D samples covers at least floor((D+1)/N)-1 whole blocks.
		needBlocks: max(windowBlocks, blocksWithin(cfg.MinDuration)),
		gapBlocks:  max(1, blocksWithin(cfg.MinGap)),
	}
	amp := 32767 * math.Pow(10, cfg.MinLevel/20)
	d.minEnergy = math.Pow(amp*detectBlock/2, 2)
	for i := range 8 {
		f := dtmfRows[i%4]
		if i >= 4 {
			f = dtmfCols[i%4]
		}
		d.tones[i] = newGoertzel(f)
		d.probes[i] = [2]goertzel{newGoertzel(f * (1 - probeOffset)), newGoertzel(f * (1 + probeOffset))}
	}
	return d, nil
}

func dbPower(db float64) float64 { return math.Pow(10, db/10) }

// blocksWithin returns how many whole blocks a span of d always covers.
func blocksWithin(d time.Duration) int {
	samples := int(d * SampleRate / time.Second)
	return (samples+1)/detectBlock - 1
}

// Reset forgets all audio seen so far.
func (d *Detector) Reset() {
	d.n, d.run, d.held, d.gap = 0, 0, 0, 0
	d.hist = [windowBlocks]blockResult{}
}

// Detect feeds pcm, 8 kHz samples that follow those of the previous call,
// and returns dst with the keys whose presses were recognised appended. It
// allocates nothing when dst has room.
func (d *Detector) Detect(pcm []int16, dst []Digit) []Digit {
	for len(pcm) > 0 {
		k := min(len(pcm), detectBlock-d.n)
		for i, s := range pcm[:k] {
			d.buf[d.n+i] = float64(s)
		}
		d.n += k
		pcm = pcm[k:]
		if d.n == detectBlock {
			d.n = 0
			if key, ok := d.block(); ok {
				dst = append(dst, key)
			}
		}
	}
	return dst
}

// block analyses the full buffer and advances the press state machine.
func (d *Detector) block() (Digit, bool) {
	prev := d.hist[d.head].digit
	d.head = (d.head + 1) % windowBlocks
	r := &d.hist[d.head]
	d.analyse(r)

	switch {
	case r.digit == 0:
		d.run = 0
	case r.digit == prev:
		d.run++
	default:
		d.run = 1
	}
	if d.held != 0 {
		if r.digit == d.held {
			d.gap = 0
		} else if d.gap++; d.gap >= d.gapBlocks {
			d.held = 0
		}
	}
	if d.run >= d.needBlocks && r.digit != d.held && d.confirm(r) {
		d.held, d.gap = r.digit, 0
		return r.digit, true
	}
	return 0, false
}

// analyse fills r from the buffer: the tones' DFTs and, when one row and
// one column tone are strong enough and hold most of the block's energy,
// the candidate key and its probes.
func (d *Detector) analyse(r *blockResult) {
	x := d.buf[:]
	var energy float64
	for _, v := range x {
		energy += v * v
	}
	var e [8]float64
	for i := range d.tones {
		r.x[i] = d.tones[i].dft(x)
		e[i] = abs2(r.x[i])
	}
	row, col := argmax(e[:4]), 4+argmax(e[4:])
	r.digit = 0
	// For a sine of amplitude A, |X|² = (AN/2)² and Σx² = NA²/2, so
	// 2|X|²/(NΣx²) is the fraction of the block's energy in that tone.
	if e[row] < d.minEnergy || e[col] < d.minEnergy ||
		2*(e[row]+e[col]) < minToneFraction*detectBlock*energy {
		return
	}
	r.digit, r.row, r.col = Digit(keypad[row][col-4]), row, col
	for j, t := range [2]int{row, col} {
		r.probes[j] = [2]complex128{d.probes[t][0].dft(x), d.probes[t][1].dft(x)}
	}
}

// confirm runs the checks that need finer frequency resolution than one
// block's, over a window of the latest blocks, which all hold latest's
// candidate. The window is 3 blocks (30 ms) for row tones and 2 (20 ms)
// for column tones: about 25 cycles of each tone, so that ±2.5% of its
// frequency stays within the main lobe and the neighbouring tones of its
// group fall over 15 dB below it.
func (d *Detector) confirm(latest *blockResult) bool {
	oldest := &d.hist[(d.head+1)%windowBlocks]
	middle := &d.hist[(d.head+2)%windowBlocks]
	// The DFT of consecutive blocks a, b, c at ω is
	// X_a + e^{-jωN}(X_b + e^{-jωN} X_c).
	rowWindow := func(g *goertzel, x func(*blockResult) complex128) float64 {
		return abs2(x(oldest) + g.step*(x(middle)+g.step*x(latest)))
	}
	colWindow := func(g *goertzel, x func(*blockResult) complex128) float64 {
		return abs2(x(middle) + g.step*x(latest))
	}
	var e [8]float64
	for i := range e {
		window := rowWindow
		if i >= 4 {
			window = colWindow
		}
		e[i] = window(&d.tones[i], func(b *blockResult) complex128 { return b.x[i] })
	}
	row, col := latest.row, latest.col
	if argmax(e[:4]) != row || 4+argmax(e[4:]) != col {
		return false
	}
	for i := range e {
		peak := e[row]
		if i >= 4 {
			peak = e[col]
		}
		if i != row && i != col && e[i]*d.relPeak > peak {
			return false
		}
	}
	// A tone is nearer its nominal frequency than either probe only when
	// it is less than 2.5% off.
	for j, t := range [2]int{row, col} {
		window := rowWindow
		if j == 1 {
			window = colWindow
		}
		for k := range 2 {
			p := window(&d.probes[t][k], func(b *blockResult) complex128 { return b.probes[j][k] })
			if p >= e[t] {
				return false
			}
		}
	}
	// Twist from the blocks' own energies: their wide main lobes lose at
	// most 0.9 dB to a 1.5% frequency error, where the windows' lose up to
	// 4 dB, and the tones' leakage into each other varies from block to
	// block and averages out.
	var er, ec float64
	for _, b := range [3]*blockResult{oldest, middle, latest} {
		er += abs2(b.x[row])
		ec += abs2(b.x[col])
	}
	return er <= d.normalTwist*ec && ec <= d.reverseTwist*er
}

// goertzel evaluates the DFT of one block at one frequency.
type goertzel struct {
	coeff, cos, sin float64
	rot             complex128 // e^{-jω(N-1)}
	step            complex128 // e^{-jωN}: one block later
}

func newGoertzel(f float64) goertzel {
	w := 2 * math.Pi * f / SampleRate
	return goertzel{
		coeff: 2 * math.Cos(w),
		cos:   math.Cos(w),
		sin:   math.Sin(w),
		rot:   cmplx.Exp(complex(0, -w*(detectBlock-1))),
		step:  cmplx.Exp(complex(0, -w*detectBlock)),
	}
}

// dft returns Σ x[n] e^{-jωn} over the block.
func (g *goertzel) dft(x []float64) complex128 {
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+g.coeff*s1-s2, s1
	}
	// s1 - e^{-jω} s2 = e^{jω(N-1)} X(ω)
	return complex(s1-g.cos*s2, g.sin*s2) * g.rot
}

func abs2(c complex128) float64 { return real(c)*real(c) + imag(c)*imag(c) }

func argmax(e []float64) int {
	best := 0
	for i, v := range e {
		if v > e[best] {
			best = i
		}
	}
	return best
}
