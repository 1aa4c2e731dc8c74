// Command ringproof is a SIP-native softswitch that verifies that a person
// holds a phone number.
//
//	ringproof serve [--config FILE]        run the server (embedded etcd by default)
//	ringproof healthcheck [--config FILE]  exit 0 if the server is ready
//	ringproof phone [call]                 a test handset: take calls, or place one
//	ringproof webhook --secret S           a test receiver of webhooks
//	ringproof privacy <command>            export, erase, audit personal data
//	ringproof version                      print the version
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

	"github.com/ringproof/ringproof/conf"
)

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
	case "healthcheck":
		return cmdHealthcheck(ctx, args[1:], stdout, stderr)
	case "phone":
		return cmdPhone(ctx, args[1:], stdout, stderr)
	case "privacy":
		return cmdPrivacy(ctx, args[1:], stdout, stderr)
	case "webhook":
		return cmdWebhook(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "ringproof", readBuild())
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
  healthcheck
            ask the server that the same configuration describes whether
            it is ready (GET /readyz); exit 0 if it is, 1 if not
  phone     a test handset: ring on every INVITE and print the caller ID
            ("phone call" places a call to a system number instead)
  privacy   export or erase what is held about a number, list the audit
            trail ("ringproof privacy" for its commands)
  webhook   a test receiver of webhooks: print each delivery and whether
            its signature holds
  version   print the version

Run "ringproof <command> -h" for a command's flags.
`)
}

// configFlag defines the --config flag of a command that reads the
// configuration, defaulting to $RINGPROOF_CONFIG.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", os.Getenv(conf.EnvConfig),
		"YAML configuration `file`; default $"+conf.EnvConfig+", else the built-in defaults (see examples/ringproof.yaml)")
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
