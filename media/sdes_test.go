package media

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// srtpPair negotiates SRTP between a (offerer) and b (answerer) as a call
// would, and returns their Negotiated.
func srtpPair(t *testing.T, a, b *Session) (Negotiated, Negotiated) {
	t.Helper()
	local, err := NewCrypto()
	if err != nil {
		t.Fatal(err)
	}
	offer, err := OfferSRTP(a.LocalAddr(), 1, local)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(offer), "RTP/SAVP") || !strings.Contains(string(offer), "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") {
		t.Fatalf("offer:\n%s", offer)
	}
	answer, bNeg, err := Answer(offer, b.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	aNeg, err := ParseAnswer(answer, &local)
	if err != nil {
		t.Fatalf("ParseAnswer: %v\n%s", err, answer)
	}
	if bNeg.SRTP == nil || aNeg.SRTP == nil || aNeg.SRTP.Local != bNeg.SRTP.Remote || aNeg.SRTP.Remote != bNeg.SRTP.Local || aNeg.SRTP.Local == aNeg.SRTP.Remote {
		t.Fatalf("keys do not pair: a %+v, b %+v", aNeg.SRTP, bNeg.SRTP)
	}
	return aNeg, bNeg
}

func TestSRTPSessionsExchangeAudio(t *testing.T) {
	a, b := listen(t), listen(t)
	aNeg, bNeg := srtpPair(t, a, b)
	bHandler, bGot := collect()
	if err := a.Start(aNeg); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(bNeg, WithAudioHandler(bHandler)); err != nil {
		t.Fatal(err)
	}
	pcm := sweep(FrameSamples)
	frame := make([]byte, FrameSamples)
	ULaw.Encode(frame, pcm)
	if err := a.Play(context.Background(), frame); err != nil {
		t.Fatal(err)
	}
	got := next(t, bGot)
	want := make([]int16, FrameSamples)
	ULaw.Decode(want, frame)
	if !slicesEqual(got.pcm, want) {
		t.Fatal("b decoded other audio than a sent")
	}
}

func slicesEqual(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSRTPOnTheWireIsEncryptedAndAuthenticated(t *testing.T) {
	a, b := listen(t), listen(t)
	aNeg, bNeg := srtpPair(t, a, b)
	// A raw socket stands where b's SDP says: it sees a's packets as they
	// travel.
	wire, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer wire.Close()
	aNeg.Remote = wire.LocalAddr().(*net.UDPAddr).AddrPort()
	if err := a.Start(aNeg); err != nil {
		t.Fatal(err)
	}
	frame := bytes.Repeat([]byte{0x55}, FrameSamples)
	go a.Play(context.Background(), append(frame, frame...))
	var sent [2][]byte
	for i := range sent {
		buf := make([]byte, 1500)
		wire.SetReadDeadline(time.Now().Add(waitTimeout))
		n, err := wire.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if len(pkt.Payload) != FrameSamples+10 || bytes.Contains(pkt.Payload, frame[:16]) {
			t.Fatalf("payload of %d bytes, clear audio in it: %v", len(pkt.Payload), bytes.Contains(pkt.Payload, frame[:16]))
		}
		sent[i] = buf[:n]
	}
	// b takes the packet as sent, and drops it with one bit changed or
	// replayed.
	bHandler, bGot := collect()
	if err := b.Start(Negotiated{Remote: wire.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: bNeg.Codec, SRTP: bNeg.SRTP}, WithAudioHandler(bHandler)); err != nil {
		t.Fatal(err)
	}
	forged := append([]byte(nil), sent[0]...)
	forged[20] ^= 1
	for _, p := range [][]byte{forged, sent[0], sent[0], sent[1]} {
		if _, err := wire.WriteToUDPAddrPort(p, b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	// b reads them in order: the forged one and the replay are dropped, so
	// the packet after the first genuine one is the second.
	first, second := next(t, bGot), next(t, bGot)
	if second.hdr.SequenceNumber != first.hdr.SequenceNumber+1 {
		t.Fatalf("b took sequence %d then %d: a forged or replayed packet got through", first.hdr.SequenceNumber, second.hdr.SequenceNumber)
	}
}

func TestSRTPOfferAnsweredInClearFails(t *testing.T) {
	local, _ := NewCrypto()
	clear := []byte("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n")
	if _, err := ParseAnswer(clear, &local); !errors.Is(err, ErrNoSRTP) {
		t.Fatalf("clear answer to an SRTP offer: %v, want ErrNoSRTP", err)
	}
	keyless := []byte("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 30000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n")
	if _, err := ParseAnswer(keyless, &local); !errors.Is(err, ErrNoSRTP) {
		t.Fatalf("SAVP answer with a suite ringproof does not speak: %v, want ErrNoSRTP", err)
	}
	// And an offer of only a suite ringproof does not speak gets 488.
	if _, _, err := Answer(keyless, listen(t).LocalAddr()); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("Answer to SAVP without a usable key: %v, want ErrNoCommonCodec", err)
	}
}
