package sip

import (
	"encoding/base64"
	"testing"
)

// passport returns an Identity header value whose PASSporT payload is
// payload (JSON), with a made-up signature: ringproof never checks it.
func passport(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.example.org/passport.cer"}`)) + "." +
		enc([]byte(payload)) + "." + enc([]byte("not a signature")) +
		`;info=<https://cert.example.org/passport.cer>;alg=ES256;ppt="shaken"`
}

func TestParseInboundSTIR(t *testing.T) {
	const from = "From: <sip:+447911123456@10.0.0.1;user=phone>;tag=a\n"
	tests := []struct {
		name        string
		headers     string
		trustPAI    bool
		caller      string
		verstat     string
		attestation string
	}{
		{"none", from, false, "+447911123456", "", ""},
		{"tel URI in PAI", "From: <sip:trunk@10.0.0.1>;tag=a\nP-Asserted-Identity: <tel:+447911123456;verstat=TN-Validation-Passed>\n", true,
			"+447911123456", VerstatPassed, ""},
		{"sip URI in From, verstat in the user part", "From: <sip:+447911123456;verstat=TN-Validation-Failed@10.0.0.1;user=phone>;tag=a\n", false,
			"+447911123456", VerstatFailed, ""},
		{"sip URI, verstat as a URI parameter", "From: <sip:+447911123456@10.0.0.1;user=phone;verstat=No-TN-Validation>;tag=a\n", false,
			"+447911123456", VerstatNoValidation, ""},
		{"tel URI in From", "From: \"Alice\" <tel:+447911123456;verstat=TN-Validation-Passed>;tag=a\n", false,
			"+447911123456", VerstatPassed, ""},
		{"verstat on an untrusted PAI of the same number", from + "P-Asserted-Identity: <tel:+447911123456;verstat=TN-Validation-Passed>\n", false,
			"+447911123456", VerstatPassed, ""},
		{"verstat on a PAI of another number is not the caller's", from + "P-Asserted-Identity: <tel:+447911000000;verstat=TN-Validation-Passed>\n", false,
			"+447911123456", "", ""},
		{"P-Attestation-Indicator", from + "P-Attestation-Indicator: A\n", false, "+447911123456", "", "A"},
		{"P-Attestation-Indicator, lower case", from + "P-Attestation-Indicator: b\n", false, "+447911123456", "", "B"},
		{"Identity header", from + "Identity: " + passport(`{"attest":"C","dest":{"tn":["441632960000"]},"iat":1443208345,"orig":{"tn":"447911123456"},"origid":"123e4567-e89b-12d3-a456-426655440000"}`) + "\n", false,
			"+447911123456", "", "C"},
		{"P-Attestation-Indicator wins over Identity", from + "P-Attestation-Indicator: A\nIdentity: " + passport(`{"attest":"C"}`) + "\n", false,
			"+447911123456", "", "A"},
		{"Identity in compact form", from + "Identity: eyJhbGciOiJFUzI1NiJ9..c2ln;info=<https://x>\n", false, "+447911123456", "", ""},
		{"Identity with junk", from + "Identity: not.a!.token\n", false, "+447911123456", "", ""},
		{"attest not a level", from + "Identity: " + passport(`{"attest":"Z"}`) + "\n", false, "+447911123456", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := parseInbound(parseRequest(t, tt.headers), &InboundTrunk{Name: "t", TrustPAI: tt.trustPAI})
			if in.CallerID != tt.caller || in.Verstat != tt.verstat || in.Attestation != tt.attestation {
				t.Fatalf("caller %q verstat %q attestation %q; want %q %q %q", in.CallerID, in.Verstat, in.Attestation, tt.caller, tt.verstat, tt.attestation)
			}
		})
	}
}

func TestCallerTrust(t *testing.T) {
	tests := []struct {
		require     bool
		min         string
		verstat     string
		attestation string
		want        string
	}{
		{false, "", "", "", ""},
		{true, "", VerstatPassed, "", ""},
		{true, "", VerstatFailed, "A", "verstat"},
		{true, "", VerstatNoValidation, "A", "verstat"},
		{true, "", "", "A", "verstat"},
		{false, "A", "", "A", ""},
		{false, "A", "", "B", "attestation"},
		{false, "B", "", "A", ""},
		{false, "B", "", "C", "attestation"},
		{false, "C", "", "C", ""},
		{false, "C", "", "", "attestation"},
		{true, "B", VerstatPassed, "B", ""},
		{true, "B", VerstatPassed, "C", "attestation"},
	}
	for _, tt := range tests {
		got := callerTrust(&InboundTrunk{RequireVerstat: tt.require, MinAttestation: tt.min}, &Inbound{Verstat: tt.verstat, Attestation: tt.attestation})
		if got != tt.want {
			t.Errorf("require_verstat %v min_attestation %q, call verstat %q attestation %q: %q, want %q",
				tt.require, tt.min, tt.verstat, tt.attestation, got, tt.want)
		}
	}
}

func FuzzPassportAttest(f *testing.F) {
	f.Add(passport(`{"attest":"A"}`))
	f.Add("a.b.c;info=<x>")
	f.Add("..;")
	f.Fuzz(func(t *testing.T, v string) {
		if a := passportAttest(v); a != "" && a != "A" && a != "B" && a != "C" {
			t.Fatalf("attest %q", a)
		}
	})
}
