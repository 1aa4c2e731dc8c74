package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ringproof/ringproof/privacy"
)

// cmdPrivacyVerifyReceipt runs "ringproof privacy verify-receipt FILE":
// it checks an erasure receipt's signature against the deployment's
// signing key (from --config), or against --public-key, and with --number
// that the receipt is about that number. It needs no store.
func cmdPrivacyVerifyReceipt(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPrivacyFlags("verify-receipt").withNumber()
	pub := fs.String("public-key", "", "check with this public `key` (hex, as receipts and 'audit --verify' show it) instead of the configuration's")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: ringproof privacy verify-receipt FILE [--config FILE] [--public-key HEX] [--number N [--region R]]")
		fs.PrintDefaults()
	}
	// The file may come before the flags or after them.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
		fs.Parse(fs.Args()[1:])
	}
	if file == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	nr, code := fs.parsedNumber(stderr)
	if code >= 0 {
		return code
	}
	doc, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy verify-receipt: %v\n", err)
		return 2
	}
	var key privacy.Verifier
	var idx *privacy.Index
	if *pub != "" {
		if key, err = privacy.ParsePublicKey(*pub); err != nil {
			fmt.Fprintf(stderr, "ringproof privacy verify-receipt: --public-key: %v\n", err)
			return 2
		}
	}
	if *pub == "" || nr != "" {
		cfg, err := loadConfig(*fs.config)
		if err != nil {
			fmt.Fprintf(stderr, "ringproof: %v\n", err)
			return 2
		}
		k, err := privacyKeys(cfg, false, newLogger(cfg.Log, io.Discard))
		if err != nil {
			fmt.Fprintf(stderr, "ringproof privacy verify-receipt: %v\n", err)
			return 1
		}
		idx = k.idx
		if *pub == "" {
			key = k.signer.Verifier()
		}
	}
	b, err := privacy.VerifyReceipt(doc, key, idx, nr)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy verify-receipt: %s does not verify: %v\n", file, err)
		return 1
	}
	return writeDoc(stdout, stderr, map[string]any{"valid": true, "about_number": nr != "", "receipt": b}, "")
}
