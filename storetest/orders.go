package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// testOrders stores orders and subscriptions versioned and scoped, lists
// them newest first by scope and customer, and keeps human ids unique per
// scope and payment.
func testOrders(t *testing.T, st till.Store) {
	a := account(t, st)
	sc := till.Scope{AccountID: a.ID}
	var orders []*till.Order
	for i, cust := range []string{"cus_a", "cus_b", "cus_a"} {
		o := &till.Order{ID: ids.NewID(till.PrefixOrder), AccountID: a.ID, CustomerID: cust, Currency: "EUR", Amount: 1000,
			Lines: []till.OrderLine{{Description: "Box", Quantity: 2, UnitAmount: 500}}, Metadata: till.Metadata{},
			Version: 1, CreatedAt: epoch.Add(time.Duration(i) * time.Second), UpdatedAt: epoch}
		update(t, st, func(tx till.Tx) error { return tx.CreateOrder(ctx, o) })
		orders = append(orders, o)
	}
	o := orders[0]
	o.PaymentID, o.Version = "pay_1", 2
	update(t, st, func(tx till.Tx) error { return tx.UpdateOrder(ctx, o, 1) })
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.UpdateOrder(ctx, o, 1) }); !errors.Is(err, till.ErrStale) {
		t.Fatalf("stale order update: %v", err)
	}
	sub := &till.Subscription{ID: ids.NewID(till.PrefixSubscription), AccountID: a.ID, CustomerID: "cus_a", Currency: "EUR", Amount: 900,
		Items: []till.OrderLine{{Description: "Plan", Quantity: 1, UnitAmount: 900}}, Interval: till.IntervalMonth, IntervalCount: 1,
		Anchor: epoch, NextPaymentDate: epoch, Metadata: till.Metadata{}, PaymentIDs: []string{}, Version: 1, CreatedAt: epoch, UpdatedAt: epoch}
	update(t, st, func(tx till.Tx) error { return tx.CreateSubscription(ctx, sub) })
	sub.Renewals, sub.Version = 1, 2
	update(t, st, func(tx till.Tx) error { return tx.UpdateSubscription(ctx, sub, 1) })
	if err := st.Update(ctx, func(tx till.Tx) error { return tx.UpdateSubscription(ctx, sub, 1) }); !errors.Is(err, till.ErrStale) {
		t.Fatalf("stale subscription update: %v", err)
	}
	view(t, st, func(tx till.Tx) error {
		got, err := tx.Order(ctx, sc, o.ID)
		if err != nil || !reflect.DeepEqual(got, o) {
			t.Fatalf("order: %+v %v", got, err)
		}
		_, err = tx.Order(ctx, till.Scope{AccountID: a.ID, Livemode: true}, o.ID)
		notFound(t, err)
		list, more, err := tx.ListOrders(ctx, sc, till.OrderFilter{CustomerID: "cus_a", Page: till.Page{Limit: 1}})
		if err != nil || len(list) != 1 || list[0].ID != orders[2].ID || !more {
			t.Fatalf("orders of cus_a: %v %v %v", list, more, err)
		}
		list, more, err = tx.ListOrders(ctx, sc, till.OrderFilter{CustomerID: "cus_a", Page: till.Page{Limit: 5, StartingAfter: orders[2].ID}})
		if err != nil || len(list) != 1 || list[0].ID != o.ID || more {
			t.Fatalf("next page: %v %v %v", list, more, err)
		}
		gotSub, err := tx.Subscription(ctx, sc, sub.ID)
		if err != nil || !reflect.DeepEqual(gotSub, sub) {
			t.Fatalf("subscription: %+v %v", gotSub, err)
		}
		subs, _, err := tx.ListSubscriptions(ctx, sc, till.SubscriptionFilter{CustomerID: "cus_b"})
		if err != nil || len(subs) != 0 {
			t.Fatalf("subscriptions of cus_b: %v %v", subs, err)
		}
		return nil
	})
	update(t, st, func(tx till.Tx) error { return tx.CreateHumanID(ctx, sc, "pay_1", "ABC123") })
	for _, dup := range [][2]string{{"pay_2", "ABC123"}, {"pay_1", "XYZ789"}} {
		if err := st.Update(ctx, func(tx till.Tx) error { return tx.CreateHumanID(ctx, sc, dup[0], dup[1]) }); !errors.Is(err, till.ErrDuplicate) {
			t.Fatalf("human id %v taken: %v", dup, err)
		}
	}
	update(t, st, func(tx till.Tx) error {
		return tx.CreateHumanID(ctx, till.Scope{AccountID: a.ID, Livemode: true}, "pay_9", "ABC123")
	})
	view(t, st, func(tx till.Tx) error {
		got, err := tx.HumanIDs(ctx, sc, []string{"pay_1", "pay_2", "pay_9"})
		if err != nil || !reflect.DeepEqual(got, map[string]string{"pay_1": "ABC123"}) {
			t.Fatalf("human ids: %v %v", got, err)
		}
		return nil
	})
}
