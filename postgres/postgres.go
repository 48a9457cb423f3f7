// Package postgres implements till.Store on PostgreSQL with pgx, for running
// several till serve processes on one database.
//
// The schema has the same semantics as the SQLite store's: a JSON document
// per object beside the columns queries filter on, times as bigint
// microseconds, and a seq column ordering newest-first lists. Update runs its
// function in one READ COMMITTED transaction and runs it again, a bounded
// number of times, when it returns an error wrapping till.ErrStale or when
// PostgreSQL reports a serialization failure or a deadlock. View runs in a
// REPEATABLE READ, READ ONLY transaction: one consistent snapshot.
//
// Concurrency is PostgreSQL's, not a single writer's: unique keys are
// claimed with INSERT … ON CONFLICT DO NOTHING (so a duplicate does not abort
// the transaction), versioned objects are updated only from the version read,
// an idempotency record read in an Update is locked (SELECT … FOR UPDATE),
// and tasks are claimed with FOR UPDATE SKIP LOCKED, so processes sharing the
// database never run the same background work at once.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tillpay/till"
)

// Options tune a Store. The zero value is the production default.
type Options struct {
	// MaxConns bounds the connection pool (default 20). A pool_max_conns
	// parameter in the URL takes precedence.
	MaxConns int32
	// MinConns is how many connections the pool keeps open when idle
	// (default 0). A pool_min_conns parameter in the URL takes precedence.
	MinConns int32
	// StatementTimeout bounds each statement (default 10s; negative for
	// none). A statement_timeout parameter in the URL takes precedence.
	StatementTimeout time.Duration
	// Logger receives the store's own warnings.
	Logger *slog.Logger
	// OnCommit, when set, is told of each committed unit of work and the
	// time its COMMIT took (for /metrics).
	OnCommit till.CommitObserver
}

// Production defaults of Options.
const (
	DefaultMaxConns         = 20
	DefaultStatementTimeout = 10 * time.Second
)

// maxRuns bounds how often Update runs a function whose transaction
// conflicted with another.
const maxRuns = 8

// Store is a till.Store on a PostgreSQL database, and a till.RecordStore
// keeping the simulator's records in the same database.
type Store struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	desc     string
	onCommit till.CommitObserver
}

// Open connects to the database named by url (postgres://… or
// postgresql://…, or a key=value connection string; sslmode, pool_max_conns
// and the other pgx parameters work), applies pending migrations under an
// advisory lock, and checks that commits are durable. It returns an error if
// the database holds a schema newer than this build knows, or if
// synchronous_commit is off. Errors never contain the URL's password.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, parseError(url, err)
	}
	if !hasParam(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
		if opts.MaxConns > 0 {
			cfg.MaxConns = opts.MaxConns
		}
	}
	if !hasParam(url, "pool_min_conns") && opts.MinConns > 0 {
		cfg.MinConns = min(opts.MinConns, cfg.MaxConns)
	}
	rp := cfg.ConnConfig.RuntimeParams
	if _, ok := rp["statement_timeout"]; !ok {
		d := opts.StatementTimeout
		if d == 0 {
			d = DefaultStatementTimeout
		}
		rp["statement_timeout"] = strconv.FormatInt(max(d.Milliseconds(), 0), 10)
	}
	if _, ok := rp["application_name"]; !ok {
		rp["application_name"] = "till"
	}
	if _, ok := rp["synchronous_commit"]; !ok {
		rp["synchronous_commit"] = "on"
	}
	s := &Store{log: opts.Logger, desc: Describe(url), onCommit: opts.OnCommit}
	if err := migrate(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	var sync string
	if err := s.pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&sync); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if sync == "off" {
		s.pool.Close()
		return nil, errors.New("postgres: synchronous_commit is off, so a committed charge could be lost in a crash; remove the setting (Till needs it on)")
	}
	return s, nil
}

// Describe returns where url points, host and database, without user or
// password, for logs and banners.
func Describe(rawURL string) string {
	cfg, err := pgconn.ParseConfig(rawURL)
	if err != nil {
		return redact(rawURL)
	}
	host := cfg.Host
	if strings.HasPrefix(host, "/") {
		host = "unix:" + host
	} else if cfg.Port != 0 && cfg.Port != 5432 {
		host += ":" + strconv.Itoa(int(cfg.Port))
	}
	return host + "/" + cfg.Database
}

// redact hides the user information of a URL it cannot parse.
func redact(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if scheme := strings.Index(u, "://"); scheme > 0 && scheme < at {
			return u[:scheme+3] + "…" + u[at:]
		}
	}
	if strings.Contains(u, "password") {
		return "(a connection string)"
	}
	return u
}

// parseError reports a URL that does not parse without repeating anything
// that may be its password.
func parseError(rawURL string, err error) error {
	msg := err.Error()
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		msg = "malformed"
		if inner := pce.Unwrap(); inner != nil {
			msg = inner.Error()
		}
	}
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "…")
		}
	}
	if at := strings.LastIndex(rawURL, "@"); at > 0 {
		if scheme := strings.Index(rawURL, "://"); scheme > 0 && scheme < at {
			msg = strings.ReplaceAll(msg, rawURL[scheme+3:at], "…")
		}
	}
	return fmt.Errorf("postgres: cannot parse the database URL %s: %s", redact(rawURL), msg)
}

// hasParam reports whether a URL or key=value connection string sets name.
func hasParam(connString, name string) bool {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		return err == nil && u.Query().Has(name)
	}
	for _, f := range strings.Fields(connString) {
		if k, _, ok := strings.Cut(f, "="); ok && strings.TrimSpace(k) == name {
			return true
		}
	}
	return false
}

// String returns the database's host and name.
func (s *Store) String() string { return "postgres " + s.desc }

// Close closes the pool's connections, waiting for those in use to be
// returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// Settings returns the settings in force on the store's connections that
// durability and timeouts depend on (synchronous_commit, fsync,
// statement_timeout, application_name, transaction_isolation and
// server_version), so tests and start-up logs can show them.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range []string{"synchronous_commit", "fsync", "statement_timeout", "application_name",
		"transaction_isolation", "server_version"} {
		var v string
		if err := s.pool.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v); err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		out[name] = v
	}
	return out, nil
}

// Stats returns the pool's statistics.
func (s *Store) Stats() *pgxpool.Stat { return s.pool.Stat() }

// View runs fn in a read-only transaction on a consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(till.Tx) error) error {
	return s.view(ctx, func(t *tx) error { return fn(t) })
}

func (s *Store) view(ctx context.Context, fn func(*tx) error) error {
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: begin read: %w", err)
	}
	defer rollback(ctx, ptx)
	return fn(&tx{tx: ptx})
}

// Update runs fn in one read-write transaction and commits it. It returns
// fn's error, or the commit's. fn is run again (up to eight runs in all,
// after a short random pause) when it returns an error wrapping
// till.ErrStale or when PostgreSQL aborted the transaction for a
// serialization failure or a deadlock.
func (s *Store) Update(ctx context.Context, fn func(till.Tx) error) error {
	return s.updateRetrying(ctx, func(t *tx) error { return fn(t) })
}

// updateRetrying runs fn in a read-write transaction as Update does, again
// after a conflict.
func (s *Store) updateRetrying(ctx context.Context, fn func(*tx) error) error {
	for run := 1; ; run++ {
		err := s.update(ctx, fn)
		if err == nil || !retryable(err) {
			return err
		}
		if run == maxRuns {
			return till.Contended(err)
		}
		s.log.Debug("postgres: running a unit of work again", "run", run+1, "err", err)
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) << min(run, 6)))
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return err
		}
	}
}

// update runs fn once in a read-write transaction and commits it.
func (s *Store) update(ctx context.Context, fn func(*tx) error) error {
	ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	t := &tx{tx: ptx, write: true}
	committed := false
	defer func() {
		if !committed {
			rollback(ctx, ptx)
		}
	}()
	if err := fn(t); err != nil {
		if t.conflict != nil && !retryable(err) {
			// fn swallowed the conflict that aborted its transaction.
			return fmt.Errorf("%w (after %w)", err, t.conflict)
		}
		return err
	}
	if t.conflict != nil {
		return t.conflict
	}
	committed = true
	start := time.Now()
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	if s.onCommit != nil {
		s.onCommit(1, time.Since(start))
	}
	return nil
}

// rollback ends a transaction that is not to be committed. It runs even
// when ctx is done, briefly, so that the connection goes back to the pool
// clean (pgx closes it if the rollback fails).
func rollback(ctx context.Context, ptx pgx.Tx) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = ptx.Rollback(rctx)
}

// Conflict codes after which a transaction is run again.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
)

// retryable reports whether a unit of work that failed with err should run
// again.
func retryable(err error) bool {
	if errors.Is(err, till.ErrStale) {
		return true
	}
	return isConflict(err)
}

func isConflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

var _ till.Store = (*Store)(nil)
