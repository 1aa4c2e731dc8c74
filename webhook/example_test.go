package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ringproof/ringproof/webhook"
)

// The function below is docs/webhooks.md's Go snippet, word for word
// (TestDocumentedGoSnippet holds them equal): what an application's
// server copies to check a delivery, with the standard library only.

// verifyRingproofSignature checks a delivery's Ringproof-Signature header
// against its raw body: one v1 value must be the hex HMAC-SHA256, under the
// webhook's secret, of t + "." + body, and t within five minutes of now.
func verifyRingproofSignature(secret []byte, header string, body []byte, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("malformed Ringproof-Signature")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("signature too old or from the future")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("signature does not match")
}

// An application's server checks each delivery with the snippet of
// docs/webhooks.md before it trusts it.
func Example_verifyRingproofSignature() {
	secret := []byte("whsec_0123456789abcdef")
	body := []byte(`{"id":"evt_1","type":"verification.updated","data":{"id":"v1","status":"verified"}}`)
	sent := time.Now()
	header := webhook.Sign(secret, sent, body) // what ringproof sends

	fmt.Println(verifyRingproofSignature(secret, header, body, sent.Add(time.Second)))
	fmt.Println(verifyRingproofSignature(secret, header, []byte(`{"id":"evt_1","data":{"status":"forged"}}`), sent))
	fmt.Println(verifyRingproofSignature([]byte("another secret"), header, body, sent))
	fmt.Println(verifyRingproofSignature(secret, header, body, sent.Add(10*time.Minute)))
	fmt.Println(verifyRingproofSignature(secret, "v1=abc", body, sent))
	// Output:
	// <nil>
	// signature does not match
	// signature does not match
	// signature too old or from the future
	// malformed Ringproof-Signature
}
