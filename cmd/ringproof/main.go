// Command ringproof is a SIP-native softswitch that verifies that a person
// holds a phone number.
//
//	ringproof serve [--config FILE]   run the server (embedded etcd by default)
//	ringproof phone [call]            a test handset: take calls, or place one
//	ringproof privacy <command>       export, erase, audit personal data
//	ringproof version                 print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the process exit code: 0 on
// success, 1 when the command failed, 2 for a usage or configuration error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stderr)
	case "phone":
		return cmdPhone(ctx, args[1:], stdout, stderr)
	case "privacy":
		return cmdPrivacy(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "ringproof", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "ringproof: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: ringproof <command> [flags]

commands:
  serve     run the server: HTTP API, SIP user agent, state store
            (embedded etcd unless store.endpoints is set)
  phone     a test handset: ring on every INVITE and print the caller ID
            ("phone call" places a call to a system number instead)
  privacy   export or erase what is held about a number, list the audit
            trail ("ringproof privacy" for its commands)
  version   print the version

Run "ringproof <command> -h" for a command's flags.
`)
}

// parseFlags parses a command's flags, printing errors to stderr. It returns
// the exit code to stop with, or -1 to go on.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) int {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ringproof %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2
	}
	return -1
}
