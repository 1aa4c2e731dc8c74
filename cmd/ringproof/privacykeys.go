package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/ringproof/ringproof/conf"
	"github.com/ringproof/ringproof/history"
	"github.com/ringproof/ringproof/privacy"
	"github.com/ringproof/ringproof/store"
)

// The keys that protect personal data at rest and sign what the deployment
// vouches for, the vault they open, and "ringproof privacy rewrap".

// Key files in the embedded store's data dir, used when the configuration
// sets no key. index.key is the name the HMAC key always had.
const (
	hmacKeyFile       = "index.key"
	encryptionKeyFile = "encryption.key"
	signingKeyFile    = "signing.key"
)

// privacyKeyring is what privacyKeys returns.
type privacyKeyring struct {
	idx    *privacy.Index
	ring   *privacy.Keyring
	signer *privacy.Signer
}

// privacyKeys returns the number index, the keyring and the signer, from
// privacy.hmac_key, privacy.encryption_key and privacy.signing_key
// (conf.Validate requires them with an external cluster) or, for a key
// left empty with the embedded store, from a key file in data_dir/keys:
// made on first start when create, else it must exist. Keys kept beside
// the data they protect earn a warning.
func privacyKeys(cfg *conf.Config, create bool, log *slog.Logger) (*privacyKeyring, error) {
	hmacKey, err := cfg.Privacy.HMACKey()
	if err != nil {
		return nil, err
	}
	encKey, err := cfg.Privacy.EncryptionKey()
	if err != nil {
		return nil, err
	}
	oldKeys, err := cfg.Privacy.OldEncryptionKeys()
	if err != nil {
		return nil, err
	}
	signKey, err := cfg.Privacy.SigningKey()
	if err != nil {
		return nil, err
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
			return nil, err
		}
	}
	if encKey == nil {
		if encKey, err = fromFile("privacy.encryption_key", encryptionKeyFile, privacy.EncryptionKeySize); err != nil {
			return nil, err
		}
	}
	if signKey == nil {
		if signKey, err = fromFile("privacy.signing_key", signingKeyFile, privacy.SigningKeySize); err != nil {
			return nil, err
		}
	}
	k := &privacyKeyring{}
	if k.idx, err = privacy.NewIndex(hmacKey); err != nil {
		return nil, err
	}
	if k.ring, err = privacy.NewKeyring(encKey, oldKeys...); err != nil {
		return nil, err
	}
	if k.signer, err = privacy.NewSigner(signKey); err != nil {
		return nil, err
	}
	return k, nil
}

// openVault returns the vault of personal data in st and hist.
func openVault(cfg *conf.Config, st *store.Store, hist history.Store, log *slog.Logger, create bool) (*privacy.Vault, error) {
	k, err := privacyKeys(cfg, create, log)
	if err != nil {
		return nil, err
	}
	return privacy.NewVault(st, privacy.VaultConfig{
		Index:          k.idx,
		Keyring:        k.ring,
		Signer:         k.signer,
		History:        hist,
		Retention:      time.Duration(cfg.Privacy.RetentionDays) * 24 * time.Hour,
		AuditRetention: time.Duration(cfg.Privacy.AuditRetentionDays) * 24 * time.Hour,
		Places:         numberKeyPlaces(),
		Log:            log,
	})
}

// cmdPrivacyRewrap runs "ringproof privacy rewrap": every data key an old
// encryption key wrapped is wrapped again under privacy.encryption_key.
func cmdPrivacyRewrap(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPrivacyFlags("rewrap")
	if code := parseFlags(fs.FlagSet, args, stderr); code >= 0 {
		return code
	}
	s, code := openPrivacy(ctx, "rewrap", *fs.config, stderr)
	if s == nil {
		return code
	}
	defer s.Close()
	n, total, err := s.vault.Rewrap(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "ringproof privacy rewrap: %v\n", err)
		return 1
	}
	return writeDoc(stdout, stderr, map[string]any{"rewrapped": n, "data_keys": total}, "")
}
