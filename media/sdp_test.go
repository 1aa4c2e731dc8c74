package media

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

func TestOfferListsG711AndTelephoneEvent(t *testing.T) {
	tests := []struct {
		addr     string
		wantConn string
	}{
		{"127.0.0.1:4000", "c=IN IP4 127.0.0.1"},
		{"[::1]:4002", "c=IN IP6 ::1"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			body, err := Offer(netip.MustParseAddrPort(tt.addr), 42)
			if err != nil {
				t.Fatal(err)
			}
			s := string(body)
			for _, want := range []string{tt.wantConn, "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20"} {
				if !strings.Contains(s, want+"\r\n") {
					t.Errorf("offer lacks %q:\n%s", want, s)
				}
			}
			var parsed sdp.SessionDescription
			if err := parsed.Unmarshal(body); err != nil {
				t.Fatalf("offer does not parse back: %v", err)
			}
			md := parsed.MediaDescriptions[0]
			if got := strings.Join(md.MediaName.Formats, " "); got != "0 8 101" {
				t.Errorf("m= formats = %q, want \"0 8 101\" (no duplicates)", got)
			}
			if md.MediaName.Port.Value != int(netip.MustParseAddrPort(tt.addr).Port()) {
				t.Errorf("m= port = %d", md.MediaName.Port.Value)
			}
		})
	}
}

func TestOfferRejectsInvalidAddress(t *testing.T) {
	if _, err := Offer(netip.AddrPort{}, 1); err == nil {
		t.Fatal("want error for zero address")
	}
}

// offerSDP builds an offer from m= and attribute lines.
func offerSDP(lines ...string) []byte {
	head := "v=0\r\no=peer 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
	return []byte(head + strings.Join(lines, "\r\n") + "\r\n")
}

func TestAnswerNegotiates(t *testing.T) {
	local := netip.MustParseAddrPort("127.0.0.1:20000")
	remote := netip.MustParseAddrPort("192.0.2.10:30000")
	tests := []struct {
		name      string
		offer     []byte
		want      Negotiated
		wantLines []string // in the answer
	}{
		{"PCMU only", offerSDP("m=audio 30000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000"),
			Negotiated{remote, CodecPCMU, 0, nil}, []string{"m=audio 20000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=sendrecv"}},
		{"PCMA only, no rtpmap", offerSDP("m=audio 30000 RTP/AVP 8"),
			Negotiated{remote, CodecPCMA, 0, nil}, []string{"m=audio 20000 RTP/AVP 8", "a=rtpmap:8 PCMA/8000"}},
		{"PCMU then PCMA", offerSDP("m=audio 30000 RTP/AVP 0 8"),
			Negotiated{remote, CodecPCMU, 0, nil}, []string{"m=audio 20000 RTP/AVP 0"}},
		{"PCMA then PCMU", offerSDP("m=audio 30000 RTP/AVP 8 0"),
			Negotiated{remote, CodecPCMA, 0, nil}, []string{"m=audio 20000 RTP/AVP 8"}},
		{"G.729 first, then PCMA", offerSDP("m=audio 30000 RTP/AVP 18 8", "a=rtpmap:18 G729/8000"),
			Negotiated{remote, CodecPCMA, 0, nil}, []string{"m=audio 20000 RTP/AVP 8"}},
		{"telephone-event 101", offerSDP("m=audio 30000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"),
			Negotiated{remote, CodecPCMU, 101, nil}, []string{"m=audio 20000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"}},
		{"telephone-event 96", offerSDP("m=audio 30000 RTP/AVP 8 96", "a=rtpmap:96 telephone-event/8000"),
			Negotiated{remote, CodecPCMA, 96, nil}, []string{"m=audio 20000 RTP/AVP 8 96", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15"}},
		{"telephone-event at 48 kHz ignored", offerSDP("m=audio 30000 RTP/AVP 0 97 101", "a=rtpmap:97 telephone-event/48000", "a=rtpmap:101 telephone-event/8000"),
			Negotiated{remote, CodecPCMU, 101, nil}, []string{"m=audio 20000 RTP/AVP 0 101"}},
		{"PCMU on a dynamic type", offerSDP("m=audio 30000 RTP/AVP 98", "a=rtpmap:98 pcmu/8000"),
			Negotiated{remote, Codec{ULaw, 98}, 0, nil}, []string{"m=audio 20000 RTP/AVP 98", "a=rtpmap:98 PCMU/8000"}},
		{"media-level address", offerSDP("m=audio 30000 RTP/AVP 0", "c=IN IP4 198.51.100.7"),
			Negotiated{netip.MustParseAddrPort("198.51.100.7:30000"), CodecPCMU, 0, nil}, nil},
		{"hold address", offerSDP("m=audio 30000 RTP/AVP 0", "c=IN IP4 0.0.0.0"),
			Negotiated{netip.MustParseAddrPort("0.0.0.0:30000"), CodecPCMU, 0, nil}, nil},
		{"sendonly answered recvonly", offerSDP("m=audio 30000 RTP/AVP 0", "a=sendonly"),
			Negotiated{remote, CodecPCMU, 0, nil}, []string{"a=recvonly"}},
		{"video declined, audio taken", offerSDP("m=video 30002 RTP/AVP 96", "a=rtpmap:96 H264/90000", "m=audio 30000 RTP/AVP 0"),
			Negotiated{remote, CodecPCMU, 0, nil}, []string{"m=video 0 RTP/AVP 96", "m=audio 20000 RTP/AVP 0"}},
		{"SRTP stream declined, plain one taken", offerSDP("m=audio 30004 RTP/SAVP 0", "m=audio 30000 RTP/AVP 0"),
			Negotiated{remote, CodecPCMU, 0, nil}, []string{"m=audio 0 RTP/SAVP 0", "m=audio 20000 RTP/AVP 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer, neg, err := Answer(tt.offer, local)
			if err != nil {
				t.Fatal(err)
			}
			if neg != tt.want {
				t.Errorf("negotiated %+v, want %+v", neg, tt.want)
			}
			for _, want := range append([]string{"c=IN IP4 127.0.0.1", "a=ptime:20"}, tt.wantLines...) {
				if !strings.Contains(string(answer), want+"\r\n") {
					t.Errorf("answer lacks %q:\n%s", want, answer)
				}
			}
			// The answer reads back as what was negotiated, at our address.
			back, err := ParseAnswer(answer, nil)
			if err != nil {
				t.Fatalf("answer does not parse back: %v\n%s", err, answer)
			}
			if want := (Negotiated{local, tt.want.Codec, tt.want.EventPT, nil}); back != want {
				t.Errorf("ParseAnswer(answer, nil) = %+v, want %+v", back, want)
			}
		})
	}
}

func TestAnswerRejects(t *testing.T) {
	local := netip.MustParseAddrPort("127.0.0.1:20000")
	tests := []struct {
		name  string
		offer []byte
		want  error
	}{
		{"G.729 only", offerSDP("m=audio 30000 RTP/AVP 18", "a=rtpmap:18 G729/8000"), ErrNoCommonCodec},
		{"wideband G.711 clock", offerSDP("m=audio 30000 RTP/AVP 96", "a=rtpmap:96 PCMU/16000"), ErrNoCommonCodec},
		{"only telephone-event", offerSDP("m=audio 30000 RTP/AVP 101", "a=rtpmap:101 telephone-event/8000"), ErrNoCommonCodec},
		{"video only", offerSDP("m=video 30000 RTP/AVP 31"), ErrNoCommonCodec},
		{"SRTP only", offerSDP("m=audio 30000 RTP/SAVP 0"), ErrNoCommonCodec},
		{"audio declined", offerSDP("m=audio 0 RTP/AVP 0"), ErrNoCommonCodec},
		{"no media", offerSDP(), ErrNoCommonCodec},
		{"empty", nil, ErrMalformedSDP},
		{"not SDP", []byte("INVITE sip:bob@example.com SIP/2.0\r\n"), ErrMalformedSDP},
		{"truncated", offerSDP("m=audio 30000 RTP/AVP 0")[:40], ErrMalformedSDP},
		{"bad port", offerSDP("m=audio 70000 RTP/AVP 0"), ErrMalformedSDP},
		{"host name address", []byte("v=0\r\no=p 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 media.example.com\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n"), ErrMalformedSDP},
		{"no address", []byte("v=0\r\no=p 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n"), ErrMalformedSDP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer, _, err := Answer(tt.offer, local)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v (answer %q)", err, tt.want, answer)
			}
		})
	}
}

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		name   string
		answer []byte
		want   Negotiated
		err    error
	}{
		{"PCMA and events", offerSDP("m=audio 30000 RTP/AVP 8 101", "a=rtpmap:101 telephone-event/8000"),
			Negotiated{netip.MustParseAddrPort("192.0.2.10:30000"), CodecPCMA, 101, nil}, nil},
		{"declined", offerSDP("m=audio 0 RTP/AVP 0"), Negotiated{}, ErrNoCommonCodec},
		{"G.722 chosen", offerSDP("m=audio 30000 RTP/AVP 9"), Negotiated{}, ErrNoCommonCodec},
		{"garbage", []byte("\x00\x01"), Negotiated{}, ErrMalformedSDP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAnswer(tt.answer, nil)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("ParseAnswer = %+v, %v; want %+v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestAnswerToOwnOffer(t *testing.T) {
	offer, err := Offer(netip.MustParseAddrPort("127.0.0.1:4000"), 7)
	if err != nil {
		t.Fatal(err)
	}
	_, neg, err := Answer(offer, netip.MustParseAddrPort("127.0.0.1:5000"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Negotiated{netip.MustParseAddrPort("127.0.0.1:4000"), CodecPCMU, TelephoneEvent, nil}); neg != want {
		t.Errorf("negotiated %+v, want %+v", neg, want)
	}
}

func FuzzAnswer(f *testing.F) {
	f.Add(offerSDP("m=audio 30000 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"))
	f.Add(offerSDP("m=video 1 RTP/AVP 96", "m=audio 2 RTP/SAVP 0", "m=audio 3 RTP/AVP 8", "c=IN IP6 ::1", "a=sendonly"))
	f.Add(offerSDP("m=audio 30000/2 RTP/AVP 0", "a=rtpmap:0 PCMU/8000/1", "a=rtpmap:0"))
	f.Add([]byte("v=0\r\n"))
	local := netip.MustParseAddrPort("127.0.0.1:20000")
	f.Fuzz(func(t *testing.T, offer []byte) {
		answer, neg, err := Answer(offer, local)
		if err != nil {
			if !errors.Is(err, ErrNoCommonCodec) && !errors.Is(err, ErrMalformedSDP) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			return
		}
		if !neg.Codec.Law.Valid() {
			t.Fatalf("negotiated invalid codec %+v", neg)
		}
		if _, err := ParseAnswer(answer, nil); err != nil {
			t.Fatalf("own answer does not parse: %v\n%s", err, answer)
		}
		ParseAnswer(offer, nil) //nolint:errcheck // must merely not panic
	})
}

// FuzzParseAnswer reads callees' SDP answers, to clear RTP and to SRTP
// offers. It must not panic; an error must wrap a sentinel; an answer it
// takes must name a G.711 law and a port, and carry SRTP keys exactly when
// SRTP was offered, those being the key offered and the peer's.
func FuzzParseAnswer(f *testing.F) {
	// As SIPp (testdata/sipp/uas_answer_media.xml), the test handset
	// (Answer) and carriers send them.
	f.Add([]byte("v=0\r\no=sipp 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n"), false)
	f.Add([]byte("v=0\r\no=- 3866 3867 IN IP4 203.0.113.5\r\ns=SBC\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 31722 RTP/AVP 8 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\na=sendrecv\r\na=maxptime:40\r\n"), false)
	f.Add([]byte("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\nm=audio 5004 RTP/AVP 0\r\nc=IN IP6 ::1\r\n"), false)
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"), false)
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40002 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32\r\n"), true)
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40002 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:short\r\n"), true)
	if ans, _, err := Answer(offerSDP("m=audio 30000 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000"), netip.MustParseAddrPort("127.0.0.1:20000")); err == nil {
		f.Add(ans, false)
	}
	offered := Crypto{Tag: 1}
	for i := range offered.Key {
		offered.Key[i] = byte(i)
	}
	f.Fuzz(func(t *testing.T, answer []byte, srtp bool) {
		var off *Crypto
		if srtp {
			off = &offered
		}
		neg, err := ParseAnswer(answer, off)
		if err != nil {
			if !errors.Is(err, ErrNoCommonCodec) && !errors.Is(err, ErrMalformedSDP) && !errors.Is(err, ErrNoSRTP) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if !neg.Codec.Law.Valid() || neg.Remote.Port() == 0 {
			t.Fatalf("took an answer without a G.711 law or a port: %+v", neg)
		}
		if (neg.SRTP != nil) != srtp || (srtp && neg.SRTP.Local != offered) {
			t.Fatalf("SRTP offered %v, negotiated %+v", srtp, neg.SRTP)
		}
	})
}
