package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tillpay/till"
)

const eventColumns = `id, account_id, livemode, type, object_type, object_id, object_version, data, created_at`

func scanEvent(scan func(dest ...any) error) (*till.Event, error) {
	var e till.Event
	var created int64
	if err := scan(&e.ID, &e.AccountID, &e.Livemode, &e.Type, &e.ObjectType, &e.ObjectID, &e.ObjectVersion, &e.Data, &created); err != nil {
		return nil, err
	}
	e.CreatedAt = fromUS(created)
	return &e, nil
}

func (t *tx) Event(ctx context.Context, s till.Scope, id string) (*till.Event, error) {
	var e *till.Event
	notFound := till.NotFound("event", id)
	err := t.rows(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1 AND account_id = $2 AND livemode = $3`,
		[]any{id, s.AccountID, s.Livemode}, func(r pgx.Rows) (err error) {
			e, err = scanEvent(r.Scan)
			return err
		})
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, notFound
	}
	return e, nil
}

func (t *tx) ListEvents(ctx context.Context, s till.Scope, f till.EventFilter) ([]*till.Event, bool, error) {
	seq, err := t.cursor(ctx, "events", s, f.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = " + w.arg(s.AccountID) + " AND livemode = " + w.arg(s.Livemode) + " AND seq < " + w.arg(seq))
	if f.Type != "" {
		w.add("type = " + w.arg(f.Type))
	}
	if f.ObjectID != "" {
		w.add("object_id = " + w.arg(f.ObjectID))
	}
	timeRange(w, f.CreatedFrom, f.CreatedTo)
	n := limitOf(f.Page)
	var out []*till.Event
	err = t.rows(ctx, `SELECT `+eventColumns+` FROM events WHERE `+w.sql()+` ORDER BY seq DESC LIMIT `+w.arg(n+1), w.args,
		func(r pgx.Rows) error {
			e, err := scanEvent(r.Scan)
			if err == nil {
				out = append(out, e)
			}
			return err
		})
	if err != nil {
		return nil, false, err
	}
	if len(out) > n {
		return out[:n], true, nil
	}
	return out, false, nil
}
