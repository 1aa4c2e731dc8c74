package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ringproof/ringproof/media"
	"github.com/ringproof/ringproof/sip/sipptest"
	"github.com/ringproof/ringproof/sip/tlstest"
)

// SRTP end to end: a voice call over a TLS trunk with srtp: sdes to the
// test handset answering (SIPp has no SRTP, and Debian's no TLS).

// answeringPhoneOverTLS runs "ringproof phone --answer" with a TLS
// listener and extra args, and returns its lines and TLS address.
func answeringPhoneOverTLS(t *testing.T, files tlsFiles, args ...string) (<-chan string, string) {
	t.Helper()
	phoneTLS := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	lines := runPhone(t, append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t)),
		"--tls-listen", phoneTLS, "--tls-cert", files.cert, "--tls-key", files.key, "--answer", "--answer-after", "10ms", "--count", "1"}, args...)...)
	nextLine(t, lines, regexp.MustCompile(`^phone: listening on .* and `+regexp.QuoteMeta(phoneTLS)+` \(tls\)`))
	return lines, phoneTLS
}

func TestVoiceCallOverSRTPDecrypts(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	phoneFiles, serverFiles := newTLSFiles(t, ca), newTLSFiles(t, ca)
	wav := filepath.Join(t.TempDir(), "heard.wav")
	lines, phoneTLS := answeringPhoneOverTLS(t, phoneFiles, "--record", wav)
	c := withSIPTLS(t, testConfig(t, phoneTLS), serverFiles)
	c.Trunks[0].Transport, c.Trunks[0].SRTP = "tls", "sdes"
	srv := startServer(t, c)

	id := srv.createMethod("voice", testNumber)["id"].(string)
	nextLine(t, lines, regexp.MustCompile(`^phone: answered: call from \+\d+ to \+\d+ \(PCMU, srtp\)$`))
	nextLine(t, lines, regexp.MustCompile(`^phone: hung up: call from \+\d+ after .*, recorded to `))
	v := srv.waitFor(id, "hung up", func(v map[string]any) bool { return strings.Contains(fmt.Sprint(eventTypes(v)), "hungup") })
	if types := fmt.Sprint(eventTypes(v)); !strings.Contains(types, "code_spoken") {
		t.Fatalf("events %s", types)
	}

	// What the phone decrypted and recorded is the spoken code.
	data, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	heard, err := media.ParseWAV(data)
	if err != nil {
		t.Fatal(err)
	}
	prompt := spoken(t, codePrompt(srv.storedCode(id), 2)...)
	want := make([]int16, len(prompt))
	media.ULaw.Decode(want, prompt)
	if len(heard) < len(want) || !slices.Equal(heard[:len(want)], want) {
		t.Fatalf("the phone recorded %d samples that are not the prompt's %d", len(heard), len(want))
	}
}

func TestSRTPTrunkRefusesAClearAnswer(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	phoneFiles, serverFiles := newTLSFiles(t, ca), newTLSFiles(t, ca)
	// A phone (a carrier) that answers SRTP offers in clear RTP.
	lines, phoneTLS := answeringPhoneOverTLS(t, phoneFiles, "--no-srtp")
	c := withSIPTLS(t, testConfig(t, phoneTLS), serverFiles)
	c.Trunks[0].Transport, c.Trunks[0].SRTP = "tls", "sdes"
	srv := startServer(t, c)

	id := srv.createMethod("voice", testNumber)["id"].(string)
	v := srv.waitFor(id, "failed", status("failed"))
	if ev := v["events"].([]any); !strings.Contains(fmt.Sprint(ev[len(ev)-1]), "SRTP offered, answer has none") {
		t.Fatalf("last event %v, want the answer's missing SRTP", ev[len(ev)-1])
	}
	// ringproof hangs up at once: its BYE may even reach the phone before
	// the phone has seen the ACK. Either way the phone hears nothing.
	m := nextLine(t, lines, regexp.MustCompile(`^phone: (hung up|cancelled): call from \+\d+ .*?(heard (\S+) of audio)?$`))
	if m[1] == "hung up" && m[3] != "0s" {
		t.Fatalf("the phone heard %s of clear audio", m[3])
	}
}
