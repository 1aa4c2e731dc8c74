package media

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBuiltinPromptsAreComplete(t *testing.T) {
	p, err := LoadPrompts("")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Locales(); !slices.Equal(got, []string{"en"}) {
		t.Errorf("Locales() = %v", got)
	}
	for _, name := range PromptNames() {
		for _, c := range []Codec{CodecPCMU, CodecPCMA} {
			audio, err := p.Sequence("en", c, name)
			if err != nil {
				t.Fatalf("%s %v: %v", name, c, err)
			}
			// Spoken words: between 0.2 and 5 seconds.
			if d := time.Duration(len(audio)) * time.Second / SampleRate; d < 200*time.Millisecond || d > 5*time.Second {
				t.Errorf("%s lasts %v", name, d)
			}
		}
	}
}

func TestSequenceJoinsPromptsWithGaps(t *testing.T) {
	p, err := LoadPrompts("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Codec{CodecPCMU, CodecPCMA} {
		one, _ := p.Sequence("en", c, "1")
		two, _ := p.Sequence("en", c, "2")
		got, err := p.Sequence("en", c, "1", "2")
		if err != nil {
			t.Fatal(err)
		}
		gap := bytes.Repeat([]byte{c.Law.Silence()}, int(PromptGap*SampleRate/time.Second))
		if want := slices.Concat(one, gap, two); !bytes.Equal(got, want) {
			t.Errorf("%v: Sequence(1, 2) is not prompt 1, %v of silence, prompt 2", c, PromptGap)
		}
	}
	if _, err := p.Sequence("en", CodecPCMU, PromptCodeIs, "12"); !errors.Is(err, ErrUnknownPrompt) {
		t.Errorf("unknown prompt: err = %v", err)
	}
	if _, err := p.Sequence("en", Codec{}, "1"); err == nil {
		t.Error("invalid codec: no error")
	}
}

// writePromptDir writes a prompt directory with one tone-like WAV file per
// name under dir/locale, each of n samples of value v.
func writePromptDir(t *testing.T, dir, locale string, names []string, v int16) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, locale), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		pcm := slices.Repeat([]int16{v, -v}, 400)
		if err := os.WriteFile(filepath.Join(dir, locale, PromptFile(name)), wavFile(1, 1, 8000, 16, pcm), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadPromptsMergesDirectory(t *testing.T) {
	dir := t.TempDir()
	writePromptDir(t, dir, "en", []string{"5"}, 1000)               // replaces one English prompt
	writePromptDir(t, dir, "pt-BR", PromptNames(), 2000)            // a new, complete locale
	writePromptDir(t, dir, ".git", []string{"nonsense"}, 1)         // ignored
	os.WriteFile(filepath.Join(dir, "README"), []byte("hi"), 0o644) // ignored
	os.WriteFile(filepath.Join(dir, "pt-BR", "notes.txt"), []byte("hi"), 0o644)

	p, err := LoadPrompts(dir)
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := LoadPrompts("")
	if err != nil {
		t.Fatal(err)
	}
	first := func(p *Prompts, locale, name string) byte {
		b, err := p.Sequence(locale, CodecPCMU, name)
		if err != nil {
			t.Fatal(err)
		}
		return b[0]
	}
	tests := []struct {
		locale, name string
		want         byte
	}{
		{"en", "5", ULaw.encodeOne(1000)},
		{"en", "6", first(builtin, "en", "6")},
		{"pt-BR", "6", ULaw.encodeOne(2000)},
		{"pt_br", "6", ULaw.encodeOne(2000)},
		{"PT", "6", ULaw.encodeOne(2000)},
		{"pt-PT", "6", ULaw.encodeOne(2000)},
		{"de-DE", "5", ULaw.encodeOne(1000)},
		{"", "5", ULaw.encodeOne(1000)},
	}
	for _, tt := range tests {
		if got := first(p, tt.locale, tt.name); got != tt.want {
			t.Errorf("locale %q prompt %s: first byte %#x, want %#x", tt.locale, tt.name, got, tt.want)
		}
	}
	if got := p.Locales(); !slices.Equal(got, []string{"en", "pt-br"}) {
		t.Errorf("Locales() = %v", got)
	}
	if got := p.Locale("pt-PT"); got != "pt-br" {
		t.Errorf("Locale(pt-PT) = %q", got)
	}
}

func (l Law) encodeOne(s int16) byte {
	var b [1]byte
	l.Encode(b[:], []int16{s})
	return b[0]
}

func TestLoadPromptsRejectsBadDirectory(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr string
		is      error
	}{
		{"16 kHz file", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, "en"), 0o755)
			os.WriteFile(filepath.Join(dir, "en", "digit-5.wav"), wavFile(1, 1, 16000, 16, []int16{1}), 0o644)
		}, "en/digit-5.wav", ErrWAVFormat},
		{"stereo file", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, "en"), 0o755)
			os.WriteFile(filepath.Join(dir, "en", "again.wav"), wavFile(1, 2, 8000, 16, []int16{1, 1}), 0o644)
		}, "2 channels", ErrWAVFormat},
		{"unknown file name", func(t *testing.T, dir string) {
			writePromptDir(t, dir, "en", []string{"digit5"}, 1)
		}, "digit5.wav", ErrUnknownPrompt},
		{"incomplete locale", func(t *testing.T, dir string) {
			writePromptDir(t, dir, "fr", PromptNames()[:10], 1)
		}, "locale fr lacks code_is.wav", nil},
		{"bad locale name", func(t *testing.T, dir string) {
			writePromptDir(t, dir, "english language", PromptNames(), 1)
		}, "not a locale", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			_, err := LoadPrompts(dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
	if _, err := LoadPrompts(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: err = %v", err)
	}
}

// TestNoTalkOffInPrompts checks that no shipped prompt, alone or in a
// sentence, makes the DTMF detector report a key, after a G.711 round trip
// in either law: a caller's echo of a prompt must not enter digits.
func TestNoTalkOffInPrompts(t *testing.T) {
	p, err := LoadPrompts("")
	if err != nil {
		t.Fatal(err)
	}
	sentences := [][]string{{PromptCodeIs, "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", PromptAgain, "9", "8", "7", "6", "5", "4", "3", "2", "1", "0"}}
	for _, name := range PromptNames() {
		sentences = append(sentences, []string{name})
	}
	for _, c := range []Codec{CodecPCMU, CodecPCMA} {
		for _, s := range sentences {
			audio, err := p.Sequence("en", c, s...)
			if err != nil {
				t.Fatal(err)
			}
			pcm := make([]int16, len(audio))
			c.Law.Decode(pcm, audio)
			if got := detectAll(t, pcm); got != "" {
				t.Errorf("%v %v: detected %q", c, s, got)
			}
		}
	}
}
