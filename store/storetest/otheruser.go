package storetest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// otherUserEnv, set to a socket path, makes a test binary whose TestMain
// calls ConnectAsOtherUser try to connect to it and exit 0 if it could,
// 3 if not.
const otherUserEnv = "RINGPROOF_TEST_CONNECT_AS_OTHER_USER"

// ConnectAsOtherUser is a test binary's TestMain part for
// OtherUserCannotConnect: when the binary was started to try a socket, it
// tries it and returns the exit code with ok true; otherwise ok is false
// and TestMain goes on to run the tests.
func ConnectAsOtherUser() (code int, ok bool) {
	sock := os.Getenv(otherUserEnv)
	if sock == "" {
		return 0, false
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Println(err)
		return 3, true
	}
	c.Close()
	return 0, true
}

// OtherUserCannotConnect runs a copy of the running test binary as the
// user nobody and has it connect to the unix socket sock: the test fails
// unless the connection is refused with permission denied. The binary's
// TestMain must call ConnectAsOtherUser. Only root can run a process as
// another user, so the test is skipped otherwise.
func OtherUserCannotConnect(t *testing.T, sock string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("only root can run a process as another user")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A copy nobody can run: the build directory may be closed to them.
	dir, err := os.MkdirTemp("", "otheruser")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, filepath.Base(self))
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin)
	cmd.Env = []string{otherUserEnv + "=" + sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 || !strings.Contains(string(out), "permission denied") {
		t.Fatalf("as user nobody: %v %s; want permission denied (exit 3)", err, out)
	}
}
