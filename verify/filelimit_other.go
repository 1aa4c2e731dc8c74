//go:build !unix

package verify

// openFileLimit is the process's soft limit on open files, or 0 if
// unknown.
func openFileLimit() uint64 { return 0 }
