package conf

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/ringproof/ringproof/sip/tlstest"
)

func TestValidateSIPTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	caFile, certFile, keyFile := ca.Files(t, "127.0.0.1")
	_, _, otherKey := ca.Files(t, "127.0.0.1")
	withTLS := func(mod func(s *SIP)) func(c *Config) {
		return func(c *Config) {
			c.SIP.TLSListen, c.SIP.TLSCertFile, c.SIP.TLSKeyFile, c.SIP.TLSCAFile = "127.0.0.1:5061", certFile, keyFile, caFile
			mod(&c.SIP)
		}
	}
	tests := []struct {
		name     string
		mod      func(c *Config)
		key      string
		problem  string // empty: valid
		loadsTLS bool   // TLSConfigs loads the files
	}{
		{"TLS listener and a TLS trunk", func(c *Config) {
			withTLS(func(*SIP) {})(c)
			c.Trunks[0].Transport = "tls"
		}, "", "", true},
		{"TLS listener, system roots", withTLS(func(s *SIP) { s.TLSCAFile = "" }), "", "", true},
		{"cert without listener", func(c *Config) { c.SIP.TLSCertFile = certFile }, "sip.tls_cert_file", "is set but sip.tls_listen is empty", false},
		{"CA without listener", func(c *Config) { c.SIP.TLSCAFile = caFile }, "sip.tls_ca_file", "is set but sip.tls_listen is empty", false},
		{"listener without cert", withTLS(func(s *SIP) { s.TLSCertFile = "" }), "sip.tls_cert_file", "is required with sip.tls_listen", false},
		{"listener without key", withTLS(func(s *SIP) { s.TLSKeyFile = "" }), "sip.tls_key_file", "is required with sip.tls_listen", false},
		{"listener on sip.listen", withTLS(func(s *SIP) { s.TLSListen = s.Listen }), "sip.tls_listen", "is also sip.listen", true},
		{"listener unspecified", withTLS(func(s *SIP) { s.TLSListen = "0.0.0.0:5061" }), "sip.tls_listen", "unspecified", true},
		{"listener without port", withTLS(func(s *SIP) { s.TLSListen = "127.0.0.1" }), "sip.tls_listen", "has no port", true},
		{"cert missing", withTLS(func(s *SIP) { s.TLSCertFile = "no-such-dir/cert.pem" }), "sip.tls_cert_file", "no such file or directory", false},
		{"key of another certificate", withTLS(func(s *SIP) { s.TLSKeyFile = otherKey }), "sip.tls_cert_file", "private key does not match public key", false},
		{"cert that is not PEM", withTLS(func(s *SIP) { s.TLSCertFile = "siptls_test.go" }), "sip.tls_cert_file", "failed to find any PEM data", false},
		{"CA that is not PEM", withTLS(func(s *SIP) { s.TLSCAFile = "siptls_test.go" }), "sip.tls_ca_file", "holds no PEM certificate", false},
		{"CA a directory", withTLS(func(s *SIP) { s.TLSCAFile = "." }), "sip.tls_ca_file", "is a directory", false},
		{"verify clients", withTLS(func(s *SIP) { s.TLSVerifyClients = true }), "", "", true},
		{"verify clients without a CA", withTLS(func(s *SIP) { s.TLSVerifyClients, s.TLSCAFile = true, "" }), "sip.tls_verify_clients", "needs sip.tls_ca_file", true},
		{"verify clients without a listener", func(c *Config) { c.SIP.TLSVerifyClients = true }, "sip.tls_verify_clients", "is set but sip.tls_listen is empty", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mod(c)
			err := c.Validate()
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
			} else {
				found := false
				for _, fe := range FieldErrors(err) {
					found = found || fe.Key == tt.key && strings.Contains(fe.Problem, tt.problem)
				}
				if !found {
					t.Fatalf("Validate() = %v\nwant a problem at %s containing %q", err, tt.key, tt.problem)
				}
			}
			server, client, err := c.SIP.TLSConfigs()
			if tt.loadsTLS != (err == nil && server != nil) {
				t.Fatalf("TLSConfigs() error %v; want configs: %v", err, tt.loadsTLS)
			}
			wantAuth := tls.NoClientCert
			if c.SIP.TLSVerifyClients {
				wantAuth = tls.RequireAndVerifyClientCert
			}
			if tt.loadsTLS && (len(server.Certificates) != 1 || len(client.Certificates) != 1 || (client.RootCAs == nil) != (c.SIP.TLSCAFile == "") || server.ClientAuth != wantAuth) {
				t.Fatalf("TLSConfigs(): server %d certificates, client %d, client roots %v", len(server.Certificates), len(client.Certificates), client.RootCAs)
			}
		})
	}
}
