package main

import (
	"fmt"
	"testing"

	"github.com/ringproof/ringproof/conf"
)

// TestTestNumberPlacesNoCall creates verifications of a test number on a
// running node whose carrier (SIPp) takes exactly one call: none reaches
// it, the fixed code verifies each, and neither the number's limit nor the
// per-key limit refuses them. The one call SIPp takes is then the real
// number's, which the same limits let through: the test creates counted
// nothing.
func TestTestNumberPlacesNoCall(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_ring_cancel.xml", 1)
	c := testConfig(t, sipp.Addr)
	c.TestNumbers = []conf.TestNumber{{Number: testNumber, Code: "2468"}}
	c.Verification.MaxPerNumberPerHour = 1
	c.Limits.PerKeyPerMinute = 1
	srv := startServer(t, c)
	srv.noteCode("2468")

	for i := range 3 {
		for _, method := range []string{"flashcall", "sms", "voice"} {
			st, v := srv.call("POST", "/v1/verifications", fmt.Sprintf(`{"number":%q,"method":%q}`, testNumber, method))
			if st != 201 || v["test"] != true {
				t.Fatalf("create %d of a test number (%s): %d %v, want 201 with test: true", i+1, method, st, v)
			}
			id := v["id"].(string)
			if _, r := srv.call("POST", "/v1/verifications/"+id+"/check", `{"code":"2468"}`); r["status"] != "verified" {
				t.Fatalf("check with the test code: %v", r)
			}
			if got := srv.waitFor(id, "verified", status("verified")); len(eventTypes(got)) != 0 {
				t.Fatalf("a test verification has call events: %v", got)
			}
		}
	}

	real := srv.create("+447911123457")
	srv.waitFor(real, "rung", callOver)
	waitProc(t, sipp)
	records, err := sipp.Log()
	if err != nil || len(records) != 1 || records[0].To != "+447911123457" {
		t.Fatalf("SIPp took %v (%v), want the one call to the real number", records, err)
	}
}
