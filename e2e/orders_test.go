package e2e

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

func orderLines(lines ...any) []api.LineItemInput {
	var out []api.LineItemInput
	for i := 0; i+2 < len(lines); i += 3 {
		out = append(out, api.LineItemInput{Description: lines[i].(string), Quantity: Amount(int64(lines[i+1].(int))), UnitAmount: Amount(int64(lines[i+2].(int)))})
	}
	return out
}

// TestOrders pays orders through POST /v1/orders/pay: several at once with
// their lines and tax, never one twice (also under concurrent requests),
// open again after a decline, canceled only while open, and a customer
// session reaching only its own.
func TestOrders(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b, Options{})
		ctx := env.Ctx()
		c := env.Client
		jana := Must[*api.Customer](t)(c.CreateCustomer(ctx, api.CustomerCreate{Email: "jana@example.com", Address: &api.Address{Country: "DE"}}))
		omar := Must[*api.Customer](t)(c.CreateCustomer(ctx, api.CustomerCreate{Email: "omar@example.com", Address: &api.Address{Country: "FR"}}))
		good := Must[*api.PaymentMethod](t)(c.AddPaymentMethod(ctx, jana.ID, api.PaymentMethodCreate{Card: card("4242424242424242"), SetDefault: true}))
		broke := Must[*api.PaymentMethod](t)(c.AddPaymentMethod(ctx, jana.ID, api.PaymentMethodCreate{Card: card("4000000000000002")}))
		Must[*api.PaymentMethod](t)(c.AddPaymentMethod(ctx, omar.ID, api.PaymentMethodCreate{Card: card("4242424242424242"), SetDefault: true}))

		// Validation names every field.
		_, err := c.CreateOrder(ctx, api.OrderCreate{CustomerID: jana.ID, Currency: "EUR", Description: strings.Repeat("x", 1001), Lines: []api.LineItemInput{{Description: "x", Quantity: Amount(1), UnitAmount: Amount(1), TaxCode: "exempt"}}})
		if got := fieldsOf(t, err); !slices.Equal(got, []string{"description", "lines[0].taxCode"}) {
			t.Errorf("bad order: %v", got)
		}
		_, err = c.CreateOrder(ctx, api.OrderCreate{CustomerID: jana.ID, Currency: "EUR"})
		if got := fieldsOf(t, err); !slices.Equal(got, []string{"lines"}) {
			t.Errorf("order without lines: %v", got)
		}
		_, err = c.CreateOrder(ctx, api.OrderCreate{CustomerID: "cus_nobody", Currency: "EUR", Lines: orderLines("x", 1, 100)})
		if ce := APIError(t, err, 404, "resource_missing"); ce.Param != "customerId" {
			t.Errorf("unknown customer: %+v", ce)
		}

		o1 := Must[*api.Order](t)(c.CreateOrder(ctx, api.OrderCreate{CustomerID: jana.ID, Currency: "EUR", Lines: orderLines("Box", 2, 1500, "Card", 1, 300)}))
		o2 := Must[*api.Order](t)(c.CreateOrder(ctx, api.OrderCreate{CustomerID: jana.ID, Currency: "EUR", Lines: orderLines("Refill", 1, 700)}))
		if o1.Status != "open" || o1.Amount != 3300 || o1.PaymentID != nil || len(o1.Lines) != 2 || o1.Lines[0].Amount != 3000 {
			t.Fatalf("order: %+v", o1)
		}
		paid := Must[*api.Payment](t)(c.PayOrders(ctx, api.OrdersPay{Orders: []string{o1.ID, o2.ID}}))
		if paid.Status != "succeeded" || paid.AmountSubtotal != 4000 || paid.AmountTotal != 4760 || len(paid.LineItems) != 3 ||
			!slices.Equal(paid.OrderIDs, []string{o1.ID, o2.ID}) || paid.InvoiceID == nil || *paid.PaymentMethodID != good.ID {
			t.Fatalf("paid orders: %+v", paid)
		}
		for _, id := range []string{o1.ID, o2.ID} {
			if o := Must[*api.Order](t)(c.Order(ctx, id)); o.Status != "paid" || o.PaymentID == nil || *o.PaymentID != paid.ID {
				t.Errorf("order after payment: %+v", o)
			}
		}
		_, err = c.PayOrders(ctx, api.OrdersPay{Orders: []string{o2.ID}})
		APIError(t, err, 409, "state_conflict")
		_, err = c.CancelOrder(ctx, o1.ID)
		APIError(t, err, 409, "state_conflict")
		_, err = c.PayOrders(ctx, api.OrdersPay{Orders: []string{"ord_nope"}})
		if ce := APIError(t, err, 404, "resource_missing"); ce.Param != "orders" {
			t.Errorf("unknown order: %+v", ce)
		}
		theirs := Must[*api.Order](t)(c.CreateOrder(ctx, api.OrderCreate{CustomerID: omar.ID, Currency: "EUR", Lines: orderLines("Box", 1, 1000)}))
		mine := Must[*api.Order](t)(c.CreateOrder(ctx, api.OrderCreate{CustomerID: jana.ID, Currency: "EUR", Lines: orderLines("Box", 1, 1000)}))
		_, err = c.PayOrders(ctx, api.OrdersPay{Orders: []string{mine.ID, theirs.ID}})
		if ce := APIError(t, err, 400, "validation_error"); ce.Param != "orders" {
			t.Errorf("two customers: %+v", ce)
		}
		_, err = c.PayOrders(ctx, api.OrdersPay{Orders: []string{mine.ID, mine.ID}})
		APIError(t, err, 400, "validation_error")

		// A decline leaves the order open; it is paid afterwards.
		_, err = c.PayOrders(ctx, api.OrdersPay{Orders: []string{mine.ID}, PaymentMethodID: broke.ID})
		d := APIError(t, err, 402, "card_declined").Decline()
		if o := Must[*api.Order](t)(c.Order(ctx, mine.ID)); o.Status != "open" || o.PaymentID == nil || *o.PaymentID != d.PaymentID {
			t.Fatalf("order after a decline: %+v", o)
		}
		if p := Must[*api.Payment](t)(c.PayOrders(ctx, api.OrdersPay{Orders: []string{mine.ID}})); p.Status != "succeeded" {
			t.Fatalf("paying after a decline: %+v", p)
		}

		// Five concurrent payments of one order: one pays it.
		race := Must[*api.Order](t)(c.CreateOrder(ctx, api.OrderCreate{CustomerID: jana.ID, Currency: "EUR", Lines: orderLines("Last one", 1, 999)}))
		var wg sync.WaitGroup
		var mu sync.Mutex
		var paidIDs []string
		conflicts := 0
		for i := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := c.PayOrders(ctx, api.OrdersPay{Orders: []string{race.ID}}, client.IdempotencyKey(fmt.Sprintf("race-%d", i)))
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					paidIDs = append(paidIDs, p.ID)
				} else if ce, ok := err.(*client.Error); ok && ce.Status == 409 {
					conflicts++
				} else {
					t.Errorf("concurrent payment: %v", err)
				}
			}()
		}
		wg.Wait()
		if len(paidIDs) != 1 || conflicts != 4 {
			t.Fatalf("concurrent payments of one order: %d paid, %d conflicts", len(paidIDs), conflicts)
		}
		if recs := Must[[]api.ProcessorCharge](t)(c.ProcessorCharges(ctx, "", paidIDs[0])); len(recs) != 1 {
			t.Errorf("the processor charged %d times", len(recs))
		}

		// Cancel an open order, twice.
		spare := Must[*api.Order](t)(c.CreateOrder(ctx, api.OrderCreate{CustomerID: jana.ID, Currency: "EUR", Lines: orderLines("Spare", 1, 100)}))
		if o := Must[*api.Order](t)(c.CancelOrder(ctx, spare.ID)); o.Status != "canceled" || o.CanceledAt == nil {
			t.Errorf("canceled: %+v", o)
		}
		Must[*api.Order](t)(c.CancelOrder(ctx, spare.ID))
		_, err = c.PayOrders(ctx, api.OrdersPay{Orders: []string{spare.ID}})
		APIError(t, err, 409, "state_conflict")

		// A customer session sees and pays only its own orders.
		cs := Must[*api.CustomerSession](t)(c.CreateCustomerSession(ctx, omar.ID, api.CustomerSessionCreate{}))
		as := c.WithKey(cs.Token)
		if l := Must[*client.List[api.Order]](t)(as.Orders(ctx, client.ListParams{})); len(l.Data) != 1 || l.Data[0].ID != theirs.ID {
			t.Errorf("omar's orders: %+v", l.Data)
		}
		_, err = as.Order(ctx, o1.ID)
		APIError(t, err, 404, "resource_missing")
		_, err = as.PayOrders(ctx, api.OrdersPay{Orders: []string{race.ID}})
		APIError(t, err, 404, "resource_missing")
		_, err = as.CreateOrder(ctx, api.OrderCreate{CustomerID: omar.ID, Currency: "EUR", Lines: orderLines("x", 1, 1)})
		APIError(t, err, 403, "forbidden")
		if p := Must[*api.Payment](t)(as.PayOrders(ctx, api.OrdersPay{Orders: []string{theirs.ID}})); p.Status != "succeeded" || *p.CustomerID != omar.ID {
			t.Errorf("omar pays his order: %+v", p)
		}
	})
}

// TestSubscriptions renews a monthly subscription under the test clock: the
// first charge at once, the next a month later, a soft decline retried by
// the retry policy once the card is changed, and nothing after it is
// canceled.
func TestSubscriptions(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b, Options{})
		ctx := env.Ctx()
		c := env.Client
		cust := Must[*api.Customer](t)(c.CreateCustomer(ctx, api.CustomerCreate{Email: "sub@example.com", Address: &api.Address{Country: "DE"}}))
		good := Must[*api.PaymentMethod](t)(c.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card("4242424242424242"), SetDefault: true}))
		soft := Must[*api.PaymentMethod](t)(c.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card("4000000000009995")}))

		_, err := c.CreateSubscription(ctx, api.SubscriptionCreate{CustomerID: cust.ID, Currency: "EUR", Interval: "fortnight", IntervalCount: Amount(0)})
		if got := fieldsOf(t, err); !slices.Equal(got, []string{"interval", "intervalCount", "items"}) {
			t.Errorf("bad subscription: %v", got)
		}
		sub := Must[*api.Subscription](t)(c.CreateSubscription(ctx, api.SubscriptionCreate{CustomerID: cust.ID, Currency: "EUR",
			Items: orderLines("Pro plan", 1, 2900), Interval: "month", Description: "Pro plan"}))
		if sub.Status != "active" || sub.Amount != 2900 || sub.NextPaymentDate == nil || !sub.NextPaymentDate.Equal(sub.StartDate) {
			t.Fatalf("subscription: %+v", sub)
		}
		renewed := func(n int) *api.Subscription {
			t.Helper()
			var got *api.Subscription
			// The renewal ran, and its charge (scheduled ahead by the one
			// before) too.
			env.Eventually(15*time.Second, fmt.Sprintf("renewal %d", n), func() bool {
				got = Must[*api.Subscription](t)(c.Subscription(ctx, sub.ID))
				if got.Renewals < n || got.CurrentPaymentID == nil {
					return false
				}
				st := Must[*api.Payment](t)(c.Payment(ctx, *got.CurrentPaymentID)).Status
				return st != "scheduled" && st != "processing"
			})
			if got.Renewals != n {
				t.Fatalf("renewals %d, want %d", got.Renewals, n)
			}
			return got
		}
		first := renewed(1)
		p1 := Must[*api.Payment](t)(c.Payment(ctx, *first.CurrentPaymentID))
		if p1.Status != "succeeded" || p1.AmountTotal != 3451 || p1.SubscriptionID == nil || *p1.SubscriptionID != sub.ID || p1.InvoiceID == nil {
			t.Fatalf("first renewal: %+v", p1)
		}
		if want := sub.StartDate.AddDate(0, 1, 0); !first.NextPaymentDate.Equal(want) {
			t.Errorf("next payment %v, want %v", first.NextPaymentDate, want)
		}
		// The next renewal is already a scheduled charge at its date.
		next := Must[*api.Payment](t)(c.Payment(ctx, *first.NextPaymentID))
		if next.Status != "scheduled" || next.ScheduledAt == nil || !next.ScheduledAt.Equal(*first.NextPaymentDate) || *next.SubscriptionID != sub.ID {
			t.Fatalf("the next renewal: %+v", next)
		}

		// A month later, the second; then the card declines softly.
		Must[*api.Clock](t)(c.AdvanceClock(ctx, 31*24*3600))
		second := renewed(2)
		if p := Must[*api.Payment](t)(c.Payment(ctx, *second.CurrentPaymentID)); p.Status != "succeeded" || p.ID == p1.ID {
			t.Fatalf("second renewal: %+v", p)
		}
		Must[*api.Subscription](t)(c.UpdateSubscription(ctx, sub.ID, api.SubscriptionUpdate{PaymentMethodID: Str(soft.ID)}))
		if p := Must[*api.Payment](t)(c.Payment(ctx, *second.NextPaymentID)); *p.PaymentMethodID != soft.ID {
			t.Fatalf("the scheduled renewal kept its card: %+v", p)
		}
		Must[*api.Clock](t)(c.AdvanceClock(ctx, 31*24*3600))
		third := renewed(3)
		declined := Must[*api.Payment](t)(c.Payment(ctx, *third.CurrentPaymentID))
		if declined.Status != "retry_scheduled" || third.Status != "past_due" {
			t.Fatalf("soft decline: payment %s, subscription %s", declined.Status, third.Status)
		}
		Must[*api.Payment](t)(c.UpdatePayment(ctx, declined.ID, api.PaymentUpdate{PaymentMethodID: Str(good.ID)}))
		Must[*api.Clock](t)(c.AdvanceClock(ctx, 24*3600+60))
		env.Eventually(15*time.Second, "the retry", func() bool {
			return Must[*api.Payment](t)(c.Payment(ctx, declined.ID)).Status == "succeeded"
		})
		if s := Must[*api.Subscription](t)(c.Subscription(ctx, sub.ID)); s.Status != "active" || s.Renewals != 3 {
			t.Errorf("after the retry: %s, %d renewals", s.Status, s.Renewals)
		}

		// Canceled: no renewal after it.
		canceled := Must[*api.Subscription](t)(c.CancelSubscription(ctx, sub.ID))
		if canceled.Status != "canceled" || canceled.NextPaymentDate != nil || canceled.NextPaymentID != nil {
			t.Fatalf("canceled: %+v", canceled)
		}
		if p := Must[*api.Payment](t)(c.Payment(ctx, *third.NextPaymentID)); p.Status != "canceled" {
			t.Errorf("the scheduled renewal after the cancel: %s", p.Status)
		}
		// No renewal is left to run, however far the clock goes.
		var left []*till.Task
		if err := env.Store.Update(ctx, func(tx till.Tx) (err error) {
			left, err = tx.ClaimTasks(ctx, till.ClaimRequest{Kinds: []string{"subscription.renew"}, Ref: sub.ID,
				Now: time.Now().AddDate(10, 0, 0), Limit: 10, Owner: "test", Lease: time.Second})
			return err
		}); err != nil || len(left) != 0 {
			t.Errorf("renewals queued after the cancel: %v %v", left, err)
		}
		if s := Must[*api.Subscription](t)(c.Subscription(ctx, sub.ID)); s.Renewals != 3 || len(s.PaymentIDs) != 3 {
			t.Errorf("renewed after the cancel: %+v", s)
		}
		_, err = c.UpdateSubscription(ctx, sub.ID, api.SubscriptionUpdate{PaymentMethodID: Str(good.ID)})
		APIError(t, err, 409, "state_conflict")
	})
}
