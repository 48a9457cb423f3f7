package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// pollReader reads a scope's events from cursor to cursor, as the test-mode
// poll does.
type pollReader struct {
	t     *testing.T
	st    till.Store
	scope till.Scope
	types []string
	cur   till.EventCursor
}

// read returns one page of at most limit events and whether more are ready.
func (r *pollReader) read(limit int) ([]*till.Event, bool) {
	r.t.Helper()
	var out []*till.Event
	var more bool
	view(r.t, r.st, func(tx till.Tx) (err error) {
		out, r.cur, more, err = tx.EventsAfter(ctx, r.scope, r.cur, r.types, limit)
		return err
	})
	if len(r.cur.Read) > till.MaxEventCursorRead {
		r.t.Fatalf("cursor holds %d reads", len(r.cur.Read))
	}
	if !slices.IsSorted(r.cur.Read) || len(r.cur.Read) > 0 && r.cur.Read[0] <= r.cur.After {
		r.t.Fatalf("cursor %+v: Read must be ascending and above After", r.cur)
	}
	return out, more
}

// drain reads pages of limit until none is ready and returns every event.
func (r *pollReader) drain(limit int) []*till.Event {
	r.t.Helper()
	var all []*till.Event
	for {
		page, more := r.read(limit)
		if len(page) > limit {
			r.t.Fatalf("page of %d events, limit %d", len(page), limit)
		}
		all = append(all, page...)
		if !more {
			return all
		}
	}
}

func cursorNow(t *testing.T, st till.Store) till.EventCursor {
	t.Helper()
	var c till.EventCursor
	view(t, st, func(tx till.Tx) (err error) {
		c, err = tx.EventCursorNow(ctx)
		return err
	})
	return c
}

func newEvent(a *till.Account, live bool, typ, obj string) *till.Event {
	return &till.Event{ID: ids.NewID(till.PrefixEvent), AccountID: a.ID, Livemode: live, Type: typ, ObjectType: "customer",
		ObjectID: obj, ObjectVersion: 1, Data: []byte(`{"ID":"` + obj + `"}`), CreatedAt: epoch}
}

func eventIDs(es []*till.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// testEventCursor checks reading events oldest first from cursor to cursor:
// a cursor of "now" skips what was written before; pages give every event
// once, in the order written, within their limit; the types filter and the
// scope hold; and with concurrent writers every committed event is given
// exactly once (on PostgreSQL their commits interleave).
func testEventCursor(t *testing.T, st till.Store) {
	a, other := account(t, st), account(t, st)
	scope := till.Scope{AccountID: a.ID}
	write := func(es ...*till.Event) {
		t.Helper()
		update(t, st, func(tx till.Tx) error {
			for _, e := range es {
				if err := tx.CreateEvent(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
	}
	before := newEvent(a, false, till.EventCustomerCreated, "cus_before")
	write(before)

	now := cursorNow(t, st)
	r := &pollReader{t: t, st: st, scope: scope, cur: now}
	if got, more := r.read(10); len(got) != 0 || more {
		t.Fatalf("from now, nothing written since: %v (more %v)", eventIDs(got), more)
	}
	var want []*till.Event
	for i := range 25 {
		typ := till.EventCustomerCreated
		if i%5 == 4 {
			typ = till.EventCustomerUpdated
		}
		want = append(want, newEvent(a, false, typ, fmt.Sprintf("cus_%d", i)))
	}
	// Events of another account and of the other mode are interleaved and
	// never given.
	write(want[:10]...)
	write(newEvent(other, false, till.EventCustomerCreated, "cus_other"), newEvent(a, true, till.EventCustomerCreated, "cus_live"))
	write(want[10:]...)

	typed := &pollReader{t: t, st: st, scope: scope, cur: r.cur, types: []string{till.EventCustomerUpdated}}
	got := r.drain(4)
	if !slices.Equal(eventIDs(got), eventIDs(want)) {
		t.Fatalf("pages of 4 gave\n%v\nwant, oldest first,\n%v", eventIDs(got), eventIDs(want))
	}
	for i := range got {
		if got[i].Type != want[i].Type || string(got[i].Data) != string(want[i].Data) || got[i].ObjectID != want[i].ObjectID {
			t.Fatalf("event %d read back as %+v, written %+v", i, got[i], want[i])
		}
	}
	if again, more := r.read(10); len(again) != 0 || more {
		t.Fatalf("after the last page: %v (more %v)", eventIDs(again), more)
	}
	var wantTyped []string
	for _, e := range want {
		if e.Type == till.EventCustomerUpdated {
			wantTyped = append(wantTyped, e.ID)
		}
	}
	if got := typed.drain(2); !slices.Equal(eventIDs(got), wantTyped) {
		t.Fatalf("customer.updated only: %v, want %v", eventIDs(got), wantTyped)
	}
	both := &pollReader{t: t, st: st, scope: scope, cur: now, types: []string{till.EventCustomerUpdated, till.EventCustomerCreated}}
	if got := both.drain(100); !slices.Equal(eventIDs(got), eventIDs(want)) {
		t.Fatalf("both types: %d events, want %d", len(got), len(want))
	}

	// The zero cursor reads from the first event.
	first := &pollReader{t: t, st: st, scope: scope}
	if got := first.drain(100); len(got) != len(want)+1 || got[0].ID != before.ID {
		t.Fatalf("from the start: %d events, first %v", len(got), eventIDs(got[:1]))
	}
	// Live mode is its own scope.
	live := &pollReader{t: t, st: st, scope: till.Scope{AccountID: a.ID, Livemode: true}, cur: now}
	if got := live.drain(100); len(got) != 1 || got[0].ObjectID != "cus_live" {
		t.Fatalf("live mode: %v", eventIDs(got))
	}

	t.Run("ConcurrentWriters", func(t *testing.T) { testEventCursorConcurrent(t, st, a) })
}

// testEventCursorConcurrent runs writers that commit events concurrently,
// some units holding several, while a reader pages through them: the reader
// ends with each event exactly once.
func testEventCursorConcurrent(t *testing.T, st till.Store, a *till.Account) {
	scope := till.Scope{AccountID: a.ID}
	r := &pollReader{t: t, st: st, scope: scope, cur: cursorNow(t, st)}
	const writers, units = 8, 15
	var wg sync.WaitGroup
	var mu sync.Mutex
	written := map[string]bool{}
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for u := range units {
				es := []*till.Event{newEvent(a, false, till.EventCustomerCreated, fmt.Sprintf("cus_%d_%d", w, u))}
				if u%3 == 0 {
					es = append(es, newEvent(a, false, till.EventCustomerUpdated, fmt.Sprintf("cus_%d_%d", w, u)))
				}
				err := st.Update(ctx, func(tx till.Tx) error {
					for _, e := range es {
						if err := tx.CreateEvent(ctx, e); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, e := range es {
					written[e.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[string]int{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		finished := false
		select {
		case <-done:
			finished = true
		default:
		}
		for _, e := range r.drain(7) {
			seen[e.ID]++
		}
		mu.Lock()
		complete := len(seen) >= len(written)
		mu.Unlock()
		if finished && complete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d events before the deadline", len(seen), len(written))
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for id, n := range seen {
		if n != 1 || !written[id] {
			t.Fatalf("event %s read %d times (written: %v)", id, n, written[id])
		}
	}
	if len(seen) != len(written) {
		t.Fatalf("read %d events, %d written", len(seen), len(written))
	}
}
