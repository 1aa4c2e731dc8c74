package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/ringproof/ringproof/conf"
)

// reloadable reports whether a running node applies a change of key when
// it reloads its configuration (SIGHUP): the http section but http.listen
// and http.result_token_key (its handlers are built anew, with the new
// API, admin and publishable keys), log.level and log.access, and the SIP
// TLS certificate and key. Any other change takes a restart. An http key
// read outside the handlers (as result_token_key is, by the service) must
// be named here as an exception.
func reloadable(key string) bool {
	switch {
	case key == "http.listen", key == "http.result_token_key":
		return false
	case strings.HasPrefix(key, "http."):
		return true
	}
	return slices.Contains([]string{"log.level", "log.access", "sip.tls_cert_file", "sip.tls_key_file"}, key)
}

// reload applies next, the configuration read again, to the running node
// without dropping a call: a new HTTP handler (requests in flight finish on
// the old one), the log level, and the SIP TLS certificate, read again from
// its files even when their names did not change (a certificate renewed in
// place). It returns the keys it applied that changed since the last
// reload, and the keys that differ from what the node started with but
// take a restart. An error (a certificate that does not load) changes
// nothing.
func (s *server) reload(next *conf.Config) (applied, restart []string, err error) {
	var cert *tls.Certificate
	if s.cert != nil && next.SIP.TLSListen != "" {
		c, err := tls.LoadX509KeyPair(next.SIP.TLSCertFile, next.SIP.TLSKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("sip.tls_cert_file %q with sip.tls_key_file %q: %w", next.SIP.TLSCertFile, next.SIP.TLSKeyFile, err)
		}
		cert = &c
	}
	for _, k := range conf.Changed(s.current, next) {
		if reloadable(k) {
			applied = append(applied, k)
		}
	}
	for _, k := range conf.Changed(s.started, next) {
		if !reloadable(k) {
			restart = append(restart, k)
		}
	}
	if cert != nil {
		s.cert.Store(cert)
	}
	if s.level != nil {
		s.level.Set(logLevel(next.Log.Level))
	}
	s.serveWith(next)
	s.current = next
	return applied, restart, nil
}

// serveWith has the HTTP port serve cfg's handler from now on.
func (s *server) serveWith(cfg *conf.Config) {
	h := s.lat.timeHTTP(s.routes(cfg))
	if cfg.Log.Access {
		h = accessLog(s.log.With("component", "http"), cfg, h)
	}
	s.handler.Store(&h)
}

// ServeHTTP serves a request with the handler of the configuration in
// force.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.handler.Load()).ServeHTTP(w, r)
}

// certificate is the SIP TLS certificate, which a reload may replace. The
// TLS configurations present it through their callbacks.
type certificate struct {
	atomic.Pointer[tls.Certificate]
}

// use has server and client present c's certificate from now on, instead
// of the one they were built with.
func (c *certificate) use(server, client *tls.Config) {
	c.Store(&server.Certificates[0])
	server.Certificates = nil
	server.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.Load(), nil }
	client.Certificates = nil
	client.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		cert := c.Load()
		if cri.SupportsCertificate(cert) != nil {
			return &tls.Certificate{}, nil // as crypto/tls does with none that fits
		}
		return cert, nil
	}
}

// logLevel parses a configured level (conf.Validate has checked it).
func logLevel(s string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(s))
	return l
}
