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
	"github.com/ringproof/ringproof/masking"
	"github.com/ringproof/ringproof/number"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/store"
	"github.com/ringproof/ringproof/verify"
)

// Privacy: the keys that protect personal data at rest and the privacy
// commands (export, erase, audit, rewrap). The admin API over the same
// operations is privacy.NewHandler.

// Key files in the embedded store's data dir, used when the configuration
// sets no key. index.key is the name the HMAC key always had.
const (
	hmacKeyFile       = "index.key"
	encryptionKeyFile = "encryption.key"
)

// privacyKeys returns the number index and the keyring, from
// privacy.hmac_key and privacy.encryption_key (conf.Validate requires both
// with an external cluster) or, for a key left empty with the embedded
// store, from a key file in data_dir/keys: made on first start when
// create, else it must exist. Keys kept beside the data they protect earn
// a warning.
func privacyKeys(cfg *conf.Config, create bool, log *slog.Logger) (*privacy.Index, *privacy.Keyring, error) {
	hmacKey, err := cfg.Privacy.HMACKey()
	if err != nil {
		return nil, nil, err
	}
	encKey, err := cfg.Privacy.EncryptionKey()
	if err != nil {
		return nil, nil, err
	}
	oldKeys, err := cfg.Privacy.OldEncryptionKeys()
	if err != nil {
		return nil, nil, err
	}
	fromFile := func(setting, file string, size int) ([]byte, error) {
		if len(cfg.Store.Endpoints) > 0 {
			return nil, fmt.Errorf("%s is required with an external etcd cluster", setting)
		}
		path := filepath.Join(cfg.Store.DataDir, "keys", file)
		var key []byte
		if create {
			var made bool
			if key, made, err = privacy.LoadOrCreateKey(path); err != nil {
				return nil, err
			}
			if made {
				log.Warn(setting+" is not set: generated a key in "+path+"; back it up, or set "+setting+" to keep the key apart from the data it protects", "setting", setting)
			} else {
				log.Warn(setting+" is not set: using the key generated in "+path, "setting", setting)
			}
		} else if key, err = privacy.LoadKey(path); err != nil {
			return nil, fmt.Errorf("%s is not set and %w", setting, err)
		}
		return key[:size], nil
	}
	if hmacKey == nil {
		if hmacKey, err = fromFile("privacy.hmac_key", hmacKeyFile, privacy.KeySize); err != nil {
			return nil, nil, err
		}
	}
	if encKey == nil {
		if encKey, err = fromFile("privacy.encryption_key", encryptionKeyFile, privacy.EncryptionKeySize); err != nil {
			return nil, nil, err
		}
	}
	idx, err := privacy.NewIndex(hmacKey)
	if err != nil {
		return nil, nil, err
	}
	ring, err := privacy.NewKeyring(encKey, oldKeys...)
	if err != nil {
		return nil, nil, err
	}
	return idx, ring, nil
}

// openVault returns the vault of personal data in st and hist.
func openVault(cfg *conf.Config, st *store.Store, hist history.Store, log *slog.Logger, create bool) (*privacy.Vault, error) {
	idx, ring, err := privacyKeys(cfg, create, log)
	if err != nil {
		return nil, err
	}
	return privacy.NewVault(st, privacy.VaultConfig{
		Index:     idx,
		Keyring:   ring,
		History:   hist,
		Retention: time.Duration(cfg.Privacy.RetentionDays) * 24 * time.Hour,
		Places:    append(verify.NumberKeyPlaces(), masking.Places()...),
		Log:       log,
	})
}

// cmdPrivacy runs "ringproof privacy <export|erase|audit|rewrap>".
func cmdPrivacy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		privacyUsage(stderr)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("privacy "+sub, flag.ContinueOnError)
	path := configFlag(fs)
	var (
		num, region, operator, out *string
		dryRun                     *bool
	)
	switch sub {
	case "export", "erase", "audit":
		num = fs.String("number", "", "the phone `number`: E.164, or national with --region")
		region = fs.String("region", "", "ISO 3166 `region` of a national --number, such as GB")
	case "rewrap":
	default:
		fmt.Fprintf(stderr, "ringproof privacy: unknown command %q\n", sub)
		privacyUsage(stderr)
		return 2
	}
	if sub == "export" || sub == "erase" {
		operator = fs.String("operator", os.Getenv("USER"), "who asks, for the audit trail (default $USER)")
	}
	if sub == "export" {
		out = fs.String("out", "", "write the export to `file` (mode 0600) instead of standard output")
	}
	if sub == "erase" {
		dryRun = fs.Bool("dry-run", false, "count what would be erased; erase nothing")
	}
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if num != nil && *num == "" && sub != "audit" {
		fmt.Fprintf(stderr, "ringproof privacy %s: --number is required\n", sub)
		return 2
	}
	var e164 string
	if num != nil && *num != "" {
		n, err := number.Parse(*num, *region)
		if err != nil {
			fmt.Fprintf(stderr, "ringproof privacy %s: %v\n", sub, err)
			return 2
		}
		e164 = n
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof: %v\n", err)
		return 2
	}
	log := newLogger(conf.Log{Level: "warn", Format: cfg.Log.Format}, stderr)
	octx, cancel := context.WithTimeout(ctx, time.Duration(cfg.Store.DialTimeoutS)*time.Second+10*time.Second)
	st, err := store.Attach(octx, cfg.Store, log)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy %s: no store reachable: %v\n", sub, err)
		return 1
	}
	defer st.Close()
	hist, err := history.Open(ctx, cfg.History, cfg.Store.DataDir)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy %s: %v\n", sub, err)
		return 1
	}
	defer hist.Close()
	vault, err := openVault(cfg, st, hist, log, false)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy %s: %v\n", sub, err)
		return 1
	}
	var by privacy.Actor
	if operator != nil {
		by = privacy.Actor{Operator: *operator, Via: "cli"}
	}

	var doc any
	switch sub {
	case "export":
		doc, err = vault.Export(ctx, e164, by)
	case "erase":
		doc, err = vault.Erase(ctx, e164, *dryRun, by)
	case "audit":
		var entries []privacy.AuditEntry
		if entries, err = vault.Audit(ctx, e164); err == nil {
			doc = map[string]any{"entries": entries}
		}
	case "rewrap":
		var n, total int
		if n, total, err = vault.Rewrap(ctx); err == nil {
			doc = map[string]any{"rewrapped": n, "data_keys": total}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy %s: %v\n", sub, err)
		return 1
	}
	data, _ := json.MarshalIndent(doc, "", "  ")
	data = append(data, '\n')
	if out != nil && *out != "" {
		if err := os.WriteFile(*out, data, 0o600); err != nil {
			fmt.Fprintf(stderr, "ringproof privacy export: %v\n", err)
			return 1
		}
		return 0
	}
	if _, err := stdout.Write(data); err != nil {
		return 1
	}
	return 0
}

func privacyUsage(w io.Writer) {
	fmt.Fprint(w, `usage: ringproof privacy <command> [flags]

commands:
  export --number N [--region R] [--out FILE] [--operator NAME]
            print everything held about a number, as one JSON document
  erase --number N [--region R] [--dry-run] [--operator NAME]
            delete everything held about a number, hang up its calls,
            and print what was deleted, by kind
  audit [--number N [--region R]]
            list the audit trail of exports and erasures
  rewrap    rewrap data keys under privacy.encryption_key (after a rotation)

Every command takes --config FILE. With the embedded store they work
whether "ringproof serve" runs or not: when it holds the data dir, they
connect to its etcd as a client. See docs/privacy.md.
`)
}
