package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadyURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/readyz",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		"[::]:8080":      "http://[::1]:8080/readyz",
		"[::1]:9":        "http://[::1]:9/readyz",
		"10.1.2.3:80":    "http://10.1.2.3:80/readyz",
	} {
		if got, err := readyURL(listen); err != nil || got != want {
			t.Errorf("readyURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
}

func TestHealthcheckAsksTheConfiguredServer(t *testing.T) {
	t.Parallel()
	srv := startServer(t, testConfig(t, "127.0.0.1:9")) // no call is placed
	healthcheck := func(listen string) (int, string) {
		path := filepath.Join(t.TempDir(), "ringproof.yaml")
		if err := os.WriteFile(path, []byte(fmt.Sprintf("http:\n  listen: %q\n", listen)), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		code := run(t.Context(), []string{"healthcheck", "--config", path}, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := healthcheck(srv.HTTPAddr().String()); code != 0 || !strings.Contains(out, "ready") {
		t.Fatalf("healthcheck of a ready server: exit %d, %q", code, out)
	}
	// Nothing listens on a port freshly picked.
	free := fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
	if code, out := healthcheck(free); code != 1 || !strings.Contains(out, "refused") {
		t.Fatalf("healthcheck of no server: exit %d, %q; want 1, connection refused", code, out)
	}
}
