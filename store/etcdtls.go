package store

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// etcdCerts are the PEM files of the embedded etcd's TLS client port
// (store.client_url): a CA of its own, the certificate the port presents,
// and the one clients present. They live in the data dir's keys/, mode
// 0600: whoever can read them is a client.
type etcdCerts struct {
	CA, CAKey, ServerCert, ServerKey, ClientCert, ClientKey string
}

// certValidity is how long generated certificates last. They never leave
// the host and are made again when missing.
const certValidity = 10 * 365 * 24 * time.Hour

// etcdCertFiles names the files in dir.
func etcdCertFiles(dir string) etcdCerts {
	return etcdCerts{
		CA:         filepath.Join(dir, "etcd-ca.crt"),
		CAKey:      filepath.Join(dir, "etcd-ca.key"),
		ServerCert: filepath.Join(dir, "etcd-server.crt"),
		ServerKey:  filepath.Join(dir, "etcd-server.key"),
		ClientCert: filepath.Join(dir, "etcd-client.crt"),
		ClientKey:  filepath.Join(dir, "etcd-client.key"),
	}
}

// ensureEtcdCerts returns the certificate files in dir, making them on
// first use: a CA, a server certificate for the loopback names and host,
// and a client certificate. A server certificate that does not name host
// is made again; a missing CA remakes everything.
func ensureEtcdCerts(dir, host string) (etcdCerts, error) {
	f := etcdCertFiles(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, fmt.Errorf("store: etcd certificates: %w", err)
	}
	ca, caKey, err := loadCA(f)
	if err != nil {
		if ca, caKey, err = makeCA(f); err != nil {
			return f, err
		}
		// A new CA: the certificates it did not sign are worthless.
		for _, p := range []string{f.ServerCert, f.ClientCert} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return f, fmt.Errorf("store: etcd certificates: %w", err)
			}
		}
	}
	if !certNames(f.ServerCert, f.ServerKey, host) {
		ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		if ip := net.ParseIP(host); ip != nil {
			ips = append(ips, ip)
		}
		tmpl := leaf("ringproof etcd", x509.ExtKeyUsageServerAuth)
		tmpl.IPAddresses, tmpl.DNSNames = ips, []string{"localhost"}
		if err := issue(ca, caKey, tmpl, f.ServerCert, f.ServerKey); err != nil {
			return f, err
		}
	}
	if _, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey); err != nil {
		if err := issue(ca, caKey, leaf("ringproof", x509.ExtKeyUsageClientAuth), f.ClientCert, f.ClientKey); err != nil {
			return f, err
		}
	}
	return f, nil
}

// loadCA reads the CA's certificate and key.
func loadCA(f etcdCerts) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(f.CA, f.CAKey)
	if err != nil {
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("CA key is not ECDSA")
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	return cert, key, err
}

// makeCA writes a new CA's certificate and key.
func makeCA(f etcdCerts) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("store: etcd CA key: %w", err)
	}
	tmpl := leaf("ringproof etcd CA", 0)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage, tmpl.ExtKeyUsage = x509.KeyUsageCertSign, nil
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("store: etcd CA: %w", err)
	}
	if err := writePair(f.CA, f.CAKey, der, key); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// leaf is the template of a certificate named cn for usage.
func leaf(cn string, usage x509.ExtKeyUsage) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
}

// issue signs tmpl with the CA and writes the certificate and a new key.
func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate, certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("store: etcd certificate key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("store: etcd certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return writePair(certPath, keyPath, der, key)
}

// writePair writes a certificate and its key as PEM files of mode 0600.
func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("store: %s: %w", keyPath, err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// certNames reports whether the key pair at certPath and keyPath loads,
// is still valid for a month, and names host.
func certNames(certPath, keyPath, host string) bool {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return false
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil || time.Until(cert.NotAfter) < 30*24*time.Hour {
		return false
	}
	return cert.VerifyHostname(host) == nil
}
