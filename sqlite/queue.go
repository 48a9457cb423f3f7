package sqlite

import (
	"context"
	"time"

	"github.com/tillpay/till"
)

// QueueDepths counts the queued tasks by kind, and those due at now, on a
// reader (till.QueueCounter).
func (s *Store) QueueDepths(ctx context.Context, now time.Time) ([]till.QueueDepth, error) {
	var out []till.QueueDepth
	err := s.view(ctx, func(t *tx) error {
		rows, err := t.query(ctx, `SELECT kind, COUNT(*), COALESCE(SUM(run_at <= ?), 0) FROM tasks GROUP BY kind ORDER BY kind`, us(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d till.QueueDepth
			if err := rows.Scan(&d.Kind, &d.Queued, &d.Due); err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}
