package media

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
)

// wavFile builds a WAV file: a fmt chunk with the given fields, then extra
// chunks, then the data chunk holding pcm.
func wavFile(tag, channels uint16, rate uint32, bits uint16, pcm []int16, extra ...[]byte) []byte {
	le := binary.LittleEndian
	fmtChunk := le.AppendUint16(nil, tag)
	fmtChunk = le.AppendUint16(fmtChunk, channels)
	fmtChunk = le.AppendUint32(fmtChunk, rate)
	fmtChunk = le.AppendUint32(fmtChunk, rate*uint32(channels)*uint32(bits/8))
	fmtChunk = le.AppendUint16(fmtChunk, channels*bits/8)
	fmtChunk = le.AppendUint16(fmtChunk, bits)
	var data []byte
	for _, s := range pcm {
		data = le.AppendUint16(data, uint16(s))
	}
	chunk := func(b []byte, id string, body []byte) []byte {
		b = append(append(b, id...), le.AppendUint32(nil, uint32(len(body)))...)
		b = append(b, body...)
		if len(body)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	body := chunk([]byte("WAVE"), "fmt ", fmtChunk)
	for _, e := range extra {
		body = append(body, e...)
	}
	body = chunk(body, "data", data)
	return append(append([]byte("RIFF"), le.AppendUint32(nil, uint32(len(body)))...), body...)
}

func TestParseWAV(t *testing.T) {
	pcm := []int16{0, 1, -1, 32767, -32768, 1234}
	listChunk := append([]byte("LIST\x03\x00\x00\x00abc"), 0) // odd size, padded
	tests := []struct {
		name    string
		file    []byte
		want    []int16
		wantErr string
	}{
		{"8 kHz mono 16-bit", wavFile(1, 1, 8000, 16, pcm), pcm, ""},
		{"with a LIST chunk before data", wavFile(1, 1, 8000, 16, pcm, listChunk), pcm, ""},
		{"16 kHz", wavFile(1, 1, 16000, 16, pcm), nil, "16000 Hz"},
		{"stereo", wavFile(1, 2, 8000, 16, pcm), nil, "2 channels"},
		{"8-bit", wavFile(1, 1, 8000, 8, pcm), nil, "8 bits"},
		{"µ-law", wavFile(7, 1, 8000, 8, pcm), nil, "format tag 0x7"},
		{"float", wavFile(3, 1, 8000, 32, pcm), nil, "format tag 0x3"},
		{"not RIFF", []byte("ID3\x03 an mp3 perhaps"), nil, "no RIFF WAVE header"},
		{"empty", nil, nil, "no RIFF WAVE header"},
		{"no data", wavFile(1, 1, 8000, 16, pcm)[:36], nil, "no data chunk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWAV(tt.file)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrWAVFormat) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrWAVFormat saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("samples = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseWAVReadsTruncatedDataToEnd(t *testing.T) {
	f := wavFile(1, 1, 8000, 16, []int16{1, 2, 3})
	binary.LittleEndian.PutUint32(f[40:], 0xFFFFFFFF) // data size of a streamed file
	got, err := ParseWAV(f)
	if err != nil || !slices.Equal(got, []int16{1, 2, 3}) {
		t.Fatalf("ParseWAV = %v, %v", got, err)
	}
}

func FuzzParseWAV(f *testing.F) {
	f.Add(wavFile(1, 1, 8000, 16, []int16{1, 2, 3}))
	f.Add(wavFile(0xFFFE, 1, 8000, 16, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, err := ParseWAV(b)
		if err == nil && len(pcm) > len(b)/2 {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(b))
		}
	})
}
