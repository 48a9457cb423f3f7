package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpay/till"
)

// QueueDepths counts the queued tasks by kind, and those due at now
// (till.QueueCounter).
func (s *Store) QueueDepths(ctx context.Context, now time.Time) ([]till.QueueDepth, error) {
	var out []till.QueueDepth
	err := s.view(ctx, func(t *tx) error {
		return t.rows(ctx, `SELECT kind, COUNT(*), COUNT(*) FILTER (WHERE run_at <= $1) FROM tasks GROUP BY kind ORDER BY kind`,
			[]any{us(now)}, func(rows pgx.Rows) error {
				var d till.QueueDepth
				if err := rows.Scan(&d.Kind, &d.Queued, &d.Due); err != nil {
					return err
				}
				out = append(out, d)
				return nil
			})
	})
	return out, err
}
