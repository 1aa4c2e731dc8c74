package media

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// builtinPrompts are the English prompts made by prompts/generate.sh.
//
//go:embed prompts/en/*.wav
var builtinPrompts embed.FS

// BuiltinLocale is the locale of the embedded prompts, and the fallback of
// every other.
const BuiltinLocale = "en"

// Prompt names for Prompts.Sequence besides the digits "0" to "9". Each is
// stored as <name>.wav; digit N as digit-N.wav.
const (
	PromptCodeIs       = "code_is"      // "Your verification code is"
	PromptAgain        = "again"        // "Again"
	PromptEnterCode    = "enter_code"   // "Please enter the code shown on your screen, then press hash."
	PromptVerified     = "verified"     // "Your number is verified."
	PromptWrongCode    = "wrong_code"   // "That code is not correct."
	PromptUnidentified = "unidentified" // "Sorry, we cannot identify your call."
)

// PromptGap is the silence Sequence puts between two prompts.
const PromptGap = 200 * time.Millisecond

// maxPromptFile bounds the size of a prompt file read from disk (about 20
// minutes of audio).
const maxPromptFile = 20 << 20

// ErrUnknownPrompt is returned for a prompt name Sequence does not know, and
// by LoadPrompts for a WAV file whose name is no prompt's.
var ErrUnknownPrompt = errors.New("media: unknown prompt")

// PromptNames returns the names of all prompts: "0" to "9", then the
// Prompt* phrases.
func PromptNames() []string {
	return []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
		PromptCodeIs, PromptAgain, PromptEnterCode, PromptVerified, PromptWrongCode, PromptUnidentified}
}

// PromptFile returns the file name of prompt name: "digit-5.wav" for "5",
// "code_is.wav" for PromptCodeIs.
func PromptFile(name string) string {
	if len(name) == 1 && name[0] >= '0' && name[0] <= '9' {
		return "digit-" + name + ".wav"
	}
	return name + ".wav"
}

// Prompts holds every prompt of every locale, encoded once in each G.711
// law. It is immutable and safe for concurrent use.
type Prompts struct {
	locales map[string]map[string]encodedPrompt // lower-case locale → name →
}

type encodedPrompt struct {
	ulaw, alaw []byte
}

func (e encodedPrompt) law(l Law) []byte {
	if l == ALaw {
		return e.alaw
	}
	return e.ulaw
}

// localeDir matches the directory name of a locale: a language and optional
// subtags, such as en, pt-BR or zh_Hant.
var localeDir = regexp.MustCompile(`^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$`)

// LoadPrompts returns the embedded English prompts merged with those in dir,
// laid out as dir/<locale>/<file> with the file names of PromptFile, each
// an 8000 Hz mono 16-bit PCM WAV file. Files in dir/en replace the built-in
// ones of the same name. Any other locale must have every prompt, so that
// a call never mixes languages. Plain files in dir, files not ending in
// .wav in a locale directory, and names starting with "." are ignored; a
// directory name that is no locale, a .wav file that is no prompt and a
// file in any other format are errors. An empty dir means the embedded
// prompts alone.
func LoadPrompts(dir string) (*Prompts, error) {
	en, err := loadLocale(builtinPrompts, "prompts/en")
	if err != nil {
		return nil, fmt.Errorf("media: built-in prompts: %w", err)
	}
	if len(en) != len(PromptNames()) {
		return nil, fmt.Errorf("media: built-in prompts: %d of %d", len(en), len(PromptNames()))
	}
	p := &Prompts{locales: map[string]map[string]encodedPrompt{BuiltinLocale: en}}
	if dir == "" {
		return p, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("media: prompts: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		// Stat follows symbolic links, which e.IsDir does not.
		if info, err := os.Stat(filepath.Join(dir, e.Name())); err != nil || !info.IsDir() {
			continue
		}
		if !localeDir.MatchString(e.Name()) {
			return nil, fmt.Errorf("media: prompts %s: %q is not a locale such as en or pt-BR", dir, e.Name())
		}
		locale := normaliseLocale(e.Name())
		if _, dup := p.locales[locale]; dup && locale != BuiltinLocale {
			return nil, fmt.Errorf("media: prompts %s: locale %q twice", dir, e.Name())
		}
		loaded, err := loadLocale(os.DirFS(dir), e.Name())
		if err != nil {
			return nil, fmt.Errorf("media: prompts %s: %w", dir, err)
		}
		if locale == BuiltinLocale {
			for name, pr := range loaded {
				en[name] = pr
			}
			continue
		}
		var missing []string
		for _, name := range PromptNames() {
			if _, ok := loaded[name]; !ok {
				missing = append(missing, PromptFile(name))
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("media: prompts %s: locale %s lacks %s", dir, e.Name(), strings.Join(missing, ", "))
		}
		p.locales[locale] = loaded
	}
	return p, nil
}

// loadLocale reads and encodes the WAV files in directory dir of fsys.
func loadLocale(fsys fs.FS, dir string) (map[string]encodedPrompt, error) {
	byFile := make(map[string]string)
	for _, name := range PromptNames() {
		byFile[PromptFile(name)] = name
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]encodedPrompt)
	for _, e := range entries {
		file := path.Join(dir, e.Name())
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || !strings.EqualFold(path.Ext(e.Name()), ".wav") {
			continue
		}
		name, ok := byFile[e.Name()]
		if !ok {
			return nil, fmt.Errorf("%s: %w: the files are %s", file, ErrUnknownPrompt, strings.Join(slices.Sorted(maps.Keys(byFile)), ", "))
		}
		pcm, err := readWAV(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(pcm) == 0 {
			return nil, fmt.Errorf("%s: %w: no samples", file, ErrWAVFormat)
		}
		enc := encodedPrompt{ulaw: make([]byte, len(pcm)), alaw: make([]byte, len(pcm))}
		ULaw.Encode(enc.ulaw, pcm)
		ALaw.Encode(enc.alaw, pcm)
		out[name] = enc
	}
	return out, nil
}

func readWAV(fsys fs.FS, file string) ([]int16, error) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPromptFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPromptFile {
		return nil, fmt.Errorf("larger than %d MiB", maxPromptFile>>20)
	}
	return ParseWAV(b)
}

// normaliseLocale lower-cases a locale and writes its separators as "-".
func normaliseLocale(l string) string {
	return strings.ReplaceAll(strings.ToLower(l), "_", "-")
}

// Locale returns the locale whose prompts Sequence plays for locale: the
// locale itself if loaded; else the nearest by language: the locale without
// its last subtags (pt for pt-BR), or another of the same language (pt-BR
// for pt-PT), the first in sort order; else BuiltinLocale. Matching ignores
// case and "-" versus "_".
func (p *Prompts) Locale(locale string) string {
	l := normaliseLocale(locale)
	for tag := l; tag != ""; {
		if _, ok := p.locales[tag]; ok {
			return tag
		}
		i := strings.LastIndexByte(tag, '-')
		if i < 0 {
			break
		}
		tag = tag[:i]
	}
	if lang, _, _ := strings.Cut(l, "-"); lang != "" {
		for _, loaded := range p.Locales() {
			if strings.HasPrefix(loaded, lang+"-") {
				return loaded
			}
		}
	}
	return BuiltinLocale
}

// Locales returns the loaded locales, lower-case, sorted.
func (p *Prompts) Locales() []string {
	return slices.Sorted(maps.Keys(p.locales))
}

// Sequence returns the named prompts of locale (see Locale) one after
// another, encoded for codec, with PromptGap of silence between two, ready
// for Session.Play. Names are "0" to "9" and the Prompt* constants, e.g.
// Sequence("en", c, PromptCodeIs, "1", "2", PromptAgain, "1", "2").
func (p *Prompts) Sequence(locale string, codec Codec, names ...string) ([]byte, error) {
	if !codec.Law.Valid() {
		return nil, fmt.Errorf("media: prompt sequence: invalid codec %v", codec)
	}
	set := p.locales[p.Locale(locale)]
	gap := int(PromptGap * SampleRate / time.Second)
	size := 0
	for _, name := range names {
		pr, ok := set[name]
		if !ok {
			return nil, fmt.Errorf("%w %q (locale %q)", ErrUnknownPrompt, name, locale)
		}
		size += len(pr.ulaw) + gap
	}
	out := make([]byte, 0, size)
	for i, name := range names {
		if i > 0 {
			for range gap {
				out = append(out, codec.Law.Silence())
			}
		}
		out = append(out, set[name].law(codec.Law)...)
	}
	return out, nil
}
