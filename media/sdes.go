package media

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"
)

// SRTP with keys exchanged in SDP (SDES, RFC 4568): each side offers the
// key it encrypts with in an a=crypto line of an RTP/SAVP stream, and
// decrypts with the other's. Only AES_CM_128_HMAC_SHA1_80 (RFC 3711's
// default) is offered and accepted. The keys travel in the SDP in clear:
// SDES is only as private as the signalling, so use it over SIP over TLS.

// SuiteAES128SHA1_80 is the one SRTP crypto suite ringproof speaks.
const SuiteAES128SHA1_80 = "AES_CM_128_HMAC_SHA1_80"

// ErrNoSRTP is wrapped by ParseAnswer's error when an offer with SRTP is
// answered without it: the call must fail rather than fall back to clear
// audio.
var ErrNoSRTP = errors.New("media: SRTP offered, answer has none")

// sdesKeyLen is an AES_CM_128_HMAC_SHA1_80 master key (16 bytes) and
// master salt (14 bytes).
const sdesKeyLen = 30

// Crypto is one side's SDES crypto attribute: its tag and its master key
// and salt.
type Crypto struct {
	Tag int
	Key [sdesKeyLen]byte
}

// NewCrypto returns a Crypto of tag 1 with a master key and salt from
// crypto/rand.
func NewCrypto() (Crypto, error) {
	c := Crypto{Tag: 1}
	if _, err := rand.Read(c.Key[:]); err != nil {
		return Crypto{}, fmt.Errorf("media: SRTP key: %w", err)
	}
	return c, nil
}

// attribute is the value of the a=crypto line for c.
func (c Crypto) attribute() string {
	return strconv.Itoa(c.Tag) + " " + SuiteAES128SHA1_80 + " inline:" + base64.StdEncoding.EncodeToString(c.Key[:])
}

// context is an SRTP context keyed with c.
func (c Crypto) context(opts ...srtp.ContextOption) (*srtp.Context, error) {
	return srtp.CreateContext(c.Key[:16], c.Key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80, opts...)
}

// SRTPKeys are a call's SDES keys: Local encrypts what the session sends,
// Remote decrypts what it receives.
type SRTPKeys struct {
	Local, Remote Crypto
}

// cryptoOf returns the first a=crypto attribute of md that ringproof can
// use, with its tag, or false if there is none. Parameters after the key
// (a lifetime, an MKI) are refused: key lifetimes and MKIs are not
// supported.
func cryptoOf(md *sdp.MediaDescription) (Crypto, bool) {
	for _, a := range md.Attributes {
		if a.Key != "crypto" {
			continue
		}
		f := strings.Fields(a.Value)
		if len(f) != 3 || f[1] != SuiteAES128SHA1_80 {
			continue
		}
		tag, err := strconv.Atoi(f[0])
		key, ok := strings.CutPrefix(f[2], "inline:")
		if err != nil || tag < 0 || !ok || strings.Contains(key, "|") {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(key)
		if err != nil || len(raw) != sdesKeyLen {
			continue
		}
		c := Crypto{Tag: tag}
		copy(c.Key[:], raw)
		return c, true
	}
	return Crypto{}, false
}

// secure is the session's SRTP: contexts to encrypt what it sends and to
// decrypt (and authenticate, against replays too) what it receives, with
// buffers reused from packet to packet.
type secure struct {
	enc, dec *srtp.Context
	out, in  []byte
}

func newSecure(k SRTPKeys) (*secure, error) {
	enc, err := k.Local.context()
	if err != nil {
		return nil, fmt.Errorf("media: SRTP: %w", err)
	}
	dec, err := k.Remote.context(srtp.SRTPReplayProtection(64))
	if err != nil {
		return nil, fmt.Errorf("media: SRTP: %w", err)
	}
	return &secure{enc: enc, dec: dec, out: make([]byte, 0, maxDatagram), in: make([]byte, 0, maxDatagram)}, nil
}
