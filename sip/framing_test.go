package sip

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// SIP over TCP and TLS is a stream: Content-Length alone says where a
// message ends (RFC 3261 §7.5, §18.3). The endpoint's TCP and TLS
// listeners read it with sipgo's stream parser, one read at a time, as
// TCP delivers it.

// tcpSeeds are streams as carriers and ringproof send them.
var tcpSeeds = []string{
	// An OPTIONS ping, no body.
	"OPTIONS sip:ping@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bK-1\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1:5060>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
	// An INVITE with its SDP offer, then the ACK for its answer: two
	// messages in one read.
	withBody("INVITE sip:+447911123456@127.0.0.1:5070;user=phone SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-2\r\nFrom: <sip:+442079460000@127.0.0.1>;tag=a\r\nTo: <sip:+447911123456@127.0.0.1:5070>\r\nCall-ID: c2\r\nCSeq: 1 INVITE\r\nContact: <sip:+442079460000@127.0.0.1:5060;transport=tcp>\r\nContent-Type: application/sdp\r\n",
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 16384 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n") +
		"ACK sip:+447911123456@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-3\r\nFrom: <sip:+442079460000@127.0.0.1>;tag=a\r\nTo: <sip:+447911123456@127.0.0.1:5070>;tag=b\r\nCall-ID: c2\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
	// A 180 with the compact form of Content-Length, and a keep-alive.
	"SIP/2.0 180 Ringing\r\nv: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-2\r\nf: <sip:+442079460000@127.0.0.1>;tag=a\r\nt: <sip:+447911123456@127.0.0.1:5070>;tag=b\r\ni: c2\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n\r\n\r\n",
	// A DTMF relay INFO.
	withBody("INFO sip:ringproof@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bK-4\r\nFrom: <sip:+447911123456@127.0.0.1>;tag=x\r\nTo: <sip:+441632960000@127.0.0.1>;tag=y\r\nCall-ID: c4\r\nCSeq: 3 INFO\r\nContent-Type: application/dtmf-relay\r\n",
		"Signal=5\r\nDuration=160\r\n"),
	// A text message whose body holds what looks like a message.
	withBody("MESSAGE sip:+447911123456@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-5\r\nFrom: <sip:+442079460000@127.0.0.1>;tag=m\r\nTo: <sip:+447911123456@127.0.0.1>\r\nCall-ID: c5\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n",
		"BYE sip:x SIP/2.0\r\nCSeq: 1\r\n"),
	// Content-Length beyond the body (the rest never comes), negative,
	// huge, twice, absent.
	"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 6\r\nContent-Length: 500\r\n\r\nshort",
	"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 7\r\nContent-Length: -1\r\n\r\n",
	"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 8\r\nContent-Length: 99999999999999999999\r\n\r\n",
	"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 4\r\nContent-Length: 0\r\n\r\nbody",
	"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 9\r\n\r\n",
	// Folded headers (RFC 3261 §7.3.1), Content-Length among them.
	"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 10\r\nContent-Length:\r\n 5\r\nSubject: a\r\n\tb\r\n\r\n01234OPTIONS sip:n@b SIP/2.0\r\nCall-ID: 11\r\nContent-Length: 0\r\n\r\n",
	"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 12\r\nContent-Length: 5\r\n 0\r\n\r\n0123456789",
}

// streamParse feeds chunks to one stream parser as the TCP transport
// does, and returns the messages it parsed, in order, and the error that
// would have closed the connection (nil if the stream merely stopped,
// perhaps within a message).
func streamParse(chunks ...[]byte) ([]sip.Message, error) {
	par := sip.NewParser().NewSIPStream()
	defer par.Close()
	var msgs []sip.Message
	for _, c := range chunks {
		if len(c) == 0 {
			continue
		}
		err := par.ParseSIPStream(c, func(m sip.Message) { msgs = append(msgs, m) })
		if err != nil && !errors.Is(err, sip.ErrParseSipPartial) {
			return msgs, err
		}
	}
	return msgs, nil
}

// FuzzTCPFraming feeds a stream to sipgo's stream parser whole and cut in
// three reads, as TCP may deliver it. It must not panic; the messages must
// not depend on where the reads were cut; and each message's body must be
// exactly as long as its Content-Length says, so that what follows it in
// the stream is read as the next message, never as its body (or the
// other way round).
func FuzzTCPFraming(f *testing.F) {
	for i, s := range tcpSeeds {
		f.Add([]byte(s), uint16(i*37), uint16(i*101))
	}
	f.Add([]byte(strings.Repeat(tcpSeeds[0], 3)), uint16(1), uint16(300))
	f.Fuzz(func(t *testing.T, stream []byte, cut1, cut2 uint16) {
		a, b := min(int(cut1), len(stream)), min(int(cut2), len(stream))
		if a > b {
			a, b = b, a
		}
		whole, wholeErr := streamParse(stream)
		cut, cutErr := streamParse(stream[:a], stream[a:b], stream[b:])
		for _, m := range whole {
			checkContentLength(t, m)
		}
		for _, m := range cut {
			checkContentLength(t, m)
		}
		n := min(len(whole), len(cut))
		for i := range n {
			if w, c := framing(whole[i]), framing(cut[i]); w != c {
				t.Fatalf("message %d framed differently when the stream is read in pieces (cut at %d and %d):\nwhole: %q\ncut:   %q\nwhole message: %q\ncut message:   %q",
					i, a, b, w, c, whole[i].String(), cut[i].String())
			}
		}
		// When only one reading fails, the stream is malformed, and where
		// it was cut decides only how much of it is read before the
		// connection closes: the messages read before the error must be
		// the same (above), their number need not. sipgo folds a header
		// line that starts with a space into the line before it only when
		// it holds both (RFC 3261 §7.3.1 folding), so a header section
		// with a line of spaces alone parses whole but fails when a read
		// ends after that line (testdata/fuzz/FuzzTCPFraming/588b6e38…).
		if wholeErr == nil && cutErr == nil && len(whole) != len(cut) {
			t.Fatalf("read whole: %d messages; cut at %d and %d: %d", len(whole), a, b, len(cut))
		}
	})
}

// framing is what decides where m ends in the stream, and what the next
// message is: its start line, its Content-Length and its body. The other
// headers may differ with where reads end: sipgo folds a header line that
// starts with a space into the line before it (RFC 3261 §7.3.1) only when
// one read holds both, and otherwise reads it as a header of its own
// (testdata/fuzz/FuzzTCPFraming/ec792f5a…). Folding never moves a
// message's end: a folded Content-Length frames the same or is refused
// (the seeds with folded headers).
func framing(m sip.Message) string {
	start, _, _ := strings.Cut(m.String(), "\r\n")
	cl := "none"
	if h := m.ContentLength(); h != nil {
		cl = h.Value()
	}
	return fmt.Sprintf("%s | Content-Length %s | body %q", start, cl, m.Body())
}

// checkContentLength fails t unless m's body is as long as its
// Content-Length header says.
func checkContentLength(t *testing.T, m sip.Message) {
	t.Helper()
	cl := m.ContentLength()
	if cl == nil {
		t.Fatalf("a message without Content-Length was framed: %q", m.String())
	}
	if want, err := strconv.Atoi(cl.Value()); err != nil || want != len(m.Body()) {
		t.Fatalf("Content-Length %q framed a body of %d bytes", cl.Value(), len(m.Body()))
	}
}

// TestTCPFramingSeeds: the seeds frame as expected.
func TestTCPFramingSeeds(t *testing.T) {
	tests := []struct {
		seed  int
		msgs  int
		fails bool
	}{
		{0, 1, false},
		{1, 2, false},
		{2, 1, false},
		{3, 1, false},
		{4, 1, false}, // the body's BYE is body
		{5, 0, false}, // waits for the rest of the body
		{6, 0, true},
		{7, 0, true},
		{9, 0, true},   // no Content-Length: no end
		{10, 2, false}, // a folded Content-Length, read whole
		{11, 0, true},  // "5 0" is no length
	}
	for _, tt := range tests {
		msgs, err := streamParse([]byte(tcpSeeds[tt.seed]))
		if len(msgs) != tt.msgs || (err != nil) != tt.fails {
			t.Errorf("seed %d: %d messages, %v; want %d, failing %v", tt.seed, len(msgs), err, tt.msgs, tt.fails)
		}
		for _, m := range msgs {
			checkContentLength(t, m)
		}
	}
}

// withBody ends head (headers, each with its CRLF) with a Content-Length
// for body, and body.
func withBody(head, body string) string {
	return fmt.Sprintf("%sContent-Length: %d\r\n\r\n%s", head, len(body), body)
}
