package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of
	// t + "." + body under the subscription's secret>".
	SignatureHeader = "Ringproof-Signature"
	// IDHeader names the delivery: a delivery sent again (a retry, or a
	// node taking over a dead one's) carries the same id, for the
	// receiver to drop repeats.
	IDHeader = "Ringproof-Webhook-Id"
	// EventHeader names the event (verification.updated, …).
	EventHeader = "Ringproof-Event"
	// AttemptHeader counts the attempts, from 1.
	AttemptHeader = "Ringproof-Webhook-Attempt"
)

// Errors of Verify.
var (
	ErrNoSignature = errors.New("webhook: no t= and v1= in " + SignatureHeader)
	ErrSignature   = errors.New("webhook: signature does not match")
	ErrTooOld      = errors.New("webhook: signature time outside the tolerance")
)

// Sign returns the Ringproof-Signature header value of body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks header, a Ringproof-Signature value, against body: one of
// its v1 values must be the HMAC under secret, and its time within
// tolerance of now (refusing replays of old deliveries). The comparison is
// in constant time.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTooOld
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrSignature
}
