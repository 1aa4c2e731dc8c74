package fraud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Client is who sent an API request, as far as limits go.
type Client struct {
	// Key identifies the bearer token the request presented: a hash, never
	// the token. Empty when it presented none.
	Key string
	// IP is the client's address: the peer's, or from X-Forwarded-For
	// when the peer is a trusted proxy. Invalid when unknown.
	IP netip.Addr
}

type clientKey struct{}

// WithClient returns ctx carrying c, for the guard to find.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the client ctx carries, if any: requests the server
// makes itself (a fallback link) carry none.
func ClientFrom(ctx context.Context) (Client, bool) {
	c, ok := ctx.Value(clientKey{}).(Client)
	return c, ok
}

// Clients tells who sent a request. Only a request whose peer is one of
// the trusted proxies has its client taken from X-Forwarded-For: the
// nearest address there (reading from the right) that is not itself a
// trusted proxy. Anything else could be forged by the client.
type Clients struct {
	trusted []netip.Prefix
}

// NewClients trusts the proxies at trusted (http.trusted_proxies).
func NewClients(trusted []netip.Prefix) *Clients { return &Clients{trusted: trusted} }

// Of returns r's client.
func (c *Clients) Of(r *http.Request) Client {
	cl := Client{IP: peer(r)}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
		sum := sha256.Sum256([]byte(tok))
		cl.Key = hex.EncodeToString(sum[:12])
	}
	if !c.isTrusted(cl.IP) {
		return cl
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		list := strings.Split(hops[i], ",")
		for j := len(list) - 1; j >= 0; j-- {
			ip, err := netip.ParseAddr(strings.TrimSpace(list[j]))
			if err != nil {
				return cl // garbage: go no further than the last proxy
			}
			cl.IP = ip.Unmap()
			if !c.isTrusted(cl.IP) {
				return cl
			}
		}
	}
	return cl
}

// Middleware has every request to h carry its client (WithClient).
func (c *Clients) Middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner := r.WithContext(WithClient(r.Context(), c.Of(r)))
		h.ServeHTTP(w, inner)
		r.Pattern = inner.Pattern // the route h matched, for whoever times requests
	})
}

func (c *Clients) isTrusted(ip netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// peer is the address r came from.
func peer(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// ipSubject is the address limits count by: an IPv4 address, or an IPv6
// address's /64 (one subscriber's, which a client can change at will).
func ipSubject(ip netip.Addr) string {
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		return p.String()
	}
	return ip.String()
}
