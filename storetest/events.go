package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// testEvents checks events: read back as written, scoped to account and
// mode, listed newest first with filters and a cursor.
func testEvents(t *testing.T, st till.Store) {
	a := account(t, st)
	scope := till.Scope{AccountID: a.ID}
	var written []*till.Event
	for i, typ := range []string{till.EventCustomerCreated, till.EventPaymentProcessing, till.EventPaymentSucceeded, till.EventRefundSucceeded} {
		obj := "pay_1"
		if i == 0 {
			obj = "cus_1"
		}
		e := &till.Event{ID: ids.NewID(till.PrefixEvent), AccountID: a.ID, Type: typ, ObjectType: "payment", ObjectID: obj,
			ObjectVersion: int64(i + 1), Data: []byte(`{"ID":"` + obj + `"}`), CreatedAt: epoch.Add(time.Duration(i) * time.Minute)}
		written = append(written, e)
		update(t, st, func(tx till.Tx) error { return tx.CreateEvent(ctx, e) })
	}
	// Another mode's event is not listed.
	live := *written[0]
	live.ID, live.Livemode = ids.NewID(till.PrefixEvent), true
	update(t, st, func(tx till.Tx) error { return tx.CreateEvent(ctx, &live) })

	idsOf := func(es []*till.Event) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	list := func(f till.EventFilter) ([]*till.Event, bool) {
		t.Helper()
		var out []*till.Event
		var more bool
		view(t, st, func(tx till.Tx) (err error) {
			out, more, err = tx.ListEvents(ctx, scope, f)
			return err
		})
		return out, more
	}
	view(t, st, func(tx till.Tx) error {
		got, err := tx.Event(ctx, scope, written[2].ID)
		if err != nil || !reflect.DeepEqual(got, written[2]) {
			t.Fatalf("event = %+v, %v; want %+v", got, err, written[2])
		}
		if _, err := tx.Event(ctx, till.Scope{AccountID: a.ID, Livemode: true}, written[2].ID); till.ErrorCode(err) != till.ENotFound {
			t.Fatalf("another mode's event: %v", err)
		}
		return nil
	})
	all, more := list(till.EventFilter{})
	if want := []string{written[3].ID, written[2].ID, written[1].ID, written[0].ID}; !reflect.DeepEqual(idsOf(all), want) || more {
		t.Fatalf("all = %v (more %v), want %v", idsOf(all), more, want)
	}
	first, more := list(till.EventFilter{Page: till.Page{Limit: 3}})
	rest, more2 := list(till.EventFilter{Page: till.Page{Limit: 3, StartingAfter: first[2].ID}})
	if len(first) != 3 || !more || len(rest) != 1 || more2 || rest[0].ID != written[0].ID {
		t.Fatalf("pages: %v (more %v), %v (more %v)", idsOf(first), more, idsOf(rest), more2)
	}
	if got, _ := list(till.EventFilter{ObjectID: "pay_1", Type: till.EventPaymentSucceeded}); len(got) != 1 || got[0].ID != written[2].ID {
		t.Fatalf("by object and type: %v", idsOf(got))
	}
	from, to := epoch.Add(time.Minute), epoch.Add(2*time.Minute)
	if got, _ := list(till.EventFilter{CreatedFrom: &from, CreatedTo: &to}); !reflect.DeepEqual(idsOf(got), []string{written[2].ID, written[1].ID}) {
		t.Fatalf("by time: %v", idsOf(got))
	}
	if got, _ := list(till.EventFilter{ObjectID: "nothing"}); len(got) != 0 {
		t.Fatalf("by an unknown object: %v", idsOf(got))
	}
}
