package store_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/store/storetest"
)

// tlsFiles are PEM files made for one test: a CA, and a certificate it
// signed for 127.0.0.1 and etcd.test, good for servers and clients.
type tlsFiles struct {
	ca, cert, key string
}

func writeTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ringproof test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key := newKey()
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "etcd.test"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"etcd.test"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return tlsFiles{
		ca:   write("ca.pem", "CERTIFICATE", caDER),
		cert: write("cert.pem", "CERTIFICATE", leafDER),
		key:  write("key.pem", "PRIVATE KEY", keyDER),
	}
}

// startTLSEtcd runs a one-member etcd that serves clients over TLS only and
// requires a client certificate signed by f.ca. It returns the https://
// endpoint.
func startTLSEtcd(t *testing.T, f tlsFiles) string {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(t.TempDir(), "etcd")
	client, peer := url.URL{Scheme: "https", Host: "127.0.0.1:0"}, url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ClientTLSInfo = transport.TLSInfo{CertFile: f.cert, KeyFile: f.key, TrustedCAFile: f.ca, ClientCertAuth: true}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(storetest.ZapLogger(t))
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		t.Fatal("TLS etcd not ready in 30 s")
	}
	return "https://" + e.Clients[0].Addr().String()
}

func TestOpenOverTLS(t *testing.T) {
	f := writeTLSFiles(t)
	endpoint := startTLSEtcd(t, f)
	external := func(mod func(*conf.Store)) conf.Store {
		c := storetest.Config(t)
		c.Endpoints = []string{endpoint}
		c.DialTimeoutS = 1
		mod(&c)
		return c
	}
	t.Run("client certificate", func(t *testing.T) {
		t.Parallel()
		s := storetest.Open(t, external(func(c *conf.Store) {
			c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile = f.ca, f.cert, f.key
		}))
		if err := s.Put(t.Context(), "v/tls", []byte("over TLS"), 0); err != nil {
			t.Fatal(err)
		}
		if err := wantValue(t.Context(), s, "v/tls", "over TLS"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("server name", func(t *testing.T) {
		t.Parallel()
		storetest.Open(t, external(func(c *conf.Store) {
			c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile, c.TLSServerName = f.ca, f.cert, f.key, "etcd.test"
		}))
	})
	refused := map[string]func(*conf.Store){
		"no client certificate": func(c *conf.Store) { c.TLSCAFile = f.ca },
		"unknown CA":            func(c *conf.Store) { c.TLSCertFile, c.TLSKeyFile = f.cert, f.key },
		"wrong server name": func(c *conf.Store) {
			c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile, c.TLSServerName = f.ca, f.cert, f.key, "other.test"
		},
		"no TLS settings": func(c *conf.Store) {},
	}
	for name, mod := range refused {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := store.Open(t.Context(), external(mod), storetest.Logger(t))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Logf("Open: %v", err)
		})
	}
	t.Run("unreadable key", func(t *testing.T) {
		t.Parallel()
		_, err := store.Open(t.Context(), external(func(c *conf.Store) {
			c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile = f.ca, f.cert, f.ca // a certificate, not a key
		}), storetest.Logger(t))
		if err == nil {
			t.Fatal("Open succeeded")
		}
		if want := "store: etcd TLS"; !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("err = %q, want it to start with %q", err, want)
		}
	})
}
