package media

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrWAVFormat is returned for a WAV file that is not 8 kHz mono 16-bit
// PCM, or not a WAV file at all.
var ErrWAVFormat = errors.New("media: not an 8000 Hz mono 16-bit PCM WAV file")

const (
	wavFormatPCM        = 1
	wavFormatExtensible = 0xFFFE
)

// ParseWAV returns the samples of a RIFF WAVE file holding 8000 Hz, mono,
// 16-bit PCM audio; any other file is rejected with an error wrapping
// ErrWAVFormat that says what the file holds instead. Chunks other than
// "fmt " and "data" are skipped. A data chunk that claims more bytes than
// the file has (as streaming writers leave it) is read to the end of file.
func ParseWAV(b []byte) ([]int16, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: no RIFF WAVE header", ErrWAVFormat)
	}
	var haveFmt bool
	for rest := b[12:]; len(rest) >= 8; {
		id, size := string(rest[0:4]), binary.LittleEndian.Uint32(rest[4:8])
		rest = rest[8:]
		body := rest
		if uint64(size) <= uint64(len(rest)) {
			body = rest[:size]
		}
		switch id {
		case "fmt ":
			if err := checkWAVFormat(body); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrWAVFormat)
			}
			pcm := make([]int16, len(body)/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return pcm, nil
		}
		if uint64(size) >= uint64(len(rest)) {
			break
		}
		rest = rest[size+size&1:] // chunks are padded to even sizes
	}
	return nil, fmt.Errorf("%w: no data chunk", ErrWAVFormat)
}

func checkWAVFormat(f []byte) error {
	if len(f) < 16 {
		return fmt.Errorf("%w: fmt chunk of %d bytes", ErrWAVFormat, len(f))
	}
	tag := binary.LittleEndian.Uint16(f[0:2])
	channels := binary.LittleEndian.Uint16(f[2:4])
	rate := binary.LittleEndian.Uint32(f[4:8])
	bits := binary.LittleEndian.Uint16(f[14:16])
	if tag == wavFormatExtensible && len(f) >= 26 {
		tag = binary.LittleEndian.Uint16(f[24:26]) // first bytes of the sub-format GUID
	}
	switch {
	case tag != wavFormatPCM:
		return fmt.Errorf("%w: format tag %#x, not PCM", ErrWAVFormat, tag)
	case channels != 1:
		return fmt.Errorf("%w: %d channels", ErrWAVFormat, channels)
	case rate != SampleRate:
		return fmt.Errorf("%w: %d Hz", ErrWAVFormat, rate)
	case bits != 16:
		return fmt.Errorf("%w: %d bits per sample", ErrWAVFormat, bits)
	}
	return nil
}
