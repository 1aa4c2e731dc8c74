package conf

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// splitHostPort splits s as host:port with a port in 1..65535. On failure
// host and port are empty and problem says what is wrong, quoting s.
func splitHostPort(s string) (host string, port int, problem string) {
	if s == "" {
		return "", 0, "is empty"
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		if _, _, err := net.SplitHostPort(s + ":1"); err == nil {
			return "", 0, fmt.Sprintf("%q has no port", s)
		}
		if strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
			return "", 0, fmt.Sprintf("%q is not host:port (write an IPv6 address as [address]:port)", s)
		}
		return "", 0, fmt.Sprintf("%q is not host:port", s)
	}
	if p == "" {
		return "", 0, fmt.Sprintf("%q has no port", s)
	}
	n, err := strconv.Atoi(p)
	if err != nil || !allDigits(p) || n < 1 || n > 65535 {
		return "", 0, fmt.Sprintf("%q: port %q is not a number in 1..65535", s, p)
	}
	if h == "" {
		return "", 0, fmt.Sprintf("%q has no host", s)
	}
	return h, n, ""
}

// checkListen returns what is wrong with a listen address: host:port where
// host is an IP address (ipv6 in brackets). With reachable, the address is
// also what peers are told to send to, so it may not be unspecified
// (0.0.0.0 or ::).
func checkListen(s string, reachable bool) (problem string) {
	host, _, problem := splitHostPort(s)
	if problem != "" {
		return problem
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Sprintf("%q: host %q is not an IP address", s, host)
	}
	if reachable && ip.IsUnspecified() {
		return fmt.Sprintf("%q: host %s is unspecified; peers see this address in Via and Contact, so give one they can reach", s, host)
	}
	return ""
}

// checkHostPort returns what is wrong with a remote address: host:port where
// host is an IP address or a DNS name.
func checkHostPort(s string) (problem string) {
	host, _, problem := splitHostPort(s)
	if problem != "" {
		return problem
	}
	if !validHost(host) {
		return fmt.Sprintf("%q: host %q is not an IP address or DNS name", s, host)
	}
	return ""
}

// checkEndpoint returns what is wrong with an etcd client endpoint: an
// http:// or https:// URL with a host and port, or a bare host:port.
func checkEndpoint(s string) (problem string) {
	if !strings.Contains(s, "://") {
		return checkHostPort(s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Sprintf("%q: scheme %q is not http or https", s, u.Scheme)
	}
	if p := checkHostPort(u.Host); p != "" {
		return fmt.Sprintf("%q: %s", s, p)
	}
	return ""
}

// checkBindURL returns what is wrong with a URL the embedded etcd listens
// on: http:// or https://, a host that is an IP address or localhost, a
// port, and no path (not even "/"), as etcd requires.
func checkBindURL(s string) (problem string) {
	u, err := url.Parse(s)
	if err != nil || !strings.Contains(s, "://") {
		return fmt.Sprintf("%q is not a URL of the form http://IP:port", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Sprintf("%q: scheme %q is not http or https", s, u.Scheme)
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Sprintf("%q: want only scheme://host:port", s)
	}
	host, _, problem := splitHostPort(u.Host)
	if problem != "" {
		return fmt.Sprintf("%q: %s", s, problem)
	}
	if _, err := netip.ParseAddr(host); err != nil && host != "localhost" {
		return fmt.Sprintf("%q: host %q is not an IP address or localhost", s, host)
	}
	return ""
}

// validHost reports whether h is an IP address or a syntactically valid DNS
// name: dot-separated labels of 1 to 63 letters, digits, '-' or '_', not
// starting or ending with '-', at most 253 characters, one trailing dot
// allowed.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// hasControl reports whether s holds a control character (CR, LF, NUL...),
// which would break a SIP header or an HTTP header it is written into.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}
