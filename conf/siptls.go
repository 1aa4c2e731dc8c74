package conf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSConfigs loads the files of SIP over TLS. server presents
// TLSCertFile to carriers that connect to sip.tls_listen; client verifies
// the carriers ringproof connects to against TLSCAFile (the system's roots
// when it is empty) and presents the same certificate when asked for one.
// With TLSVerifyClients, server requires a client certificate signed by a
// CA of TLSCAFile. Both are nil when TLSListen is empty. A file that does not load gives a
// *FieldError naming its key.
func (s SIP) TLSConfigs() (server, client *tls.Config, err error) {
	if s.TLSListen == "" {
		return nil, nil, nil
	}
	cert, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile)
	if err != nil {
		return nil, nil, &FieldError{Key: "sip.tls_cert_file", Problem: fmt.Sprintf("%q with sip.tls_key_file %q: %v", s.TLSCertFile, s.TLSKeyFile, err)}
	}
	var roots *x509.CertPool
	if s.TLSCAFile != "" {
		pem, err := os.ReadFile(s.TLSCAFile)
		if err != nil {
			return nil, nil, &FieldError{Key: "sip.tls_ca_file", Problem: err.Error()}
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, nil, &FieldError{Key: "sip.tls_ca_file", Problem: fmt.Sprintf("%q holds no PEM certificate", s.TLSCAFile)}
		}
	}
	server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if s.TLSVerifyClients {
		server.ClientAuth, server.ClientCAs = tls.RequireAndVerifyClientCert, roots
	}
	client = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}
	return server, client, nil
}
