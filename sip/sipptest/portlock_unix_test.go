//go:build unix

package sipptest

import "testing"

// TestClaimHoldsThePortAgainstOtherClaims: a port FreeUDPPort handed out is
// locked, and a lock taken anew on it (as another test process would)
// fails until this process exits.
func TestClaimHoldsThePortAgainstOtherClaims(t *testing.T) {
	port := FreeUDPPort(t)
	if claim(port) {
		t.Fatalf("port %d was claimed a second time", port)
	}
}
