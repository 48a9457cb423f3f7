package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tillpay/till"
)

const eventColumns = `id, account_id, livemode, type, object_type, object_id, object_version, data, created_at`

func scanEvent(scan func(dest ...any) error) (*till.Event, error) {
	var e till.Event
	var live int
	var created int64
	if err := scan(&e.ID, &e.AccountID, &live, &e.Type, &e.ObjectType, &e.ObjectID, &e.ObjectVersion, &e.Data, &created); err != nil {
		return nil, err
	}
	e.Livemode, e.CreatedAt = live == 1, fromUS(created)
	return &e, nil
}

func (t *tx) Event(ctx context.Context, s till.Scope, id string) (*till.Event, error) {
	st, err := t.stmt(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ? AND account_id = ? AND livemode = ?`)
	if err != nil {
		return nil, err
	}
	e, err := scanEvent(st.QueryRowContext(ctx, id, s.AccountID, b2i(s.Livemode)).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, till.NotFound("event", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return e, nil
}

func (t *tx) ListEvents(ctx context.Context, s till.Scope, f till.EventFilter) ([]*till.Event, bool, error) {
	seq, err := t.cursor(ctx, "events", s, f.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = ? AND livemode = ? AND seq < ?", s.AccountID, b2i(s.Livemode), seq)
	if f.Type != "" {
		w.add("type = ?", f.Type)
	}
	if f.ObjectID != "" {
		w.add("object_id = ?", f.ObjectID)
	}
	timeRange(w, f.CreatedFrom, f.CreatedTo)
	n := limitOf(f.Page)
	rows, err := t.query(ctx, `SELECT `+eventColumns+` FROM events WHERE `+w.sql()+` ORDER BY seq DESC LIMIT ?`, append(w.args, n+1)...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []*till.Event
	for rows.Next() {
		e, err := scanEvent(rows.Scan)
		if err != nil {
			return nil, false, fmt.Errorf("sqlite: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: %w", err)
	}
	if len(out) > n {
		return out[:n], true, nil
	}
	return out, false, nil
}
