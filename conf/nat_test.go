package conf

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNATAddresses(t *testing.T) {
	tests := []struct {
		name, yaml          string
		sip, bind, offer    string
		problemKey, problem string
	}{
		{name: "defaults: the listen host everywhere", yaml: "",
			sip: "127.0.0.1", bind: "127.0.0.1", offer: "127.0.0.1"},
		{name: "all addresses behind a public one", yaml: "sip: {listen: 0.0.0.0:5060, external_address: 203.0.113.10}",
			sip: "203.0.113.10", bind: "0.0.0.0", offer: "203.0.113.10"},
		{name: "media offered apart", yaml: "sip: {listen: 10.0.0.5:5060, external_address: 203.0.113.10}\nmedia: {rtp_ip: 0.0.0.0, external_ip: 203.0.113.20}",
			sip: "203.0.113.10", bind: "0.0.0.0", offer: "203.0.113.20"},
		{name: "rtp ip without external", yaml: "media: {rtp_ip: 10.0.0.7}",
			sip: "127.0.0.1", bind: "10.0.0.7", offer: "10.0.0.7"},
		{name: "unspecified listen needs an external address", yaml: "sip: {listen: 0.0.0.0:5060}",
			problemKey: "sip.listen", problem: "set sip.external_address"},
		{name: "unspecified tls listen too", yaml: "sip: {tls_listen: \"[::]:5061\", tls_cert_file: conf.go, tls_key_file: conf.go}",
			problemKey: "sip.tls_listen", problem: "set sip.external_address"},
		{name: "external address unspecified", yaml: "sip: {external_address: 0.0.0.0}",
			problemKey: "sip.external_address", problem: "is unspecified"},
		{name: "external address a name", yaml: "sip: {external_address: sip.example.com}",
			problemKey: "sip.external_address", problem: "is not an IP address"},
		{name: "unspecified rtp ip needs something to offer", yaml: "media: {rtp_ip: 0.0.0.0}",
			problemKey: "media.rtp_ip", problem: "set media.external_ip"},
		{name: "external ip with a zone", yaml: "media: {external_ip: \"fe80::1%eth0\"}",
			problemKey: "media.external_ip", problem: "IPv6 zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), nil)
			if tt.problem != "" {
				for _, fe := range FieldErrors(err) {
					if fe.Key == tt.problemKey && strings.Contains(fe.Problem, tt.problem) {
						return
					}
				}
				t.Fatalf("Parse error = %v\nwant a problem at %s containing %q", err, tt.problemKey, tt.problem)
			}
			if err != nil {
				t.Fatal(err)
			}
			bind, offer := c.MediaIPs()
			if c.SIPExternal() != netip.MustParseAddr(tt.sip) || bind != netip.MustParseAddr(tt.bind) || offer != netip.MustParseAddr(tt.offer) {
				t.Errorf("SIP at %v, RTP bound to %v and offered at %v; want %s, %s, %s", c.SIPExternal(), bind, offer, tt.sip, tt.bind, tt.offer)
			}
		})
	}
}
