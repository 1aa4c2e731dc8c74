package verify

import (
	"testing"

	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/store"
)

// testVault returns a vault over st with keys made for the test and a
// history store in its temporary directory, its writer running until the
// test ends.
func testVault(t testing.TB, st *store.Store) *privacy.Vault {
	t.Helper()
	v, err := privacy.NewEphemeralVault(t.Context(), st, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.History().Close() })
	return v
}
