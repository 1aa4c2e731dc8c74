package main

import (
	"fmt"
	"testing"

	"github.com/ringproof/ringproof/sip/sipptest"
)

// NAT: ringproof listens on every address and tells carriers another one,
// as behind NAT or in a container.

func TestUnspecifiedListenWithAnExternalAddress(t *testing.T) {
	t.Parallel()
	peer := newRTPPeer(t)
	sipp := callee(t, "uas_answer_media.xml", fmt.Sprint(peer.port()))
	c := testConfig(t, sipp.Addr)
	port := sipptest.FreeUDPPort(t)
	c.SIP.Listen = fmt.Sprintf("0.0.0.0:%d", port)
	c.SIP.ExternalAddress = "127.0.0.2"
	srv := startServer(t, c)
	if a := srv.sip.Addr(); !a.Addr().IsUnspecified() {
		t.Fatalf("listening on %v, want 0.0.0.0", a)
	}

	// A keypad call: SIPp answers, the peer types the code over RTP sent
	// to where the SDP says, and the verification completes.
	v := srv.createMethod("keypad_out", testNumber)
	id, code := v["id"].(string), v["code"].(string)
	peer.waitFirst()
	peer.typeRFC4733(code + "#")
	srv.waitFor(id, "verified", status("verified"))
	waitProc(t, sipp)

	recs, err := sipp.Log()
	if err != nil || len(recs) != 1 {
		t.Fatalf("SIPp records %v %v", recs, err)
	}
	want := fmt.Sprintf("127.0.0.2:%d", port)
	f := recs[0].Fields
	if f["via_sent_by"] != want || f["contact"] != want || f["sdp_c"] != "127.0.0.2" || f["sdp_o"] != "127.0.0.2" {
		t.Fatalf("INVITE: Via sent-by %s, Contact %s, SDP c= %s o= %s; want %s, %s, 127.0.0.2, 127.0.0.2",
			f["via_sent_by"], f["contact"], f["sdp_c"], f["sdp_o"], want, want)
	}
}
