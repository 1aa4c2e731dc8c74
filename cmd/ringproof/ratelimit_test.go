package main

import (
	"testing"
)

// TestCreatesPastTheNumbersLimit creates verifications of one number past
// verification.max_per_number_per_hour on a running node: the one past it
// gets 429 naming the number and the limit, with the true Retry-After (the
// limit is a sliding hour, so with 3 an hour the budget comes back one
// create every 20 minutes, not at the clock's next hour), while another
// number is served.
func TestCreatesPastTheNumbersLimit(t *testing.T) {
	t.Parallel()
	c := inboundConfig(t)
	c.Verification.MaxPerNumberPerHour = 3
	srv := startServer(t, c)
	for i := range 3 {
		if r := srv.request("POST", "/v1/verifications", apiKey, "", inboundBody(testNumber)); r.status != 201 {
			t.Fatalf("create %d: %d %v", i+1, r.status, r.body)
		}
	}
	r := srv.request("POST", "/v1/verifications", apiKey, "", inboundBody(testNumber))
	if r.status != 429 || r.errorField("code") != "rate_limited" || r.errorField("limit") != "per_number" || r.errorField("field") != "number" {
		t.Fatalf("fourth create: %d %v, want 429 rate_limited, limit per_number, field number", r.status, r.body)
	}
	// 20 minutes less the seconds the three creates took, rounded up.
	retryAfter(t, r, 20*60-30, 20*60)
	if r := srv.request("POST", "/v1/verifications", apiKey, "", inboundBody("+447911123457")); r.status != 201 {
		t.Fatalf("another number: %d %v", r.status, r.body)
	}
}
