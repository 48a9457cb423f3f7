package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/tillpay/till"
	"github.com/tillpay/till/sqlite"
	"github.com/tillpay/till/vault"
)

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// parseFlags parses args, turning flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// storageFlags are the flags every command that touches the database
// accepts.
type storageFlags struct {
	data        string
	databaseURL string
}

func (sf *storageFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&sf.data, "data", envOr("TILL_DATA", "./till-data"),
		"`folder` of the embedded SQLite database, the generated master key and the first account's keys (TILL_DATA)")
	fs.StringVar(&sf.databaseURL, "database-url", os.Getenv("TILL_DATABASE_URL"),
		"database `URL`; empty means SQLite in the data folder (TILL_DATABASE_URL)")
}

// store is an opened store and what the server needs to know of it.
type store struct {
	till.Store
	// exclusive says one server process owns the store (SQLite): leases
	// left by an earlier process can be released at start.
	exclusive bool
	ready     func(ctx context.Context) error
	describe  string
}

// open opens the configured store, applying migrations.
func (sf *storageFlags) open(ctx context.Context, log *slog.Logger) (*store, error) {
	if sf.databaseURL != "" {
		return nil, fmt.Errorf("unsupported --database-url %q: this build of till stores data in SQLite only (leave it empty)", redactURL(sf.databaseURL))
	}
	if err := os.MkdirAll(sf.data, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	path := filepath.Join(sf.data, "till.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return &store{
		Store: st, exclusive: true, describe: "sqlite " + path,
		ready: func(ctx context.Context) error {
			return st.View(ctx, func(tx till.Tx) error { _, err := tx.CountAccounts(ctx); return err })
		},
	}, nil
}

// redactURL hides a password in a database URL.
func redactURL(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if scheme := strings.Index(u, "://"); scheme > 0 && scheme < at {
			return u[:scheme+3] + "…" + u[at:]
		}
	}
	return u
}

// openKeyring loads the master keys (TILL_MASTER_KEY, or a key file
// generated in the data folder) and the data keys in the store, creating and
// re-wrapping data keys as needed.
func openKeyring(ctx context.Context, st till.Store, dataDir string) (*vault.Keyring, string, error) {
	var master []vault.MasterKey
	source := "TILL_MASTER_KEY"
	if env := os.Getenv("TILL_MASTER_KEY"); env != "" {
		var err error
		if master, err = vault.ParseMasterKeys(env); err != nil {
			return nil, "", fmt.Errorf("TILL_MASTER_KEY: %w", err)
		}
	} else {
		path := filepath.Join(dataDir, "master.key")
		mk, err := vault.LoadOrCreateMasterKeyFile(path)
		if err != nil {
			return nil, "", err
		}
		master, source = []vault.MasterKey{mk}, path
	}
	kr := vault.NewKeyring(master, till.RandomIDs{}.NewID, till.SystemClock{}.Now)
	err := st.Update(ctx, func(tx till.Tx) error {
		existing, err := tx.DataKeys(ctx)
		if err != nil {
			return err
		}
		created, rewrapped, err := kr.Load(existing)
		if err != nil {
			return err
		}
		for _, k := range created {
			if err := tx.CreateDataKey(ctx, k); err != nil {
				return err
			}
		}
		for _, k := range rewrapped {
			if err := tx.UpdateDataKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("load encryption keys: %w", err)
	}
	return kr, source, nil
}
