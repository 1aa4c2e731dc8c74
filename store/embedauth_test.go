package store_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	t.Run("another user", func(t *testing.T) { storetest.OtherUserCannotConnect(t, sock) })

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

func TestMain(m *testing.M) {
	if code, ok := storetest.ConnectAsOtherUser(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}
