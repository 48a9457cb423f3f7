package postgres_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tillpay/till"
)

// heldUnit is a unit of work that has written its events and waits, its
// transaction open, until released; it then commits or, with fail, rolls
// back.
type heldUnit struct {
	written, release chan struct{}
	done             chan error
}

func holdUnit(st till.Store, fail bool, es ...*till.Event) *heldUnit {
	h := &heldUnit{written: make(chan struct{}), release: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		h.done <- st.Update(ctx, func(tx till.Tx) error {
			for _, e := range es {
				if err := tx.CreateEvent(ctx, e); err != nil {
					return err
				}
			}
			close(h.written)
			<-h.release
			if fail {
				return errRolledBack
			}
			return nil
		})
	}()
	return h
}

var errRolledBack = errors.New("rolled back on purpose")

func event(accountID, obj string) *till.Event {
	return &till.Event{ID: till.RandomIDs{}.NewID(till.PrefixEvent), AccountID: accountID, Type: till.EventCustomerCreated,
		ObjectType: "customer", ObjectID: obj, ObjectVersion: 1, Data: []byte(`{"ID":"` + obj + `"}`)}
}

// cursorReader reads from cursor to cursor.
type cursorReader struct {
	t     *testing.T
	st    till.Store
	scope till.Scope
	cur   till.EventCursor
}

func (r *cursorReader) read(limit int) ([]string, bool) {
	r.t.Helper()
	var es []*till.Event
	var more bool
	if err := r.st.View(ctx, func(tx till.Tx) (err error) {
		es, r.cur, more, err = tx.EventsAfter(ctx, r.scope, r.cur, nil, limit)
		return err
	}); err != nil {
		r.t.Fatal(err)
	}
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids, more
}

// TestEventCursorLateCommit is the case a cursor of "the last seq given"
// gets wrong: unit A writes its event first (the lower seq) and commits
// after unit B. The reader is given B's event at once, A's when A commits,
// each once; while A is open the cursor does not move past A's seq, and
// once A has ended (committed or rolled back) it settles, holding no reads.
func TestEventCursorLateCommit(t *testing.T) {
	st := open(t)
	acct := &till.Account{ID: till.RandomIDs{}.NewID(till.PrefixAccount), Name: "Acme", OriginCountry: "DE", Version: 1}
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateAccount(ctx, acct) }); err != nil {
		t.Fatal(err)
	}
	r := &cursorReader{t: t, st: st, scope: till.Scope{AccountID: acct.ID}}
	if err := st.View(ctx, func(tx till.Tx) (err error) { r.cur, err = tx.EventCursorNow(ctx); return err }); err != nil {
		t.Fatal(err)
	}

	eA, eB := event(acct.ID, "cus_a"), event(acct.ID, "cus_b")
	a := holdUnit(st, false, eA)
	<-a.written
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateEvent(ctx, eB) }); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.read(10); !slices.Equal(got, []string{eB.ID}) {
		t.Fatalf("with A open: %v, want only B %s", got, eB.ID)
	}
	// However often it reads, the reader keeps waiting for A.
	for range 5 {
		if got, more := r.read(10); len(got) != 0 || more {
			t.Fatalf("nothing new while A is open, got %v (more %v)", got, more)
		}
		if r.cur.Settled || len(r.cur.Read) != 1 {
			t.Fatalf("with A open the cursor must hold B's read and an unsettled horizon: %+v", r.cur)
		}
	}
	close(a.release)
	if err := <-a.done; err != nil {
		t.Fatal(err)
	}
	if got, _ := r.read(10); !slices.Equal(got, []string{eA.ID}) {
		t.Fatalf("after A committed: %v, want A %s", got, eA.ID)
	}
	settle(t, r)

	// A unit that rolls back leaves a gap that never fills: the cursor
	// settles past it.
	eC, eD := event(acct.ID, "cus_c"), event(acct.ID, "cus_d")
	c := holdUnit(st, true, eC)
	<-c.written
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateEvent(ctx, eD) }); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.read(10); !slices.Equal(got, []string{eD.ID}) {
		t.Fatalf("with C open: %v, want D", got)
	}
	close(c.release)
	if err := <-c.done; !errors.Is(err, errRolledBack) {
		t.Fatalf("C: %v", err)
	}
	if got, _ := r.read(10); len(got) != 0 {
		t.Fatalf("after C rolled back: %v", got)
	}
	settle(t, r)
}

// settle reads until the cursor holds no reads and no horizon, which takes
// a few reads once no unit is open.
func settle(t *testing.T, r *cursorReader) {
	t.Helper()
	for range 5 {
		if got, _ := r.read(10); len(got) != 0 {
			t.Fatalf("nothing was written, got %v", got)
		}
		if len(r.cur.Read) == 0 && r.cur.Horizon == 0 {
			return
		}
	}
	t.Fatalf("cursor did not settle: %+v", r.cur)
}

// TestEventCursorReadBound: behind a unit that stays open, a reader is given
// at most till.MaxEventCursorRead events, then nothing until the unit ends,
// and then the rest, each once.
func TestEventCursorReadBound(t *testing.T) {
	st := open(t)
	acct := &till.Account{ID: till.RandomIDs{}.NewID(till.PrefixAccount), Name: "Acme", OriginCountry: "DE", Version: 1}
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateAccount(ctx, acct) }); err != nil {
		t.Fatal(err)
	}
	r := &cursorReader{t: t, st: st, scope: till.Scope{AccountID: acct.ID}}
	stuck := event(acct.ID, "cus_stuck")
	h := holdUnit(st, false, stuck)
	<-h.written
	var many []*till.Event
	for i := range till.MaxEventCursorRead + 50 {
		many = append(many, event(acct.ID, fmt.Sprintf("cus_%d", i)))
	}
	if err := st.Update(ctx, func(tx till.Tx) error {
		for _, e := range many {
			if err := tx.CreateEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for {
		got, more := r.read(100)
		for _, id := range got {
			seen[id]++
		}
		if len(got) == 0 {
			if !more {
				t.Fatalf("more must say events are waiting")
			}
			break
		}
	}
	if len(seen) != till.MaxEventCursorRead || len(r.cur.Read) != till.MaxEventCursorRead {
		t.Fatalf("behind an open unit: %d events given, %d reads held; want %d", len(seen), len(r.cur.Read), till.MaxEventCursorRead)
	}
	close(h.release)
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	for range 20 {
		got, _ := r.read(100)
		for _, id := range got {
			seen[id]++
		}
		if len(seen) == len(many)+1 {
			break
		}
	}
	for _, e := range append(many, stuck) {
		if seen[e.ID] != 1 {
			t.Fatalf("event %s given %d times", e.ID, seen[e.ID])
		}
	}
	settle(t, r)
}
