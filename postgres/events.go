package postgres

import (
	"context"
	"slices"

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

// Reading events in the order they were written, when commits interleave.
//
// seq is a bigserial: its value is drawn from the sequence (nextval, with
// the default CACHE 1, so values rise in the order they are drawn) when a
// row is inserted, but the row becomes visible only when its transaction
// commits, and transactions commit in any order. A reader
// that saw seq 11 may later see seq 10 appear; "seq > last seen" would skip
// it. So the cursor moves its floor After only past positions that are
// settled, and de-duplicates what it was given above the floor (Read):
//
//  1. A read returns the scope's events with seq > After that are not in
//     Read, oldest first, and adds their seqs to Read. Nothing committed is
//     ever hidden from it: a row above After is returned unless it was
//     returned before.
//  2. To move After, a read takes a horizon: M, the largest seq visible in
//     its snapshot, and W, the transactions holding a RowExclusiveLock on
//     events (from pg_locks), read after the snapshot was taken. Every seq
//     ≤ M was drawn before the row M committed (draws are ordered), so
//     before the snapshot. A transaction that drew one and has not ended
//     when W is read holds that lock then: PostgreSQL takes it before the
//     INSERT evaluates its default (nextval) and keeps it to the end of the
//     transaction, releasing it only after its commit is visible to new
//     snapshots. So such a transaction is in W.
//  3. A later read looks at pg_locks again; once none of W holds the lock,
//     the horizon is settled: every seq ≤ M is decided (committed or
//     rolled back for good).
//  4. A read whose snapshot was taken after the horizon settled (any read
//     after the one that saw it settle) sees every committed row ≤ M, and
//     has returned each unread one of its scope or sees it as the first one
//     beyond its page. It moves After to M (or to just below that first
//     unreturned row) and drops the Read entries at or below After.
//
// So every committed event of the scope is returned once, and After never
// passes a position whose event could still appear. The lock check reads
// shared memory and waits for nobody: a transaction that stays open delays
// only how soon Read shrinks, never what is returned, until Read holds
// till.MaxEventCursorRead positions; reads then give no event above the
// horizon until it ends. Positions and the writers' virtual transaction ids
// stay inside the cursor, which the service seals.

// eventWriters returns the virtual transaction ids of the transactions
// holding a RowExclusiveLock on events: every transaction that has written
// an event, or is writing one, and has not ended.
func (t *tx) eventWriters(ctx context.Context) ([]string, error) {
	var out []string
	err := t.rows(ctx, `SELECT virtualtransaction FROM pg_locks
		WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND relation = 'events'::regclass`, nil,
		func(r pgx.Rows) error {
			var v string
			if err := r.Scan(&v); err != nil {
				return err
			}
			out = append(out, v)
			return nil
		})
	slices.Sort(out)
	return slices.Compact(out), err
}

// maxEventSeq returns the largest seq of the snapshot, 0 when there is none.
func (t *tx) maxEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := t.row(ctx, nil, `SELECT COALESCE(MAX(seq), 0) FROM events`, nil, &seq)
	return seq, err
}

// EventCursorNow returns a cursor after the newest committed event. A unit
// of work that wrote its event before the call but commits after it may
// hold a lower seq; it counts as written before the call.
func (t *tx) EventCursorNow(ctx context.Context) (till.EventCursor, error) {
	seq, err := t.maxEventSeq(ctx)
	return till.EventCursor{After: seq}, err
}

// EventsAfter reads the scope's events above the cursor, as described above.
func (t *tx) EventsAfter(ctx context.Context, s till.Scope, c till.EventCursor, types []string, limit int) ([]*till.Event, till.EventCursor, bool, error) {
	limit = min(max(limit, 1), 100)
	w := &where{}
	w.add("account_id = " + w.arg(s.AccountID) + " AND livemode = " + w.arg(s.Livemode) + " AND seq > " + w.arg(c.After))
	if len(c.Read) > 0 {
		w.add("seq <> ALL(" + w.arg(c.Read) + ")")
	}
	if len(types) > 0 {
		w.add("type = ANY(" + w.arg(types) + ")")
	}
	var out []*till.Event
	var seqs []int64
	err := t.rows(ctx, `SELECT seq, `+eventColumns+` FROM events WHERE `+w.sql()+` ORDER BY seq LIMIT `+w.arg(limit+1), w.args,
		func(r pgx.Rows) error {
			var seq int64
			e, err := scanEvent(func(dest ...any) error { return r.Scan(append([]any{&seq}, dest...)...) })
			if err == nil {
				out, seqs = append(out, e), append(seqs, seq)
			}
			return err
		})
	if err != nil {
		return nil, c, false, err
	}
	// The events given are a prefix of those read: up to limit, and beyond
	// a settled horizon only as many as Read has room for. (Those at or
	// below a settled horizon take no room: After moves past them below.)
	settled := c.Horizon > c.After && c.Settled
	room := till.MaxEventCursorRead - len(c.Read)
	n := 0
	for n < len(seqs) && n < limit {
		if !settled || seqs[n] > c.Horizon {
			if room == 0 {
				break
			}
			room--
		}
		n++
	}
	more := len(seqs) > n
	var firstUnread int64
	if more {
		firstUnread = seqs[n]
	}
	out, seqs = out[:n], seqs[:n]
	next := till.EventCursor{After: c.After, Read: append(slices.Clone(c.Read), seqs...),
		Horizon: c.Horizon, Writers: c.Writers, Settled: c.Settled}
	slices.Sort(next.Read)

	// A horizon that settled before this snapshot was taken: move After.
	if settled {
		floor := c.Horizon
		if more && firstUnread <= floor {
			floor = firstUnread - 1
		}
		next.After = max(next.After, floor)
	}
	if next.Horizon <= next.After {
		next.Horizon, next.Writers, next.Settled = 0, nil, false
	}
	next.Read = slices.DeleteFunc(next.Read, func(seq int64) bool { return seq <= next.After })
	if len(next.Read) == 0 {
		next.Read = nil
	}

	// A horizon waiting for its writers: settled once none holds the lock.
	if next.Horizon != 0 && !next.Settled {
		live, err := t.eventWriters(ctx)
		if err != nil {
			return nil, c, false, err
		}
		next.Writers = slices.DeleteFunc(slices.Clone(next.Writers), func(v string) bool {
			_, ok := slices.BinarySearch(live, v)
			return !ok
		})
		if len(next.Writers) == 0 {
			next.Writers, next.Settled = nil, true
		}
	}
	// No horizon: take one when there is anything above After.
	if next.Horizon == 0 {
		top, err := t.maxEventSeq(ctx)
		if err != nil {
			return nil, c, false, err
		}
		if top > next.After {
			live, err := t.eventWriters(ctx)
			if err != nil {
				return nil, c, false, err
			}
			next.Horizon, next.Writers, next.Settled = top, live, len(live) == 0
			if next.Settled {
				next.Writers = nil
			}
		}
	}
	return out, next, more, nil
}
