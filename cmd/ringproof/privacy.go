package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/store"
)

// "ringproof privacy <command>": what compliance staff run. Each command
// has a file of its own (privacyexport.go, privacyerase.go…); this one
// dispatches them and holds what they share: flags, the store they attach
// to, the operator they act as.

// privacyCommands are the privacy commands, by name.
var privacyCommands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) int{
	"export": cmdPrivacyExport,
	"erase":  cmdPrivacyErase,
	"audit":  cmdPrivacyAudit,
	"rewrap": cmdPrivacyRewrap,
	"report": cmdPrivacyReport,

	"verify-receipt": cmdPrivacyVerifyReceipt,
}

// cmdPrivacy runs "ringproof privacy <command>".
func cmdPrivacy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		privacyUsage(stderr)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	cmd, ok := privacyCommands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ringproof privacy: unknown command %q\n", args[0])
		privacyUsage(stderr)
		return 2
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

func privacyUsage(w io.Writer) {
	fmt.Fprint(w, `usage: ringproof privacy <command> [flags]

commands:
  export --number N [--region R] [--out FILE] [--operator NAME]
            print everything held about a number, as one JSON document
  export --numbers FILE --out DIR [--region R] [--state FILE] [--operator NAME]
            export each number of FILE (one a line) to DIR, one document
            each; a run stopped is resumed by running it again
  erase --number N [--region R] [--dry-run] [--receipt FILE] [--operator NAME]
            delete everything held about a number, hang up its calls,
            and print what was deleted, by store and kind, with a signed
            receipt (--receipt writes it to FILE too)
  erase --numbers FILE [--region R] [--receipt DIR] [--state FILE] [--dry-run] [--operator NAME]
            erase each number of FILE in turn, resumable likewise
  audit [--number N [--region R]] [--verify]
            list the audit trail of exports and erasures; --verify checks
            its hash chain and seals and reports the first broken link
  verify-receipt FILE [--public-key HEX] [--number N [--region R]]
            check an erasure receipt's signature (and that it is about N)
  report    what is held of each kind of personal data: how many, the
            oldest and newest, the retention that applies
  rewrap    rewrap data keys under privacy.encryption_key (after a rotation)

Every command takes --config FILE. With the embedded store they work
whether "ringproof serve" runs or not: when it holds the data dir, they
connect to its etcd as a client. export and erase record who acts in the
audit trail: --operator, else $USER, else $LOGNAME; they refuse to act
without one. See docs/privacy.md.
`)
}

// privacyFlags are the flags a privacy command may take.
type privacyFlags struct {
	*flag.FlagSet
	name   string
	config *string
	// number and region, when the command takes a number.
	number, region *string
	// operator, when the command acts on personal data.
	operator *string
	// numbers and state, when it takes numbers in bulk.
	numbers, state *string
}

func newPrivacyFlags(name string) *privacyFlags {
	fs := &privacyFlags{FlagSet: flag.NewFlagSet("privacy "+name, flag.ContinueOnError), name: name}
	fs.config = configFlag(fs.FlagSet)
	return fs
}

// withNumber adds --number and --region.
func (fs *privacyFlags) withNumber() *privacyFlags {
	fs.number = fs.String("number", "", "the phone `number`: E.164, or national with --region")
	fs.region = fs.String("region", "", "ISO 3166 `region` of national numbers, such as GB")
	return fs
}

// withOperator adds --operator.
func (fs *privacyFlags) withOperator() *privacyFlags {
	fs.operator = fs.String("operator", "", "who asks, as the audit trail records it (default $USER, else $LOGNAME)")
	return fs
}

// withBulk adds --numbers and --state.
func (fs *privacyFlags) withBulk() *privacyFlags {
	fs.numbers = fs.String("numbers", "", "a `file` of numbers, one a line (E.164, or national with --region), to do each in turn")
	fs.state = fs.String("state", "", "with --numbers, the `file` that lists (by keyed hash) the numbers done, so that a run stopped is resumed by running it again; default FILE.<command>.state beside the numbers")
	return fs
}

// oneOfNumbers checks that exactly one of --number and --numbers is given
// (and --state only with --numbers), or prints why and returns exit code 2.
func (fs *privacyFlags) oneOfNumbers(stderr io.Writer) int {
	switch {
	case *fs.number == "" && *fs.numbers == "":
		fmt.Fprintf(stderr, "ringproof privacy %s: --number (or --numbers FILE) is required\n", fs.name)
	case *fs.number != "" && *fs.numbers != "":
		fmt.Fprintf(stderr, "ringproof privacy %s: give --number or --numbers, not both\n", fs.name)
	case *fs.state != "" && *fs.numbers == "":
		fmt.Fprintf(stderr, "ringproof privacy %s: --state goes with --numbers\n", fs.name)
	default:
		return -1
	}
	return 2
}

// parsedNumber returns --number in E.164 ("" when not given), or prints
// why it is not a number and returns exit code 2.
func (fs *privacyFlags) parsedNumber(stderr io.Writer) (string, int) {
	if fs.number == nil || *fs.number == "" {
		return "", -1
	}
	n, err := number.Parse(*fs.number, *fs.region)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy %s: %v\n", fs.name, err)
		return "", 2
	}
	return n, -1
}

// actor returns who acts, for the audit trail: --operator, else $USER,
// else $LOGNAME. With none of them, or a name the trail cannot record, it
// prints why and returns exit code 2.
func (fs *privacyFlags) actor(stderr io.Writer) (privacy.Actor, int) {
	name, from := *fs.operator, "--operator"
	for _, env := range []string{"USER", "LOGNAME"} {
		if name == "" {
			name, from = os.Getenv(env), "$"+env
		}
	}
	if name == "" {
		fmt.Fprintf(stderr, "ringproof privacy %s: no operator to record in the audit trail: give --operator NAME (or set $USER or $LOGNAME)\n", fs.name)
		return privacy.Actor{}, 2
	}
	if err := privacy.CheckOperator(name); err != nil {
		fmt.Fprintf(stderr, "ringproof privacy %s: %s: %v\n", fs.name, from, err)
		return privacy.Actor{}, 2
	}
	return privacy.Actor{Operator: name, Via: "cli"}, -1
}

// privacySession is what a privacy command works on: the configuration,
// the state store (attached to a running server's, or opened), the
// history store and the vault over them.
type privacySession struct {
	cfg   *conf.Config
	log   *slog.Logger
	st    *store.Store
	hist  history.Store
	vault *privacy.Vault
}

// openPrivacy loads the configuration at path and opens the stores and the
// vault for command sub. On failure it prints why and returns nil and the
// exit code: 2 for the configuration, 1 for the stores.
func openPrivacy(ctx context.Context, sub, path string, stderr io.Writer) (*privacySession, int) {
	cfg, err := loadConfig(path)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof: %v\n", err)
		return nil, 2
	}
	s := &privacySession{cfg: cfg, log: newLogger(conf.Log{Level: "warn", Format: cfg.Log.Format}, stderr)}
	octx, cancel := context.WithTimeout(ctx, time.Duration(cfg.Store.DialTimeoutS)*time.Second+10*time.Second)
	s.st, err = store.Attach(octx, cfg.Store, s.log)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy %s: no store reachable: %v\n", sub, err)
		return nil, 1
	}
	if s.hist, err = history.Open(ctx, cfg.History, cfg.Store.DataDir); err != nil {
		s.Close()
		fmt.Fprintf(stderr, "ringproof privacy %s: %v\n", sub, err)
		return nil, 1
	}
	if s.vault, err = openVault(cfg, s.st, s.hist, s.log, false); err != nil {
		s.Close()
		fmt.Fprintf(stderr, "ringproof privacy %s: %v\n", sub, err)
		return nil, 1
	}
	return s, -1
}

// Close waits for what the vault does after an erasure, then closes the
// stores.
func (s *privacySession) Close() {
	if s.vault != nil {
		s.vault.Wait()
	}
	if s.hist != nil {
		s.hist.Close()
	}
	if s.st != nil {
		s.st.Close()
	}
}

// writeDoc prints doc as indented JSON to stdout, or to the file out
// (mode 0600) when out is not "". It returns the exit code.
func writeDoc(stdout, stderr io.Writer, doc any, out string) int {
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy: %v\n", err)
		return 1
	}
	data = append(data, '\n')
	if out != "" {
		if err := writeFileAtomic(out, data); err != nil {
			fmt.Fprintf(stderr, "ringproof privacy: %v\n", err)
			return 1
		}
		return 0
	}
	if _, err := stdout.Write(data); err != nil {
		return 1
	}
	return 0
}

// writeFileAtomic writes data to path with mode 0600, through a temporary
// file renamed into place, so that path never holds half a document.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".ringproof-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
