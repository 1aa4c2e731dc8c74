package sip

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// STIR/SHAKEN (RFC 8224, RFC 8588, ATIS-1000074) lets the originating
// carrier sign the caller's number and the terminating carrier check the
// signature. The terminating carrier tells its customer what it found in a
// verstat parameter of the caller's number (on P-Asserted-Identity or
// From), and some also pass the attestation level the originator gave:
// in P-Attestation-Indicator, or in the Identity header's PASSporT.

// Verstat values (ATIS-1000074 §5.3.1).
const (
	VerstatPassed       = "TN-Validation-Passed"
	VerstatFailed       = "TN-Validation-Failed"
	VerstatNoValidation = "No-TN-Validation"
)

// callerURI reads the caller's number and verstat from the URI of a
// P-Asserted-Identity, Remote-Party-ID or From. Both forms carriers use
// are read:
//
//	tel:+447911123456;verstat=TN-Validation-Passed
//	sip:+447911123456;verstat=TN-Validation-Passed@host;user=phone
//
// (the parameter in the user part, RFC 3261's telephone-subscriber), and
// also verstat as a parameter of the sip URI itself. The number never
// keeps the parameters.
func callerURI(u *sip.Uri) (number, verstat string) {
	if strings.EqualFold(u.Scheme, "tel") {
		// sipgo keeps a tel URI whole: its number and parameters.
		return splitUserParams(strings.TrimPrefix(u.String(), u.Scheme+":"))
	}
	number, verstat = splitUserParams(u.User)
	if verstat == "" {
		verstat, _ = u.UriParams.Get("verstat")
	}
	return number, verstat
}

// splitUserParams splits "number;param=value;..." into the number and its
// verstat parameter, if any.
func splitUserParams(s string) (number, verstat string) {
	number, params, _ := strings.Cut(s, ";")
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		if k, v, _ := strings.Cut(p, "="); strings.EqualFold(strings.TrimSpace(k), "verstat") {
			verstat = strings.TrimSpace(v)
		}
	}
	return number, verstat
}

// verstatOf returns the verstat a P-Asserted-Identity or From of req gives
// for number, when the caller ID came from elsewhere.
func verstatOf(req *sip.Request, number string) string {
	uris := []*sip.Uri{}
	for _, h := range req.GetHeaders("P-Asserted-Identity") {
		for _, v := range splitAddressList(h.Value()) {
			var u sip.Uri
			if _, err := sip.ParseAddressValue(strings.TrimSpace(v), &u, nil); err == nil {
				uris = append(uris, &u)
			}
		}
	}
	if f := req.From(); f != nil {
		uris = append(uris, &f.Address)
	}
	for _, u := range uris {
		if n, verstat := callerURI(u); n == number && verstat != "" {
			return verstat
		}
	}
	return ""
}

// attestation returns the STIR/SHAKEN attestation level of req ("A", "B"
// or "C"), or "" when it carries none: P-Attestation-Indicator if present,
// else the attest claim of the Identity header's PASSporT. The PASSporT's
// payload is only decoded: ringproof does not fetch the signer's
// certificate nor check the signature, and so trusts the claim exactly as
// far as it trusts the trunk to have checked or stripped Identity headers.
func attestation(req *sip.Request) string {
	if h := req.GetHeader("P-Attestation-Indicator"); h != nil {
		if a := attestLevel(h.Value()); a != "" {
			return a
		}
	}
	for _, h := range req.GetHeaders("Identity") {
		if a := passportAttest(h.Value()); a != "" {
			return a
		}
	}
	return ""
}

// passportAttest reads the attest claim from an Identity header value:
// the PASSporT (header.payload.signature, base64url) before the header's
// parameters (";info=<...>;alg=ES256;ppt=shaken").
func passportAttest(v string) string {
	token, _, _ := strings.Cut(strings.TrimSpace(v), ";")
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 || len(parts[1]) > 4096 {
		return "" // the compact form (RFC 8224 §7.3) has no payload
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		Attest string `json:"attest"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return attestLevel(claims.Attest)
}

// attestLevel returns v as A, B or C, or "" if it is none of them.
func attestLevel(v string) string {
	switch a := strings.ToUpper(strings.TrimSpace(v)); a {
	case "A", "B", "C":
		return a
	}
	return ""
}

// callerTrust says why trunk's policy does not let in's caller ID prove a
// number: "verstat" (require_verstat, and the carrier did not say
// TN-Validation-Passed), "attestation" (weaker than min_attestation, or
// none), or "" when it may.
func callerTrust(trunk *InboundTrunk, in *Inbound) string {
	if trunk.RequireVerstat && in.Verstat != VerstatPassed {
		return "verstat"
	}
	// "A" < "B" < "C" as strings, and A is the strongest.
	if m := trunk.MinAttestation; m != "" && (in.Attestation == "" || in.Attestation > m) {
		return "attestation"
	}
	return ""
}

// stirCounters counts inbound calls by verstat and attestation.
type stirCounters struct {
	verstat     [5]atomic.Uint64 // by verstatLabels
	attestation [4]atomic.Uint64 // by attestationLabels
}

var (
	verstatLabels     = [5]string{"passed", "failed", "no_validation", "other", "none"}
	attestationLabels = [4]string{"A", "B", "C", "none"}
)

func (c *stirCounters) count(in *Inbound) {
	v := 3
	switch in.Verstat {
	case VerstatPassed:
		v = 0
	case VerstatFailed:
		v = 1
	case VerstatNoValidation:
		v = 2
	case "":
		v = 4
	}
	c.verstat[v].Add(1)
	a := 3
	switch in.Attestation {
	case "A":
		a = 0
	case "B":
		a = 1
	case "C":
		a = 2
	}
	c.attestation[a].Add(1)
}

func (c *stirCounters) verstats() map[string]uint64 {
	m := make(map[string]uint64, len(verstatLabels))
	for i, l := range verstatLabels {
		m[l] = c.verstat[i].Load()
	}
	return m
}

func (c *stirCounters) attestations() map[string]uint64 {
	m := make(map[string]uint64, len(attestationLabels))
	for i, l := range attestationLabels {
		m[l] = c.attestation[i].Load()
	}
	return m
}
