package sqlite

import (
	"context"
	"embed"
	"fmt"

	"github.com/tillpay/till/internal/migration"
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

// migrate applies pending migrations, each in its own transaction, on the
// write connection before the writer starts. It refuses a database whose
// schema is newer than this build.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	c := s.wconn
	if _, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	var current int
	if err := c.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("sqlite: read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("sqlite: database schema version %d is newer than this build of till knows (%d); upgrade till", current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if _, err := c.ExecContext(ctx, m.SQL); err != nil {
			c.ExecContext(ctx, "ROLLBACK")
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if _, err := c.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, strftime('%s','now'))`, m.Version, m.Name); err != nil {
			c.ExecContext(ctx, "ROLLBACK")
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	return nil
}
