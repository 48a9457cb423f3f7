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
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/postgres"
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
	data             string
	databaseURL      string
	maxConns         int
	statementTimeout time.Duration
	// onCommit observes the store's commits (serve sets it for /metrics).
	onCommit till.CommitObserver
}

func (sf *storageFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&sf.data, "data", envOr("TILL_DATA", "./till-data"),
		"`folder` of the embedded SQLite database, the generated master key and the first account's keys (TILL_DATA)")
	fs.StringVar(&sf.databaseURL, "database-url", os.Getenv("TILL_DATABASE_URL"),
		"database `URL`: postgres://user:password@host:5432/db?sslmode=verify-full for PostgreSQL; empty means SQLite in the data folder (TILL_DATABASE_URL)")
	fs.IntVar(&sf.maxConns, "db-max-conns", envInt("TILL_DB_MAX_CONNS", postgres.DefaultMaxConns),
		"most PostgreSQL connections this process opens; pool_max_conns in the URL wins (TILL_DB_MAX_CONNS)")
	fs.DurationVar(&sf.statementTimeout, "db-statement-timeout", envDuration("TILL_DB_STATEMENT_TIMEOUT", postgres.DefaultStatementTimeout),
		"longest a PostgreSQL statement may run before it is cancelled, 0 for no limit (TILL_DB_STATEMENT_TIMEOUT)")
}

// store is an opened store and what the server needs to know of it.
type store struct {
	till.Store
	// records is where the simulator keeps its records when they share
	// the store (PostgreSQL).
	records till.RecordStore
	// exclusive says one server process owns the store (SQLite): leases
	// left by an earlier process can be released at start.
	exclusive bool
	ready     func(ctx context.Context) error
	describe  string
}

// open opens the configured store, applying migrations.
func (sf *storageFlags) open(ctx context.Context, log *slog.Logger) (*store, error) {
	if sf.databaseURL != "" && !isPostgresURL(sf.databaseURL) {
		return nil, fmt.Errorf("unsupported --database-url %q: use a postgres:// or postgresql:// URL, or leave it empty for SQLite", redactURL(sf.databaseURL))
	}
	// The data folder holds a generated master key and the first account's
	// keys on either store.
	if err := os.MkdirAll(sf.data, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	if sf.databaseURL != "" {
		return sf.openPostgres(ctx, log)
	}
	path := filepath.Join(sf.data, "till.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{Logger: log, OnCommit: sf.onCommit})
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

func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// openPostgres opens the PostgreSQL store that several server processes may
// share: it is not exclusive, so leases are never released at start (they
// may belong to a live process) but expire.
func (sf *storageFlags) openPostgres(ctx context.Context, log *slog.Logger) (*store, error) {
	if sf.maxConns < 1 || sf.maxConns > 10000 {
		return nil, usageError{"--db-max-conns must be between 1 and 10000"}
	}
	timeout := sf.statementTimeout
	if timeout == 0 {
		timeout = -1 // no limit
	}
	st, err := postgres.Open(ctx, sf.databaseURL, postgres.Options{
		MaxConns: int32(sf.maxConns), StatementTimeout: timeout, Logger: log, OnCommit: sf.onCommit})
	if err != nil {
		return nil, err
	}
	return &store{Store: st, records: st, exclusive: false, describe: st.String(), ready: st.Ping}, nil
}

// simulatorStore opens where the test-mode simulator keeps its own record,
// as an external processor would keep it apart from Till's: on SQLite a
// database file of its own beside till.db (with its own writer, so its
// commits run in parallel with Till's); on PostgreSQL the shared database,
// so that every process sees it. The returned func closes what it opened.
func (sf *storageFlags) simulatorStore(ctx context.Context, st *store, log *slog.Logger) (till.RecordStore, func(), error) {
	if !st.exclusive {
		return st.records, func() {}, nil
	}
	sim, err := sqlite.Open(ctx, filepath.Join(sf.data, "simulator.db"), sqlite.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return sim, func() { sim.Close() }, nil
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
