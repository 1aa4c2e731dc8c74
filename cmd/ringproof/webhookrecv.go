package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ringproof/ringproof/webhook"
)

// cmdWebhook is a test receiver of webhooks, as "phone" is a test handset:
// it listens for deliveries, checks each one's signature with --secret,
// prints the event, and answers 204 (or, with --fail, 503, to watch the
// retries). It runs until interrupted.
func cmdWebhook(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9000", "`host:port` to receive deliveries on (the webhook's url: http://host:port/…)")
	secret := fs.String("secret", "", "the webhook's `secret`, to check Ringproof-Signature (required)")
	fail := fs.Bool("fail", false, "answer every delivery 503, so that ringproof retries it")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *secret == "" {
		fmt.Fprintln(stderr, "ringproof webhook: --secret is required")
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof webhook: %v\n", err)
		return 1
	}
	var mu sync.Mutex // one line at a time
	fmt.Fprintf(stdout, "webhook: listening on http://%s/\n", ln.Addr())
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		check := "signature ok"
		if err := webhook.Verify([]byte(*secret), r.Header.Get(webhook.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			check = "BAD SIGNATURE (" + err.Error() + ")"
		}
		var ev webhook.Event
		json.Unmarshal(body, &ev)
		mu.Lock()
		fmt.Fprintf(stdout, "webhook: %s %s (attempt %s), %s: %s\n", r.Header.Get(webhook.EventHeader), r.Header.Get(webhook.IDHeader),
			r.Header.Get(webhook.AttemptHeader), check, ev.Data)
		mu.Unlock()
		if *fail || check != "signature ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "ringproof webhook: %v\n", err)
		return 1
	}
	return 0
}
