package media

import (
	"encoding/binary"
	"fmt"
	"io"
)

// WAVWriter writes 8 kHz mono 16-bit PCM as a RIFF WAVE file, as ParseWAV
// reads it: samples are appended as they come, and Close writes the
// lengths into the header. It is not safe for concurrent use.
type WAVWriter struct {
	w     io.WriteSeeker
	bytes uint32 // of samples written
	buf   []byte
	err   error
}

// wavHeaderLen is the length of the header NewWAVWriter writes.
const wavHeaderLen = 44

// NewWAVWriter starts a WAV file on w with a header whose lengths Close
// fills in.
func NewWAVWriter(w io.WriteSeeker) (*WAVWriter, error) {
	h := make([]byte, wavHeaderLen)
	copy(h[0:], "RIFF")
	copy(h[8:], "WAVE")
	copy(h[12:], "fmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)           // fmt chunk length
	binary.LittleEndian.PutUint16(h[20:], 1)            // PCM
	binary.LittleEndian.PutUint16(h[22:], 1)            // mono
	binary.LittleEndian.PutUint32(h[24:], SampleRate)   // samples per second
	binary.LittleEndian.PutUint32(h[28:], SampleRate*2) // bytes per second
	binary.LittleEndian.PutUint16(h[32:], 2)            // bytes per frame
	binary.LittleEndian.PutUint16(h[34:], 16)           // bits per sample
	copy(h[36:], "data")
	if _, err := w.Write(h); err != nil {
		return nil, fmt.Errorf("media: write WAV header: %w", err)
	}
	return &WAVWriter{w: w}, nil
}

// Write appends samples. After an error every later call returns it.
func (w *WAVWriter) Write(pcm []int16) error {
	if w.err != nil {
		return w.err
	}
	if cap(w.buf) < 2*len(pcm) {
		w.buf = make([]byte, 2*len(pcm))
	}
	b := w.buf[:2*len(pcm)]
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	if _, err := w.w.Write(b); err != nil {
		w.err = fmt.Errorf("media: write WAV samples: %w", err)
		return w.err
	}
	w.bytes += uint32(len(b))
	return nil
}

// Close writes the RIFF and data lengths into the header. It does not
// close the underlying writer.
func (w *WAVWriter) Close() error {
	if w.err != nil {
		return w.err
	}
	var n [4]byte
	for _, f := range []struct {
		at  int64
		val uint32
	}{{4, wavHeaderLen - 8 + w.bytes}, {40, w.bytes}} {
		binary.LittleEndian.PutUint32(n[:], f.val)
		if _, err := w.w.Seek(f.at, io.SeekStart); err != nil {
			return fmt.Errorf("media: finish WAV: %w", err)
		}
		if _, err := w.w.Write(n[:]); err != nil {
			return fmt.Errorf("media: finish WAV: %w", err)
		}
	}
	_, err := w.w.Seek(0, io.SeekEnd)
	return err
}
