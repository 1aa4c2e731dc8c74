package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// cmdHealthcheck asks the server that the configuration describes whether
// it is ready: GET /readyz on http.listen, read from the same file and
// environment as serve (a container's HEALTHCHECK runs it beside serve;
// distroless images have no curl). It exits 0 when the answer is 200, 1
// otherwise, printing why.
func cmdHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	path := configFlag(fs)
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return min(code, 1) // Docker reserves exit status 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof healthcheck: %v\n", err)
		return 1
	}
	url, err := readyURL(cfg.HTTP.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof healthcheck: http.listen: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof healthcheck: %v\n", err)
		return 1
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof healthcheck: %v\n", err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "ringproof healthcheck: not ready: %s %s\n", res.Status, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintf(stdout, "ready: %s\n", strings.TrimSpace(string(body)))
	return 0
}

// readyURL is the /readyz address of a server listening on listen: an
// unspecified host (0.0.0.0, ::) is reached on the loopback address of its
// family.
func readyURL(listen string) (string, error) {
	ap, err := netip.ParseAddrPort(listen)
	if err != nil {
		return "", err
	}
	ip := ap.Addr()
	switch {
	case ip.IsUnspecified() && ip.Is4():
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case ip.IsUnspecified():
		ip = netip.IPv6Loopback()
	}
	return "http://" + net.JoinHostPort(ip.String(), fmt.Sprint(ap.Port())) + "/readyz", nil
}
