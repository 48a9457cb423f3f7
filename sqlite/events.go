package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

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

// EventCursorNow returns a cursor after the newest event.
func (t *tx) EventCursorNow(ctx context.Context) (till.EventCursor, error) {
	st, err := t.stmt(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`)
	if err != nil {
		return till.EventCursor{}, err
	}
	var seq int64
	if err := st.QueryRowContext(ctx).Scan(&seq); err != nil {
		return till.EventCursor{}, fmt.Errorf("sqlite: %w", err)
	}
	return till.EventCursor{After: seq}, nil
}

// EventsAfter reads the scope's events above the cursor by seq.
//
// A plain "seq > After" is sound here: one writer commits at a time (units
// of work grouped into one transaction commit together), and seq is
// AUTOINCREMENT, never below a committed seq, so every snapshot holds every
// event of a seq below its largest and a later commit only adds higher
// ones. After moves to the last event given and Read stays empty; a cursor
// that holds Read (never issued by this store) is honoured all the same.
func (t *tx) EventsAfter(ctx context.Context, s till.Scope, c till.EventCursor, types []string, limit int) ([]*till.Event, till.EventCursor, bool, error) {
	limit = min(max(limit, 1), 100)
	w := &where{}
	w.add("account_id = ? AND livemode = ? AND seq > ?", s.AccountID, b2i(s.Livemode), c.After)
	if len(types) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(types)), ", ")
		args := make([]any, len(types))
		for i, typ := range types {
			args[i] = typ
		}
		w.add("type IN ("+marks+")", args...)
	}
	rows, err := t.query(ctx, `SELECT seq, `+eventColumns+` FROM events WHERE `+w.sql()+` ORDER BY seq LIMIT ?`,
		append(w.args, limit+len(c.Read)+1)...)
	if err != nil {
		return nil, c, false, err
	}
	defer rows.Close()
	next := till.EventCursor{After: c.After, Read: slices.Clone(c.Read)}
	var out []*till.Event
	more := false
	for rows.Next() {
		var seq int64
		e, err := scanEvent(func(dest ...any) error { return rows.Scan(append([]any{&seq}, dest...)...) })
		if err != nil {
			return nil, c, false, fmt.Errorf("sqlite: %w", err)
		}
		if _, read := slices.BinarySearch(c.Read, seq); read {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		out = append(out, e)
		next.After = seq
	}
	if err := rows.Err(); err != nil {
		return nil, c, false, fmt.Errorf("sqlite: %w", err)
	}
	if !more && len(next.Read) > 0 {
		next.After = max(next.After, next.Read[len(next.Read)-1])
	}
	next.Read = slices.DeleteFunc(next.Read, func(seq int64) bool { return seq <= next.After })
	if len(next.Read) == 0 {
		next.Read = nil
	}
	return out, next, more, nil
}
