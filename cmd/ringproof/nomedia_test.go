package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// A phone with voice activity detection sends no RTP while it listens: the
// no-media timer must not cut the code short.
func TestVoiceCodeIsSpokenWholeToASilentPhone(t *testing.T) {
	t.Parallel()
	peer := newRTPPeer(t)
	close(peer.frames) // it never sends
	sipp := callee(t, "uas_answer_media.xml", fmt.Sprint(peer.port()))
	c := testConfig(t, sipp.Addr)
	c.Media.NoRTPTimeoutS = 1 // the prompt lasts several times that
	srv := startServer(t, c)
	id := srv.createMethod("voice", testNumber)["id"].(string)
	got := srv.waitFor(id, "hung up", func(v map[string]any) bool {
		return strings.Contains(fmt.Sprint(eventTypes(v)), "hungup")
	})
	if types := fmt.Sprint(eventTypes(got)); !strings.Contains(types, "code_spoken") || strings.Contains(types, "code_not_spoken") {
		t.Fatalf("events %s, want code_spoken", types)
	}
	waitProc(t, sipp)
	code := srv.storedCode(id)
	var audio []byte
	for _, p := range peer.packets() {
		audio = append(audio, p.payload...)
	}
	want := spoken(t, codePrompt(code, 2)...)
	if !bytes.HasPrefix(audio, want) {
		t.Fatalf("the phone heard %d bytes, not the whole prompt for the code (%d bytes)", len(audio), len(want))
	}
}
