//go:build unix

package sipptest

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// go test runs the packages' test binaries side by side, each a process of
// its own, and several of them draw ports from FreeUDPPort's range. A
// port is claimed across them with an exclusive lock on a file named for
// it, held until the process exits; another process skips a port it cannot
// lock. The files stay, empty, in $TMPDIR/ringproof-test-ports: one per
// port ever claimed, 6,384 at most.

// claimed holds the lock files of this process's ports: an *os.File that
// is no longer referenced is closed by the garbage collector, which would
// drop its lock.
var claimed struct {
	sync.Mutex
	files []*os.File
}

// lockDir is where the lock files are, made once and shared by every
// user's tests; "" when it cannot be made.
var lockDir = sync.OnceValue(func() string {
	dir := filepath.Join(os.TempDir(), "ringproof-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return ""
	}
	_ = os.Chmod(dir, 0o777|os.ModeSticky) // any user's tests may claim ports
	return dir
})

// claim reports whether this process now holds port against the other
// test processes. Where the lock cannot be tried (no shared temporary
// directory), it claims the port, as if no other process drew from the
// range.
func claim(port int) bool {
	dir := lockDir()
	if dir == "" {
		return true
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return false
	}
	claimed.Lock()
	claimed.files = append(claimed.files, f)
	claimed.Unlock()
	return true
}
