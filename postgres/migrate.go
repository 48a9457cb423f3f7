package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/tillpay/till/internal/migration"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in order.
func migrations() ([]migration.Migration, error) {
	return migration.Load(migrationFiles, "migrations")
}

// SchemaVersion returns the highest migration this build knows.
func SchemaVersion() int {
	ms, _ := migrations()
	return migration.Latest(ms)
}

// migrateLockKey is the pg_advisory_lock key under which migrations run, so
// that processes starting together on one database migrate it once: the
// others wait, then find nothing left to do. ("till" in ASCII.)
const migrateLockKey = 0x74696c6c

// migrate applies pending migrations, each in its own transaction, on a
// connection of its own that holds the database's migration lock. It
// refuses a database whose schema is newer than this build. The connection
// runs without a statement timeout: a later migration may rewrite a large
// table, and waiting for another process's migrations is expected.
func migrate(ctx context.Context, cfg *pgx.ConnConfig) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	cfg = cfg.Copy()
	cfg.RuntimeParams["statement_timeout"] = "0"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	// Closing the connection also releases the advisory lock.
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLockKey)); err != nil {
		return fmt.Errorf("postgres: take the migration lock: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("postgres: read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("postgres: database schema version %d is newer than this build of till knows (%d); upgrade till", current, len(ms))
	}
	for _, m := range ms[current:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: the simple protocol runs every statement of the file.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(migrateLockKey)); err != nil {
		return fmt.Errorf("postgres: release the migration lock: %w", err)
	}
	return nil
}
