package media

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWAVWriterRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWAVWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	want := sweep(3 * FrameSamples)
	for i := 0; i < len(want); i += FrameSamples {
		if err := w.Write(want[i : i+FrameSamples]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, _ := os.ReadFile(path)
	got, err := ParseWAV(data)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ParseWAV = %d samples, %v; want the %d written", len(got), err, len(want))
	}
}
