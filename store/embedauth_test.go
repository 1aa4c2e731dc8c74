package store_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// TestEmbeddedEtcdTakesNoUnauthenticatedClient: by default the embedded
// etcd serves clients only on a unix socket of mode 0600 in a 0700 data
// dir, and listens for no peer; another user of the host cannot connect to
// it. With store.client_url it also serves TLS there, to clients with the
// generated certificate only: one without cannot read or write a key.
func TestEmbeddedEtcdTakesNoUnauthenticatedClient(t *testing.T) {
	t.Parallel()
	c := storetest.Config(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := storetest.Open(t, storetest.Config(t))

	clients, peers := store.Listeners(s)
	sock := strings.TrimPrefix(s.ClientURL(), "unix://")
	if !slices.Equal(clients, []string{"unix:" + sock}) || len(peers) != 0 {
		t.Fatalf("listening for clients on %v and for peers on %v; want only the unix socket %s", clients, peers, sock)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v, %v; want a socket of mode 0600", sock, fi.Mode(), err)
	}
	if di, err := os.Stat(filepath.Dir(sock)); err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v, %v; want mode 0700", di.Mode(), err)
	}
	t.Run("another user", func(t *testing.T) { otherUserCannotConnect(t, sock) })

	// The TLS client port.
	c.ClientURL = "https://" + addr
	tlsStore := storetest.Open(t, c)
	if err := tlsStore.Put(t.Context(), "v/secret", []byte(`{"status":"pending"}`), 0); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(c.DataDir, "keys", "etcd-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	for name, cfg := range map[string]clientv3.Config{
		"TLS without a client certificate": {Endpoints: []string{"https://" + addr}, TLS: &tls.Config{RootCAs: roots}},
		"plain text":                       {Endpoints: []string{"http://" + addr}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.DialTimeout = time.Second
			cli, err := clientv3.New(cfg)
			if err != nil {
				return // refused before any request
			}
			defer cli.Close()
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			if res, err := cli.Get(ctx, c.Prefix+"v/secret"); err == nil {
				t.Fatalf("read a key: %v", res.Kvs)
			}
			ctx, cancel = context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			if _, err := cli.Put(ctx, c.Prefix+"v/secret", `{"status":"verified"}`); err == nil {
				t.Fatal("wrote a key")
			}
		})
	}
	if v, _, err := tlsStore.Get(t.Context(), "v/secret"); err != nil || string(v) != `{"status":"pending"}` {
		t.Fatalf("the key is now %q, %v", v, err)
	}
}

// otherUserEnv, set to a socket path, makes the test binary try to
// connect to it and exit 0 if it could, 3 if not.
const otherUserEnv = "RINGPROOF_TEST_CONNECT_AS_OTHER_USER"

func TestMain(m *testing.M) {
	if sock := os.Getenv(otherUserEnv); sock != "" {
		c, err := net.Dial("unix", sock)
		if err != nil {
			fmt.Println(err)
			os.Exit(3)
		}
		c.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// otherUserCannotConnect runs this test binary as the user nobody and
// has it connect to sock; only root can change user, so it is skipped
// otherwise.
func otherUserCannotConnect(t *testing.T, sock string) {
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
	bin := filepath.Join(dir, "store.test")
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
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("as user nobody: %v %s; want no connection (exit 3)", err, out)
	}
	if !strings.Contains(string(out), "permission denied") {
		t.Fatalf("as user nobody: %s; want permission denied", out)
	}
}
