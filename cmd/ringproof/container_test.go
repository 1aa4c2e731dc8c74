//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringproof/ringproof/sip/sipptest"
)

// The container image, without a container engine: the tests here read
// the Dockerfile's last stage and run the ringproof binary as its
// ENTRYPOINT and CMD would run, with its ENV, as its USER (when the tests
// run as root, as CI does), in its WORKDIR, which is its VOLUME, with the
// rest of the file system read-only to the process (Landlock). What a
// container's own network and mount namespaces would give is replaced by
// free loopback ports and a temporary directory: those are the only
// changes to the image's environment, and each is named.

// image is what the Dockerfile's last stage says about how to run it.
type image struct {
	env         []string // ENV, in order, as KEY=value
	user        string
	workdir     string
	volumes     []string
	entrypoint  []string
	cmd         []string
	healthcheck []string // HEALTHCHECK's CMD
}

// readDockerfile reads path's last stage.
func readDockerfile(t *testing.T, path string) image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var img image
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	cont := ""
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			cont += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		lines = append(lines, cont+l)
		cont = ""
	}
	jsonArray := func(instr, s string) []string {
		var out []string
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			t.Fatalf("Dockerfile: %s %s: want the exec (JSON) form: %v", instr, s, err)
		}
		return out
	}
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			img = image{} // a new stage: only the last one runs
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				if !strings.Contains(kv, "=") {
					t.Fatalf("Dockerfile: ENV %s: want KEY=value", rest)
				}
				img.env = append(img.env, kv)
			}
		case "USER":
			img.user = rest
		case "WORKDIR":
			img.workdir = rest
		case "VOLUME":
			img.volumes = append(img.volumes, jsonArray(instr, rest)...)
		case "ENTRYPOINT":
			img.entrypoint = jsonArray(instr, rest)
		case "CMD":
			img.cmd = jsonArray(instr, rest)
		case "HEALTHCHECK":
			_, c, ok := strings.Cut(rest, " CMD ")
			if !ok {
				t.Fatalf("Dockerfile: HEALTHCHECK %s: no CMD", rest)
			}
			img.healthcheck = jsonArray(instr, strings.TrimSpace(c))
		}
	}
	return img
}

// envValue returns the value of key in env (KEY=value strings).
func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

// withEnv returns env with key set to value, as docker run -e does.
func withEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// container is the ringproof binary run as the image runs it.
type container struct {
	t      *testing.T
	img    image
	bin    string // the image's /usr/local/bin/ringproof
	volume string // the VOLUME's directory on this machine
	env    []string
	uid    int // -1: the test's own
}

// newContainer prepares the image's environment, with the changes that
// stand in for a container's namespaces, and run's -e variables.
func newContainer(t *testing.T, run map[string]string) *container {
	t.Helper()
	img := readDockerfile(t, "../../Dockerfile")
	if len(img.volumes) != 1 || img.workdir != img.volumes[0] {
		t.Fatalf("Dockerfile: WORKDIR %q and VOLUME %q: want the one volume as the working directory", img.workdir, img.volumes)
	}
	if img.user != "65532:65532" {
		t.Fatalf("Dockerfile: USER %q, want 65532:65532 (distroless nonroot)", img.user)
	}
	c := &container{t: t, img: img, bin: buildRingproof(t), uid: -1}
	// The volume: a directory the runtime user owns, mode 0700 as the
	// image makes it, outside the test's private temporary directories so
	// that user can reach it.
	vol, err := os.MkdirTemp("", "ringproof-volume-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(vol) })
	c.volume = vol
	if os.Getuid() == 0 {
		c.uid = 65532
		if err := os.Chown(vol, c.uid, c.uid); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Logf("not root: the binary runs as uid %d, not the image's 65532", os.Getuid())
	}

	// What docker run gives every container, then the image's ENV.
	c.env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=ringproof", "HOME=/home/nonroot"}
	c.env = append(c.env, img.env...)
	// No network namespace: the ports the image listens on move to free
	// ones, on the same hosts (the embedded etcd has none: a unix socket
	// in the volume).
	for _, key := range []string{"RINGPROOF_HTTP_LISTEN"} {
		ap := netip.MustParseAddrPort(envValue(c.env, key))
		c.env = withEnv(c.env, key, fmt.Sprintf("%s:%d", ap.Addr(), freeTCPPort(t)))
	}
	// No mount namespace: the volume's path is the directory above.
	if envValue(c.env, "RINGPROOF_STORE_DATA_DIR") != img.volumes[0] {
		t.Fatalf("Dockerfile: RINGPROOF_STORE_DATA_DIR=%q, want the volume %s", envValue(c.env, "RINGPROOF_STORE_DATA_DIR"), img.volumes[0])
	}
	c.env = withEnv(c.env, "RINGPROOF_STORE_DATA_DIR", vol)
	for k, v := range run {
		c.env = withEnv(c.env, k, v)
	}
	return c
}

// command returns args run in the container: as its user, in its working
// directory, with its environment, output to out.
func (c *container) command(ctx context.Context, out *logBuffer, args ...string) *exec.Cmd {
	if args[0] == "/usr/local/bin/ringproof" {
		args[0] = c.bin
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = c.env
	cmd.Dir = c.volume
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if c.uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.uid), Groups: []uint32{}}
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 45 * time.Second
	return cmd
}

// start starts cmd with the file system read-only except the volume.
func (c *container) start(cmd *exec.Cmd) {
	c.t.Helper()
	if err := startReadOnly(cmd, c.volume); err != nil {
		c.t.Fatal(err)
	}
}

// startReadOnly starts cmd in a Landlock domain where nothing outside
// writable (and /dev/null) can be written, created or removed; reads are
// unrestricted.
// Without Landlock in the kernel it starts cmd as it is.
//
// Landlock restricts a thread and what it starts: the domain is made on an
// OS thread of its own, which starts cmd and then ends with its goroutine.
func startReadOnly(cmd *exec.Cmd, writable string) error {
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 || abi < 1 {
		return cmd.Start()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		done <- func() error {
			access := uint64(unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
				unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
				unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
				unix.LANDLOCK_ACCESS_FS_MAKE_SYM)
			if abi >= 2 {
				access |= unix.LANDLOCK_ACCESS_FS_REFER
			}
			if abi >= 3 {
				access |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
			}
			attr := unix.LandlockRulesetAttr{Handled_access_fs: access}
			fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
			if errno != 0 {
				return fmt.Errorf("landlock_create_ruleset: %w", errno)
			}
			defer unix.Close(int(fd))
			// The volume, and /dev/null, which a container's /dev lets
			// anyone write.
			devNull := uint64(unix.LANDLOCK_ACCESS_FS_WRITE_FILE)
			if abi >= 3 {
				devNull |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
			}
			for _, r := range []struct {
				path   string
				access uint64
			}{{writable, access}, {os.DevNull, devNull}} {
				target, err := unix.Open(r.path, unix.O_PATH|unix.O_CLOEXEC, 0)
				if err != nil {
					return err
				}
				rule := unix.LandlockPathBeneathAttr{Allowed_access: r.access, Parent_fd: int32(target)}
				_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, fd, unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
				unix.Close(target)
				if errno != 0 {
					return fmt.Errorf("landlock_add_rule %s: %w", r.path, errno)
				}
			}
			if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
				return err
			}
			if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); errno != 0 {
				return fmt.Errorf("landlock_restrict_self: %w", errno)
			}
			return cmd.Start()
		}()
	}()
	return <-done
}

// TestContainerEntrypointPassesAFlashCall runs the image's ENTRYPOINT and
// CMD as the container would, has its HEALTHCHECK pass, and places a flash
// call through it to SIPp.
func TestContainerEntrypointPassesAFlashCall(t *testing.T) {
	t.Parallel()
	sipp := carrier(t, "uas_ring_cancel.xml", 1)
	sipListen := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	// The docker run -e of the Dockerfile's example, for this machine, and
	// a configuration file (the API keys) mounted and named, as it shows.
	c := newContainer(t, map[string]string{
		"RINGPROOF_SIP_LISTEN":       sipListen,
		"RINGPROOF_TRUNKS_0_ADDRESS": sipp.Addr,
		// SIPp's scenario takes an OPTIONS ping for a call it did not expect.
		"RINGPROOF_TRUNKS_0_OPTIONS_PING_S": "0",
	})
	configFile := filepath.Join(c.volume, "ringproof.yaml")
	writeConfigFile := func(key string) {
		t.Helper()
		if err := os.WriteFile(configFile, []byte("http:\n  api_keys: ["+key+"]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if c.uid >= 0 {
			if err := os.Chown(configFile, c.uid, c.uid); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeConfigFile(apiKey)
	c.env = withEnv(c.env, "RINGPROOF_CONFIG", configFile)
	out := &logBuffer{}
	ctx, stop := context.WithCancel(context.Background())
	serve := c.command(ctx, out, append(append([]string{}, c.img.entrypoint...), c.img.cmd...)...)
	c.start(serve)
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() {
		stop() // SIGTERM, as docker stop sends
		select {
		case <-exited:
			if code := serve.ProcessState.ExitCode(); code != 0 {
				t.Errorf("ringproof serve exited %d after SIGTERM:\n%s", code, out)
			}
		case <-time.After(50 * time.Second):
			t.Errorf("ringproof serve still running 50 s after SIGTERM")
		}
		checkLogsHoldNoNumber(t, out.String())
	})

	// HEALTHCHECK, as Docker runs it: in the container, same environment.
	healthy := poll(30*time.Second, func() bool {
		select {
		case err := <-exited:
			t.Fatalf("ringproof serve exited: %v\n%s", err, out)
		default:
		}
		hctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		check := c.command(hctx, &logBuffer{}, append([]string{}, c.img.healthcheck...)...)
		c.start(check)
		return check.Wait() == nil
	})
	if !healthy {
		t.Fatalf("HEALTHCHECK never passed within 30 s; serve said:\n%s", out)
	}

	srv := &testServer{t: t, base: "http://127.0.0.1:" + strings.Split(envValue(c.env, "RINGPROOF_HTTP_LISTEN"), ":")[1]}
	id := srv.create(testNumber)
	// The binary has the race detector and its own process: on a busy
	// machine its call may take a while.
	var v map[string]any
	if !poll(60*time.Second, func() bool {
		_, v = srv.call("GET", "/v1/verifications/"+id, "")
		return v["status"] == "rang"
	}) {
		t.Fatalf("the flash call never ended rang: %v\n%s", v, out)
	}
	if types := fmt.Sprint(eventTypes(v)); types != "[dialing ringing cancelled]" {
		t.Fatalf("events %s", types)
	}

	// SIGHUP (systemctl reload, docker kill -s HUP) reads the file again:
	// the new key works at once, the old one no more.
	writeConfigFile("rotated-api-key")
	if err := serve.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !poll(20*time.Second, func() bool {
		return srv.getWith("rotated-api-key", "/v1/verifications/"+id) == 200
	}) {
		t.Fatalf("the rotated key was refused 20 s after SIGHUP:\n%s", out)
	}
	if code := srv.getWith(apiKey, "/v1/verifications/"+id); code != 401 {
		t.Fatalf("the old key after SIGHUP: %d, want 401", code)
	}
	if !strings.Contains(out.String(), `msg="configuration reloaded" applied=http.api_keys[0]`) {
		t.Errorf("the log does not say what the reload applied:\n%s", out)
	}

	// What the process wrote is in the volume, owned by the image's user.
	entries, err := os.ReadDir(c.volume)
	if err != nil || len(entries) == 0 {
		t.Fatalf("the volume holds nothing: %v", err)
	}
	if c.uid >= 0 {
		filepath.Walk(c.volume, func(path string, fi os.FileInfo, err error) error {
			if err == nil && fi.Sys().(*syscall.Stat_t).Uid != uint32(c.uid) {
				t.Errorf("%s is owned by uid %d, not %d", path, fi.Sys().(*syscall.Stat_t).Uid, c.uid)
			}
			return nil
		})
	}
}

// TestContainerWithoutTheSIPAddressSaysSo runs the image without
// RINGPROOF_SIP_LISTEN: it listens on every interface, which carriers
// cannot be told in Via and Contact, so serve refuses to start, naming the
// variable to set.
func TestContainerWithoutTheSIPAddressSaysSo(t *testing.T) {
	t.Parallel()
	c := newContainer(t, nil)
	out := &logBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	serve := c.command(ctx, out, append(append([]string{}, c.img.entrypoint...), c.img.cmd...)...)
	c.start(serve)
	err := serve.Wait()
	if code := serve.ProcessState.ExitCode(); code != 2 || !strings.Contains(out.String(), "sip.listen") || !strings.Contains(out.String(), "RINGPROOF_SIP_LISTEN") {
		t.Fatalf("exit %d (%v), output:\n%s\nwant exit 2 naming sip.listen and RINGPROOF_SIP_LISTEN", code, err, out)
	}
}

// TestReadOnlyOutsideTheVolume checks the stand-in for a read-only root:
// a process started by startReadOnly writes in the volume and nowhere
// else.
func TestReadOnlyOutsideTheVolume(t *testing.T) {
	t.Parallel()
	vol, other := t.TempDir(), t.TempDir()
	cmd := exec.Command("/bin/sh", "-c", `echo ok > "$1/in" && ! echo no 2>/dev/null > "$2/out"`, "sh", vol, other)
	if err := startReadOnly(cmd, vol); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sh: %v: the volume was not writable, or the rest was", err)
	}
	if _, err := os.Stat(filepath.Join(other, "out")); !os.IsNotExist(err) {
		t.Fatalf("a file was written outside the volume: %v", err)
	}
}
