package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/sip"
)

// cmdPhone is a test handset: a user's phone behind a carrier, for demos
// and tests. It rings on INVITEs (and, with --answer, answers them) and
// prints the texts (SIP MESSAGE) it gets.
//
//	ringproof phone [--listen ADDR] [--code-length N]     ring on every INVITE
//	ringproof phone --answer [--tone HZ] [--record FILE]  answer them
//	ringproof phone call --from N --to N --server ADDR    call a system number
//
// Both take --tls-listen, --tls-cert, --tls-key and --tls-ca for SIP over
// TLS.
func cmdPhone(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "call" {
		return cmdPhoneCall(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("phone", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:5070", "`address` to take calls on (UDP and TCP); ringproof's default trunk points here")
	codeLen := fs.Int("code-length", 4, "print the flash-call code of a call hung up before it was answered: the caller ID's last `N` digits (0: don't)")
	ringFor := fs.Duration("ring", 60*time.Second, "ring this long when nobody cancels, then reject with 480 (without --answer)")
	count := fs.Int("count", 0, "exit after `N` calls have ended or texts have come (0: run until interrupted)")
	answer := fs.Bool("answer", false, "answer calls (after --answer-after), with audio: voice calls, keypad calls and masked calls go through")
	answerAfter := fs.Duration("answer-after", time.Second, "with --answer, ring this long before answering (a flash call is hung up before)")
	tone := fs.Float64("tone", 0, "with --answer, play a tone of this many `Hz` (0: send silence)")
	silent := fs.Bool("silent", false, "with --answer, send no RTP at all, as a phone with voice activity detection does while it listens")
	noSRTP := fs.Bool("no-srtp", false, "with --answer, answer an SRTP offer (RTP/SAVP) with clear RTP, as a carrier without SRTP does (for tests: the caller must refuse it)")
	record := fs.String("record", "", "with --answer, record what the phone hears to this WAV `file` (8 kHz, mono, 16-bit; a second call to file-2.wav, and so on)")
	tlsFlags := addTLSFlags(fs)
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if !*answer && (*tone != 0 || *silent || *record != "" || *noSRTP) {
		fmt.Fprintln(stderr, "ringproof phone: --tone, --silent, --record and --no-srtp need --answer")
		return 2
	}
	opts := sip.Options{Listen: *listen, UserAgent: "ringproof-phone", Logger: quietLogger(stderr)}
	if err := tlsFlags.apply(&opts); err != nil {
		fmt.Fprintf(stderr, "ringproof phone: %v\n", err)
		return 2
	}
	ep, err := sip.Listen(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof phone: %v\n", err)
		return 1
	}
	defer ep.Close()
	if a := ep.TLSAddr(); a.IsValid() {
		fmt.Fprintf(stdout, "phone: listening on %s (udp, tcp) and %s (tls)\n", ep.Addr(), a)
	} else {
		fmt.Fprintf(stdout, "phone: listening on %s (udp, tcp)\n", ep.Addr())
	}

	var (
		mu    sync.Mutex
		ended int
		done  = make(chan struct{})
	)
	endOne := func() { // with mu held
		ended++
		if *count > 0 && ended == *count {
			close(done)
		}
	}
	ep.ServeTexts(func(m sip.TextMessage) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, "phone: text from %s to %s: %s\n", m.From, m.To, m.Body)
		endOne()
	})
	calls := map[sip.Ring]*phoneCall{}
	report := func(r sip.Ring, what string) {
		mu.Lock()
		defer mu.Unlock()
		after := time.Since(r.At).Round(time.Millisecond)
		switch what {
		case sip.RingRinging:
			line := fmt.Sprintf("phone: ringing: call from %s to %s", r.CallerID, r.To)
			if r.Transport != "UDP" {
				line += " over " + strings.ToLower(r.Transport)
			}
			fmt.Fprintln(stdout, line)
			return
		case sip.RingAnswered:
			c := calls[r]
			fmt.Fprintf(stdout, "phone: answered: call from %s to %s (%s)\n", r.CallerID, r.To, c.describe())
			return
		case sip.RingCancelled:
			// Hung up by the caller before it was answered: a missed call,
			// whose caller ID is what a flash call is about.
			if c := calls[r]; c != nil {
				c.close() // answered, but the caller was gone before its ACK
			}
			line := fmt.Sprintf("phone: cancelled: call from %s to %s after %v", r.CallerID, r.To, after)
			if *codeLen > 0 && len(r.CallerID) > *codeLen {
				line += fmt.Sprintf(" (flash-call code %s)", r.CallerID[len(r.CallerID)-*codeLen:])
			}
			fmt.Fprintln(stdout, line)
		case sip.RingHungUp:
			c := calls[r]
			fmt.Fprintf(stdout, "phone: hung up: call from %s after %v, %s\n", r.CallerID, after, c.summary())
		default:
			fmt.Fprintf(stdout, "phone: %s: call from %s after %v\n", what, r.CallerID, after)
		}
		delete(calls, r)
		endOne()
	}
	if *answer {
		var recorded int
		ep.ServeAnsweringHandset(*answerAfter, func(r sip.Ring, offer []byte) ([]byte, func(context.Context, *sip.Dialog), error) {
			mu.Lock()
			file := ""
			if *record != "" {
				if recorded++; recorded == 1 {
					file = *record
				} else {
					file = strings.TrimSuffix(*record, ".wav") + fmt.Sprintf("-%d.wav", recorded)
				}
			}
			mu.Unlock()
			c, answerSDP, err := newPhoneCall(ctx, ep.Addr().Addr(), offer, phoneAudio{tone: *tone, silent: *silent, record: file, noSRTP: *noSRTP})
			if err != nil {
				return nil, nil, err
			}
			mu.Lock()
			calls[r] = c
			mu.Unlock()
			return answerSDP, c.talk, nil
		}, report)
	} else {
		ep.ServeHandset(*ringFor, report)
	}
	select {
	case <-ctx.Done():
	case <-done:
	}
	return 0
}

// cmdPhoneCall places a call to a system number, as a user verifying by a
// missed call would, and prints how it ended.
func cmdPhoneCall(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("phone call", flag.ContinueOnError)
	from := fs.String("from", "", "the caller's `number`, E.164 (required)")
	to := fs.String("to", "", "the system `number` to call, E.164 (required)")
	server := fs.String("server", "127.0.0.1:5060", "ringproof's SIP `address`")
	transport := fs.String("transport", "udp", "udp, tcp or tls (tls needs --tls-listen, --tls-cert and --tls-key)")
	listen := fs.String("listen", "127.0.0.1:0", "local SIP `address` (port 0: any)")
	anonymous := fs.Bool("anonymous", false, "withhold the caller ID (Privacy: id)")
	timeout := fs.Duration("timeout", 30*time.Second, "hang up (CANCEL) if no final response by then")
	tlsFlags := addTLSFlags(fs)
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if *from == "" || *to == "" {
		fmt.Fprintln(stderr, "ringproof phone call: --from and --to are required")
		return 2
	}
	opts := sip.Options{Listen: *listen, UserAgent: "ringproof-phone", Logger: quietLogger(stderr)}
	if err := tlsFlags.apply(&opts); err != nil {
		fmt.Fprintf(stderr, "ringproof phone call: %v\n", err)
		return 2
	}
	if *transport == "tls" && opts.TLSListen == "" {
		fmt.Fprintln(stderr, "ringproof phone call: --transport tls needs --tls-listen, --tls-cert and --tls-key")
		return 2
	}
	ep, err := sip.Listen(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof phone call: %v\n", err)
		return 1
	}
	defer ep.Close()
	call := sip.Call{
		Trunk:     sip.Trunk{Name: "ringproof", Address: *server, Transport: *transport},
		From:      *from,
		To:        *to,
		Anonymous: *anonymous,
	}
	final := ep.Flash(ctx, call, sip.FlashOptions{KeepRinging: true, Timeout: *timeout}, func(ev sip.Event) {
		switch ev.Kind {
		case sip.EventDialing:
			fmt.Fprintf(stdout, "phone: calling %s from %s via %s\n", *to, *from, *server)
		case sip.EventRinging:
			fmt.Fprintf(stdout, "phone: ringing (%d)\n", ev.Status)
		}
	})
	switch final.Kind {
	case sip.EventFailed:
		if final.Status == 0 {
			fmt.Fprintf(stdout, "phone: call failed: %s\n", final.Reason)
			return 1
		}
		fmt.Fprintf(stdout, "phone: rejected: %d %s\n", final.Status, final.Reason)
		return 0
	case sip.EventHungUp:
		fmt.Fprintf(stdout, "phone: answered (%d), hung up\n", final.Status)
		return 0
	default:
		fmt.Fprintf(stdout, "phone: %s %s\n", final.Kind, final.Reason)
		return 1
	}
}

// tlsFlags are the handset's settings for SIP over TLS, as in the
// server's configuration (conf.SIP).
type tlsFlags struct{ listen, cert, key, ca *string }

func addTLSFlags(fs *flag.FlagSet) tlsFlags {
	return tlsFlags{
		listen: fs.String("tls-listen", "", "also take SIP over TLS on this `address` (needs --tls-cert and --tls-key)"),
		cert:   fs.String("tls-cert", "", "PEM certificate `file` for TLS"),
		key:    fs.String("tls-key", "", "PEM key `file` of --tls-cert"),
		ca:     fs.String("tls-ca", "", "PEM `file` of the CAs that sign the other side's certificate (default: the system's roots)"),
	}
}

// apply loads the TLS files into o, checked as the server checks its own.
func (f tlsFlags) apply(o *sip.Options) error {
	c := conf.SIP{TLSListen: *f.listen, TLSCertFile: *f.cert, TLSKeyFile: *f.key, TLSCAFile: *f.ca}
	if c.TLSListen == "" {
		if c.TLSCertFile != "" || c.TLSKeyFile != "" || c.TLSCAFile != "" {
			return fmt.Errorf("--tls-cert, --tls-key and --tls-ca need --tls-listen")
		}
		return nil
	}
	if c.TLSCertFile == "" || c.TLSKeyFile == "" {
		return fmt.Errorf("--tls-listen needs --tls-cert and --tls-key")
	}
	server, client, err := c.TLSConfigs()
	if err != nil {
		return err
	}
	o.TLSListen, o.TLSServer, o.TLSClient = c.TLSListen, server, client
	return nil
}

// quietLogger keeps sipgo's chatter out of the handset's output.
func quietLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
}
