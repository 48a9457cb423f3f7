package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/smtp/smtptest"
)

// The event types no flow of TestEventFlows can produce through the API in
// test mode, each with the reason. Every other type of till.EventTypes must
// be seen in some flow, and none of these may be: a type that becomes
// reachable must get a flow and leave this list.
var unreachableEventTypes = map[string]string{}

// wantEvent is one event a flow expects: its type, the id of the object it
// is about, and the status data.object shows (the payment's, the refund's,
// the receipt's or the webhook endpoint's; "" for objects without one).
type wantEvent struct {
	typ, objectID, status string
}

func (w wantEvent) String() string {
	if w.status == "" {
		return w.typ + " " + w.objectID
	}
	return w.typ + " " + w.objectID + " (" + w.status + ")"
}

func ev(typ, objectID, status string) wantEvent { return wantEvent{typ, objectID, status} }

// eventObjectKind is the object an event type is about.
func eventObjectKind(typ string) []string {
	switch kind, _, _ := strings.Cut(typ, "."); kind {
	case "receipt":
		return []string{"payment", "refund"}
	case "payment_link":
		return []string{"payment"}
	default:
		return []string{kind}
	}
}

// eventStatuses are the statuses data.object may show for an event type,
// where the type implies one: a payment event shows the status the
// transition led to, a refund event the refund's, a receipt event the
// receipt's.
var eventStatuses = map[string][]string{
	till.EventPaymentSucceeded:        {"succeeded"},
	till.EventPaymentCaptured:         {"succeeded"},
	till.EventPaymentFailed:           {"failed"},
	till.EventPaymentProcessing:       {"processing"},
	till.EventPaymentAuthorized:       {"authorized"},
	till.EventPaymentCanceled:         {"canceled"},
	till.EventPaymentExpired:          {"expired"},
	till.EventPaymentRetryScheduled:   {"retry_scheduled"},
	till.EventPaymentRefunded:         {"partially_refunded", "refunded"},
	till.EventPaymentDisputed:         {"disputed"},
	till.EventPaymentRequiresAction:   {"requires_action"},
	till.EventPaymentScheduled:        {"scheduled"},
	till.EventPaymentPending:          {"pending"},
	till.EventRefundSucceeded:         {"succeeded"},
	till.EventRefundFailed:            {"failed"},
	till.EventReceiptSent:             {"sent"},
	till.EventReceiptFailed:           {"failed"},
	till.EventWebhookEndpointDisabled: {"disabled"},
}

// shownStatus is the status data.object of e shows, as eventStatuses means
// it.
func shownStatus(e api.Event, obj map[string]any) string {
	if strings.HasPrefix(e.Type, "receipt.") {
		rec, _ := obj["receipt"].(map[string]any)
		s, _ := rec["status"].(string)
		return s
	}
	s, _ := obj["status"].(string)
	return s
}

// flow is one case of TestEventFlows: a Till of its own (so its clock,
// background work and events are its own) and the events it expects, in
// order.
type flow struct {
	t        *testing.T
	env      *Env
	c        *client.Client
	want     []wantEvent
	sentinel map[string]bool // objects of the closing barrier, not of the flow
}

func (f *flow) ctx() context.Context { return f.env.Ctx() }

// list returns the flow's events (the account's, without the barrier's),
// oldest first.
func (f *flow) list() []api.Event {
	f.t.Helper()
	page := events(f.t, f.env, f.c, url.Values{"limit": {"100"}})
	if page.HasMore {
		f.t.Fatalf("more than 100 events: the flow is too long for one page")
	}
	var out []api.Event
	for _, e := range page.Data {
		if !f.sentinel[e.ObjectID] {
			out = append(out, e)
		}
	}
	return out
}

// expect adds the events a step causes, waits (bounded) until the account
// has at least every event expected so far, and checks that the list
// starts with exactly those: same types about the same objects in the same
// order. Whatever follows them is the next step's, or an extra event that
// settle finds when it checks the whole list.
func (f *flow) expect(evs ...wantEvent) {
	f.t.Helper()
	f.want = append(f.want, evs...)
	var got []api.Event
	f.env.Eventually(20*time.Second, fmt.Sprintf("%d events (%v)", len(f.want), f.want[len(f.want)-len(evs):]), func() bool {
		got = f.list()
		return len(got) >= len(f.want)
	})
	f.check(got, false)
}

// check compares got with the expected events (all of it when exact,
// otherwise its first len(f.want) events) and checks what every event must
// satisfy: data.object is the object named, of the kind the type
// says, in the status the type implies, and each object's objectVersion
// rises strictly from one of its events to the next.
func (f *flow) check(got []api.Event, exact bool) {
	f.t.Helper()
	var gotLines, wantLines []string
	for _, w := range f.want {
		wantLines = append(wantLines, w.String())
	}
	last := map[string]int64{}
	for i, e := range got {
		var obj map[string]any
		raw, _ := json.Marshal(e.Data.Object)
		if err := json.Unmarshal(raw, &obj); err != nil {
			f.t.Fatalf("event %s (%s): data.object %s: %v", e.ID, e.Type, raw, err)
		}
		status := shownStatus(e, obj)
		line := ev(e.Type, e.ObjectID, "")
		if i >= len(f.want) || f.want[i].status != "" {
			line.status = status
		}
		gotLines = append(gotLines, line.String())

		if e.Object != "event" || e.Livemode || e.APIVersion != api.APIVersion || obj["id"] != e.ObjectID ||
			!slices.Contains(eventObjectKind(e.Type), fmt.Sprint(obj["object"])) {
			f.t.Errorf("event %d %s (%s) about %s: object %q, livemode %v, apiVersion %q, data.object %v %v",
				i, e.ID, e.Type, e.ObjectID, e.Object, e.Livemode, e.APIVersion, obj["object"], obj["id"])
		}
		if allowed, ok := eventStatuses[e.Type]; ok && !slices.Contains(allowed, status) {
			f.t.Errorf("event %d %s about %s: data.object shows status %q, want one of %v", i, e.Type, e.ObjectID, status, allowed)
		}
		if v, ok := obj["objectVersion"].(float64); ok && int64(v) != e.ObjectVersion {
			f.t.Errorf("event %d %s about %s: objectVersion %d, but data.object is at version %v", i, e.Type, e.ObjectID, e.ObjectVersion, v)
		}
		if prev, ok := last[e.ObjectID]; ok && e.ObjectVersion <= prev {
			f.t.Errorf("event %d %s about %s: objectVersion %d does not rise from %d", i, e.Type, e.ObjectID, e.ObjectVersion, prev)
		}
		last[e.ObjectID] = e.ObjectVersion
	}
	cmp := gotLines
	if !exact && len(cmp) > len(wantLines) {
		cmp = cmp[:len(wantLines)]
	}
	if !slices.Equal(cmp, wantLines) {
		f.t.Fatalf("events of the flow:\n  %s\nwant:\n  %s", strings.Join(gotLines, "\n  "), strings.Join(wantLines, "\n  "))
	}
}

// settle ends a flow: it brings every piece of time-based work of the
// account due (retries, hold expiry, dispute polls, settlements), waits
// until the background workers have run everything due before two
// sentinel charges, and checks again that the flow's events are exactly
// those expected. The sentinels' own events are left out.
//
// The workers claim due tasks oldest first, a batch at a time, and claim the
// next batch once the last one has finished; the second sentinel's receipt
// is queued after the first's is sent, so by the time it is sent every task
// that was due before the first sentinel has finished, and so has any task
// those queued for at once. Were that ever to change, this waits less, but
// never fails a correct flow.
func (f *flow) settle() {
	f.t.Helper()
	f.advance(30 * 86400)
	cust := Must[*api.Customer](f.t)(f.c.CreateCustomer(f.ctx(), api.CustomerCreate{Email: "sentinel@example.com", Address: &api.Address{Country: "DE"}}))
	f.sentinel[cust.ID] = true
	pm := Must[*api.PaymentMethod](f.t)(f.c.AddPaymentMethod(f.ctx(), cust.ID, api.PaymentMethodCreate{Card: card("4242424242424242"), SetDefault: true}))
	f.sentinel[pm.ID] = true
	for i := range 2 {
		p := Must[*api.Payment](f.t)(f.c.Charge(f.ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "sentinel"}))
		f.sentinel[p.ID] = true
		if p.InvoiceID != nil {
			f.sentinel[*p.InvoiceID] = true
		}
		f.env.Eventually(20*time.Second, fmt.Sprintf("the receipt of sentinel %d", i+1), func() bool {
			for _, e := range events(f.t, f.env, f.c, url.Values{"objectId": {p.ID}}).Data {
				if strings.HasPrefix(e.Type, "receipt.") {
					return true
				}
			}
			return false
		})
	}
	f.check(f.list(), true)
}

// seen returns the event types of the flow.
func (f *flow) seen() []string {
	var out []string
	for _, w := range f.want {
		out = append(out, w.typ)
	}
	return out
}

func (f *flow) advance(seconds int64) {
	f.t.Helper()
	Must[*api.Clock](f.t)(f.c.AdvanceClock(f.ctx(), seconds))
}

func (f *flow) customer() *api.Customer {
	f.t.Helper()
	c := Must[*api.Customer](f.t)(f.c.CreateCustomer(f.ctx(), api.CustomerCreate{Email: "buyer@example.com", Name: "Jana Müller",
		Address: &api.Address{Country: "DE"}}))
	f.expect(ev(till.EventCustomerCreated, c.ID, ""))
	return c
}

func (f *flow) card(customerID, number string, setDefault bool) *api.PaymentMethod {
	f.t.Helper()
	before := Must[*api.Customer](f.t)(f.c.Customer(f.ctx(), customerID))
	pm := Must[*api.PaymentMethod](f.t)(f.c.AddPaymentMethod(f.ctx(), customerID, api.PaymentMethodCreate{Card: card(number), SetDefault: setDefault}))
	f.expect(ev(till.EventPaymentMethodAttached, pm.ID, ""))
	// The customer's first card, or one saved with setDefault, becomes its
	// default: a change of the customer, with its event.
	if setDefault || before.DefaultPaymentMethodID == nil {
		f.expect(ev(till.EventCustomerUpdated, customerID, ""))
	}
	return pm
}

// customerWithCard creates a German customer with number as its default card.
func (f *flow) customerWithCard(number string) *api.Customer {
	f.t.Helper()
	c := f.customer()
	f.card(c.ID, number, true)
	return c
}

// charge charges 1000 EUR (1190 with German VAT) to the customer's default
// card; opts change the request.
func (f *flow) charge(customerID string, opts ...func(*api.ChargeRequest)) (*api.Payment, error) {
	in := api.ChargeRequest{CustomerID: customerID, Amount: Amount(1000), Currency: "EUR", Description: "Event flow"}
	for _, o := range opts {
		o(&in)
	}
	return f.c.Charge(f.ctx(), in)
}

// charged charges and wants status.
func (f *flow) charged(customerID, status string, opts ...func(*api.ChargeRequest)) *api.Payment {
	f.t.Helper()
	p := Must[*api.Payment](f.t)(f.charge(customerID, opts...))
	if p.Status != status {
		f.t.Fatalf("charge: %s, want %s: %+v", p.Status, status, p)
	}
	return p
}

// declined charges, wants a 402 with the decline code, and returns the
// stored payment.
func (f *flow) declined(customerID, code string) *api.Payment {
	f.t.Helper()
	_, err := f.charge(customerID)
	ce := APIError(f.t, err, 402, "card_declined")
	d := ce.Decline()
	if d == nil || d.DeclineCode != code || d.PaymentID == "" {
		f.t.Fatalf("decline: want %s, got %+v %s", code, ce, ce.Details)
	}
	return f.payment(d.PaymentID)
}

func (f *flow) payment(id string) *api.Payment {
	f.t.Helper()
	return Must[*api.Payment](f.t)(f.c.Payment(f.ctx(), id))
}

// attachedIn returns the payment method of the first payment_method.attached
// event from the flow's i-th event on, waiting for one.
func (f *flow) attachedIn(i int) string {
	f.t.Helper()
	var id string
	f.env.Eventually(20*time.Second, "a payment_method.attached event", func() bool {
		for _, e := range f.list()[min(i, len(f.list())):] {
			if e.Type == till.EventPaymentMethodAttached {
				id = e.ObjectID
				return true
			}
		}
		return false
	})
	return id
}

// waitPayment waits until the payment is in status and returns it.
func (f *flow) waitPayment(id, status string) *api.Payment {
	f.t.Helper()
	var p *api.Payment
	f.env.Eventually(20*time.Second, id+" to be "+status, func() bool {
		p = f.payment(id)
		return p.Status == status
	})
	return p
}

// succeeded are the events of a payment that has just been charged (or
// captured, with typ payment.captured): the status change and its invoice
// in one unit of work, then the receipt the worker sends.
func succeeded(typ string, p *api.Payment) []wantEvent {
	return []wantEvent{ev(typ, p.ID, "succeeded"), ev(till.EventInvoiceCreated, *p.InvoiceID, ""), ev(till.EventReceiptSent, p.ID, "sent")}
}

func retryPolicy(days ...int) api.AccountUpdate {
	return api.AccountUpdate{RetryPolicy: &till.RetryPolicy{Enabled: true, DelaysDays: days}}
}

// eventFlows are the cases of TestEventFlows, one flow of SPEC §5 and §12
// each.
var eventFlows = []struct {
	name string
	// smtp550, when set, sends receipts to a mail server that refuses
	// every message for good.
	smtp550 bool
	run     func(f *flow)
}{
	{name: "charge succeeds", run: func(f *flow) {
		cust := f.customerWithCard("4242424242424242")
		p := f.charged(cust.ID, "succeeded")
		f.expect(succeeded(till.EventPaymentSucceeded, p)...)
	}},
	{name: "hard decline", run: func(f *flow) {
		cust := f.customerWithCard("4000000000000002")
		p := f.declined(cust.ID, "generic_decline")
		if p.Status != "failed" {
			f.t.Fatalf("hard decline: %s", p.Status)
		}
		// Final: the closing clock advance retries nothing.
		f.expect(ev(till.EventPaymentFailed, p.ID, "failed"))
	}},
	{name: "soft decline retried until the policy is exhausted", run: func(f *flow) {
		cust := f.customerWithCard("4000000000009995")
		p := f.declined(cust.ID, "insufficient_funds")
		if p.Status != "retry_scheduled" {
			f.t.Fatalf("soft decline: %s", p.Status)
		}
		// The decline and the planned retry: two transitions in one unit
		// of work (service/settle.go applyResult → maybeRetry).
		f.expect(ev(till.EventPaymentFailed, p.ID, "failed"), ev(till.EventPaymentRetryScheduled, p.ID, "retry_scheduled"))
		// The default policy retries after 1, 3 and 5 days; each retry is
		// declined again, and the last leaves the payment failed.
		for i, days := range []int64{1, 3, 5} {
			f.advance(days*86400 + 60)
			evs := []wantEvent{ev(till.EventPaymentProcessing, p.ID, "processing"), ev(till.EventPaymentFailed, p.ID, "failed")}
			if i < 2 {
				evs = append(evs, ev(till.EventPaymentRetryScheduled, p.ID, "retry_scheduled"))
			}
			f.expect(evs...)
		}
		if got := f.payment(p.ID); got.Status != "failed" || len(got.Attempts) != 4 {
			f.t.Fatalf("after the last retry: %s, %d attempts", got.Status, len(got.Attempts))
		}
	}},
	{name: "pending card succeeds", run: func(f *flow) {
		cust := f.customerWithCard("4000000000001000")
		p := f.charged(cust.ID, "processing")
		// The processor's "pending" is announced once.
		f.expect(ev(till.EventPaymentProcessing, p.ID, "processing"))
		f.advance(6) // the simulator settles 5 s (clock time) later
		f.expect(succeeded(till.EventPaymentSucceeded, f.waitPayment(p.ID, "succeeded"))...)
	}},
	{name: "pending card fails", run: func(f *flow) {
		// One retry, a day later, so that the flow ends failed.
		Must[*api.Account](f.t)(f.c.UpdateAccount(f.ctx(), retryPolicy(1)))
		cust := f.customerWithCard("4000000000002008")
		p := f.charged(cust.ID, "processing")
		f.expect(ev(till.EventPaymentProcessing, p.ID, "processing"))
		f.advance(6)
		f.expect(ev(till.EventPaymentFailed, p.ID, "failed"), ev(till.EventPaymentRetryScheduled, p.ID, "retry_scheduled"))
		// The retry: retry_scheduled → processing is one transition and one
		// payment.processing, although the processor answers "pending"
		// again; then the decline, and no further retry.
		f.advance(86400 + 60)
		f.waitPayment(p.ID, "processing")
		f.expect(ev(till.EventPaymentProcessing, p.ID, "processing"))
		f.env.Eventually(20*time.Second, "the retry's pending answer", func() bool {
			got := f.payment(p.ID)
			return len(got.Attempts) == 2 && got.Attempts[1].Code != nil && *got.Attempts[1].Code == "pending"
		})
		f.advance(6)
		f.expect(ev(till.EventPaymentFailed, p.ID, "failed"))
	}},
	{name: "requires authentication, never answered", run: func(f *flow) {
		cust := f.customerWithCard("4000002760003184")
		p := f.declined(cust.ID, "authentication_required")
		f.expect(ev(till.EventPaymentRequiresAction, p.ID, "requires_action"))
		// Never retried off-session; the payer has a day, then it expires.
		if p.ExpiresAt == nil {
			f.t.Fatalf("requires_action without expiresAt: %+v", p)
		}
		f.advance(86400 + 60)
		f.waitPayment(p.ID, "expired")
		f.expect(ev(till.EventPaymentExpired, p.ID, "expired"))
	}},
	{name: "requires authentication, canceled by the merchant", run: func(f *flow) {
		cust := f.customerWithCard("4000002760003184")
		p := f.declined(cust.ID, "authentication_required")
		f.expect(ev(till.EventPaymentRequiresAction, p.ID, "requires_action"))
		Must[*api.Payment](f.t)(f.c.CancelPayment(f.ctx(), p.ID))
		f.expect(ev(till.EventPaymentCanceled, p.ID, "canceled"))
	}},
	{name: "payment link canceled", run: func(f *flow) {
		l := Must[*api.Payment](f.t)(f.c.CreatePaymentLink(f.ctx(), api.PaymentLinkRequest{Amount: Amount(2500), Currency: "EUR", Description: "link"}))
		f.expect(ev(till.EventPaymentCreated, l.ID, "pending"))
		Must[*api.Payment](f.t)(f.c.CancelPaymentLink(f.ctx(), l.ID))
		Must[*api.Payment](f.t)(f.c.CancelPaymentLink(f.ctx(), l.ID)) // a no-op: no second event
		f.expect(ev(till.EventPaymentCanceled, l.ID, "canceled"))
	}},
	{name: "payment link expires", run: func(f *flow) {
		l := Must[*api.Payment](f.t)(f.c.CreatePaymentLink(f.ctx(), api.PaymentLinkRequest{Amount: Amount(2500), Currency: "EUR", Description: "link"}))
		f.expect(ev(till.EventPaymentCreated, l.ID, "pending"))
		f.advance(86400 + 60)
		f.waitPayment(l.ID, "expired")
		f.expect(ev(till.EventPaymentExpired, l.ID, "expired"))
	}},
	{name: "payment link declined, then paid", run: func(f *flow) {
		l, token := newLink(f.t, f.env, 2500)
		f.expect(ev(till.EventPaymentCreated, l.ID, "pending"))
		p := Must[*till.Payment](f.t)(f.env.Service.PayLink(f.ctx(), token, payer("flow@example.com", "4000000000000002")))
		if p.Status != till.StatusPending {
			f.t.Fatalf("declined link: %+v", p)
		}
		cust := p.CustomerID
		pm1 := f.attachedIn(len(f.want))
		f.expect(ev(till.EventCustomerCreated, cust, ""), ev(till.EventPaymentMethodAttached, pm1, ""), ev(till.EventCustomerUpdated, cust, ""),
			ev(till.EventPaymentProcessing, l.ID, "processing"), ev(till.EventPaymentFailed, l.ID, "failed"),
			ev(till.EventPaymentMethodDetached, pm1, ""), ev(till.EventCustomerUpdated, cust, ""), ev(till.EventPaymentPending, l.ID, "pending"))
		paid := Must[*till.Payment](f.t)(f.env.Service.PayLink(f.ctx(), token, payer("flow@example.com", "4242424242424242")))
		if paid.Status != till.StatusSucceeded || paid.CustomerID != cust {
			f.t.Fatalf("paid link: %+v", paid)
		}
		f.expect(ev(till.EventPaymentMethodAttached, paid.PaymentMethodID, ""), ev(till.EventCustomerUpdated, cust, ""),
			ev(till.EventPaymentProcessing, l.ID, "processing"), ev(till.EventPaymentSucceeded, l.ID, "succeeded"),
			ev(till.EventPaymentLinkPaid, l.ID, "succeeded"), ev(till.EventInvoiceCreated, paid.InvoiceID, ""), ev(till.EventReceiptSent, l.ID, "sent"))
	}},
	{name: "scheduled charge canceled", run: func(f *flow) {
		cust := f.customerWithCard("4242424242424242")
		at := time.Now().UTC().Add(time.Hour)
		p := f.charged(cust.ID, "scheduled", func(r *api.ChargeRequest) { r.ScheduledAt = &at })
		f.expect(ev(till.EventPaymentScheduled, p.ID, "scheduled"))
		Must[*api.Payment](f.t)(f.c.CancelPayment(f.ctx(), p.ID))
		f.expect(ev(till.EventPaymentCanceled, p.ID, "canceled"))
	}},
	{name: "requires authentication, approved on the hosted page", run: func(f *flow) {
		cust := f.customerWithCard("4000002760003184")
		p := f.declined(cust.ID, "authentication_required")
		f.expect(ev(till.EventPaymentRequiresAction, p.ID, "requires_action"))
		authenticateOnPage(f, p, "approve")
		f.expect(ev(till.EventPaymentProcessing, p.ID, "processing"))
		f.expect(succeeded(till.EventPaymentSucceeded, f.waitPayment(p.ID, "succeeded"))...)
	}},
	{name: "requires authentication, declined on the hosted page", run: func(f *flow) {
		cust := f.customerWithCard("4000002760003184")
		p := f.declined(cust.ID, "authentication_required")
		f.expect(ev(till.EventPaymentRequiresAction, p.ID, "requires_action"))
		authenticateOnPage(f, p, "decline")
		f.waitPayment(p.ID, "failed")
		f.expect(ev(till.EventPaymentProcessing, p.ID, "processing"), ev(till.EventPaymentFailed, p.ID, "failed"))
	}},
	{name: "scheduled charge", run: func(f *flow) {
		cust := f.customerWithCard("4242424242424242")
		at := time.Now().UTC().Add(time.Hour)
		p := f.charged(cust.ID, "scheduled", func(r *api.ChargeRequest) { r.ScheduledAt = &at })
		f.expect(ev(till.EventPaymentScheduled, p.ID, "scheduled"))
		f.advance(3600 + 60)
		done := f.waitPayment(p.ID, "succeeded")
		f.expect(ev(till.EventPaymentProcessing, p.ID, "processing"))
		f.expect(succeeded(till.EventPaymentSucceeded, done)...)
	}},
	{name: "scheduled charge of a pending card", run: func(f *flow) {
		cust := f.customerWithCard("4000000000001000")
		at := time.Now().UTC().Add(time.Hour)
		p := f.charged(cust.ID, "scheduled", func(r *api.ChargeRequest) { r.ScheduledAt = &at })
		f.expect(ev(till.EventPaymentScheduled, p.ID, "scheduled"))
		f.advance(3600 + 60)
		// scheduled → processing: one payment.processing, though the
		// processor then answers "pending".
		f.env.Eventually(20*time.Second, "the scheduled charge's pending answer", func() bool {
			got := f.payment(p.ID)
			return len(got.Attempts) == 1 && got.Attempts[0].Code != nil && *got.Attempts[0].Code == "pending"
		})
		f.expect(ev(till.EventPaymentProcessing, p.ID, "processing"))
		f.advance(6)
		f.expect(succeeded(till.EventPaymentSucceeded, f.waitPayment(p.ID, "succeeded"))...)
	}},
	{name: "hold captured in full", run: func(f *flow) {
		cust := f.customerWithCard("4242424242424242")
		p := f.charged(cust.ID, "authorized", func(r *api.ChargeRequest) { r.Capture = Bool(false) })
		f.expect(ev(till.EventPaymentAuthorized, p.ID, "authorized"))
		c := Must[*api.Payment](f.t)(f.c.Capture(f.ctx(), p.ID, api.CaptureRequest{}))
		if c.Status != "succeeded" || c.AmountCaptured != 1190 {
			f.t.Fatalf("capture: %s, captured %d", c.Status, c.AmountCaptured)
		}
		// authorized → succeeded is a capture: payment.captured, not
		// payment.succeeded.
		f.expect(succeeded(till.EventPaymentCaptured, c)...)
	}},
	{name: "hold captured in part", run: func(f *flow) {
		cust := f.customerWithCard("4242424242424242")
		p := f.charged(cust.ID, "authorized", func(r *api.ChargeRequest) { r.Capture = Bool(false) })
		f.expect(ev(till.EventPaymentAuthorized, p.ID, "authorized"))
		c := Must[*api.Payment](f.t)(f.c.Capture(f.ctx(), p.ID, api.CaptureRequest{Amount: Amount(600)}))
		if c.Status != "succeeded" || c.AmountCaptured != 714 {
			f.t.Fatalf("partial capture: %s, captured %d", c.Status, c.AmountCaptured)
		}
		f.expect(succeeded(till.EventPaymentCaptured, c)...)
		// The released rest is no transition of its own, and the hold's
		// expiry (7 days, passed by the closing clock advance) does nothing.
	}},
	{name: "hold released", run: func(f *flow) {
		cust := f.customerWithCard("4242424242424242")
		p := f.charged(cust.ID, "authorized", func(r *api.ChargeRequest) { r.Capture = Bool(false) })
		f.expect(ev(till.EventPaymentAuthorized, p.ID, "authorized"))
		r := Must[*api.Payment](f.t)(f.c.Release(f.ctx(), p.ID))
		if r.Status != "canceled" {
			f.t.Fatalf("release: %s", r.Status)
		}
		f.expect(ev(till.EventPaymentCanceled, p.ID, "canceled"))
		// A transition the table forbids: 409, and no event.
		_, err := f.c.Capture(f.ctx(), p.ID, api.CaptureRequest{})
		APIError(f.t, err, 409, "state_conflict")
		_, err = f.c.Release(f.ctx(), p.ID)
		APIError(f.t, err, 409, "state_conflict")
	}},
	{name: "hold expires", run: func(f *flow) {
		cust := f.customerWithCard("4242424242424242")
		p := f.charged(cust.ID, "authorized", func(r *api.ChargeRequest) { r.Capture = Bool(false) })
		f.expect(ev(till.EventPaymentAuthorized, p.ID, "authorized"))
		f.advance(7*86400 + 60)
		// SPEC §5: authorized → canceled on hold expiry (docs/api.md
		// "Expiry": "ends canceled, exactly as if you had released it").
		f.waitPayment(p.ID, "canceled")
		f.expect(ev(till.EventPaymentCanceled, p.ID, "canceled"))
	}},
	{name: "refunds, partial then full", run: func(f *flow) {
		cust := f.customerWithCard("4242424242424242")
		p := f.charged(cust.ID, "succeeded")
		f.expect(succeeded(till.EventPaymentSucceeded, p)...)
		// Each refund: the payment's transition, the refund's, its credit
		// note in the same unit of work; then the refund's receipt.
		r1 := Must[*api.Refund](f.t)(f.c.CreateRefund(f.ctx(), p.ID, api.RefundRequest{Amount: Amount(400)}))
		if r1.Status != "succeeded" || r1.CreditNoteID == nil {
			f.t.Fatalf("partial refund: %+v", r1)
		}
		f.expect(ev(till.EventPaymentRefunded, p.ID, "partially_refunded"), ev(till.EventRefundSucceeded, r1.ID, "succeeded"),
			ev(till.EventCreditNoteCreated, *r1.CreditNoteID, ""), ev(till.EventReceiptSent, r1.ID, "sent"))
		r2 := Must[*api.Refund](f.t)(f.c.CreateRefund(f.ctx(), p.ID, api.RefundRequest{}))
		if r2.Status != "succeeded" || r2.Amount != 790 || r2.CreditNoteID == nil {
			f.t.Fatalf("full refund: %+v", r2)
		}
		f.expect(ev(till.EventPaymentRefunded, p.ID, "refunded"), ev(till.EventRefundSucceeded, r2.ID, "succeeded"),
			ev(till.EventCreditNoteCreated, *r2.CreditNoteID, ""), ev(till.EventReceiptSent, r2.ID, "sent"))
		_, err := f.c.CreateRefund(f.ctx(), p.ID, api.RefundRequest{})
		APIError(f.t, err, 409, "state_conflict")
	}},
	{name: "refund refused", run: func(f *flow) {
		cust := f.customerWithCard("4000000000004004")
		p := f.charged(cust.ID, "succeeded")
		f.expect(succeeded(till.EventPaymentSucceeded, p)...)
		r := Must[*api.Refund](f.t)(f.c.CreateRefund(f.ctx(), p.ID, api.RefundRequest{Amount: Amount(500)}))
		if r.Status != "failed" || r.CreditNoteID != nil || r.Receipt != nil {
			f.t.Fatalf("refused refund: %+v", r)
		}
		// Only the refund moves: the payment, its documents and its
		// receipts stay as they were.
		f.expect(ev(till.EventRefundFailed, r.ID, "failed"))
		if got := f.payment(p.ID); got.Status != "succeeded" || got.AmountRefunded != 0 {
			f.t.Fatalf("payment after a refused refund: %s, refunded %d", got.Status, got.AmountRefunded)
		}
	}},
	{name: "dispute", run: func(f *flow) {
		cust := f.customerWithCard("4000000000000259")
		p := f.charged(cust.ID, "succeeded")
		f.expect(succeeded(till.EventPaymentSucceeded, p)...)
		f.advance(61)
		f.waitPayment(p.ID, "disputed")
		f.expect(ev(till.EventPaymentDisputed, p.ID, "disputed"))
		// Time passing again reports nothing new (and so does the closing
		// advance of settle).
		f.advance(3600)
	}},
	{name: "customer lifecycle", run: func(f *flow) {
		c := f.customer()
		up := Must[*api.Customer](f.t)(f.c.UpdateCustomer(f.ctx(), c.ID, api.CustomerUpdate{Name: Str("Jana Schmidt")}))
		if up.Name != "Jana Schmidt" {
			f.t.Fatalf("update: %+v", up)
		}
		f.expect(ev(till.EventCustomerUpdated, c.ID, ""))
		first := f.card(c.ID, "4242424242424242", false) // the default: the customer's first card
		second := f.card(c.ID, "5555555555554444", false)
		Must[*api.PaymentMethod](f.t)(f.c.DetachPaymentMethod(f.ctx(), second.ID))
		f.expect(ev(till.EventPaymentMethodDetached, second.ID, ""))
		// A third card saved as the default, then detached: the customer
		// changes twice, with an event each time.
		third := f.card(c.ID, "378282246310005", true)
		if got := Must[*api.Customer](f.t)(f.c.Customer(f.ctx(), c.ID)); got.DefaultPaymentMethodID == nil || *got.DefaultPaymentMethodID != third.ID {
			f.t.Fatalf("default after setDefault: %+v", got.DefaultPaymentMethodID)
		}
		Must[*api.PaymentMethod](f.t)(f.c.DetachPaymentMethod(f.ctx(), third.ID))
		f.expect(ev(till.EventPaymentMethodDetached, third.ID, ""), ev(till.EventCustomerUpdated, c.ID, ""))
		del := Must[*api.DeletedObject](f.t)(f.c.DeleteCustomer(f.ctx(), c.ID))
		if !del.Deleted {
			f.t.Fatalf("delete: %+v", del)
		}
		// Deleting the customer detaches its remaining card, in the same
		// unit of work.
		f.expect(ev(till.EventPaymentMethodDetached, first.ID, ""), ev(till.EventCustomerDeleted, c.ID, ""))
	}},
	{name: "receipt refused by the mail server", smtp550: true, run: func(f *flow) {
		cust := f.customerWithCard("4242424242424242")
		p := f.charged(cust.ID, "succeeded")
		f.expect(ev(till.EventPaymentSucceeded, p.ID, "succeeded"), ev(till.EventInvoiceCreated, *p.InvoiceID, ""),
			ev(till.EventReceiptFailed, p.ID, "failed"))
	}},
	{name: "webhook endpoint disabled", run: func(f *flow) {
		dead := newReceiver(f.t)
		dead.setStatus(func(hook) int { return 500 })
		ep := f.env.endpoint(f.t, f.c, dead.URL, till.EventCustomerCreated)
		f.customer()
		// The first failure recorded (not only received): the endpoint is
		// failing from then on, in the account's clock.
		f.env.Eventually(20*time.Second, "the endpoint to be failing", func() bool {
			e := Must[*api.WebhookEndpoint](f.t)(f.c.WebhookEndpoint(f.ctx(), ep.ID))
			return len(dead.hooks()) >= 1 && e.Status == "failing" && e.FailingSince != nil
		})
		// Three days (account clock) of failures: the next failed retry
		// disables the endpoint, once.
		f.advance(72 * 3600)
		f.env.Eventually(20*time.Second, "the endpoint disabled", func() bool {
			return !Must[*api.WebhookEndpoint](f.t)(f.c.WebhookEndpoint(f.ctx(), ep.ID)).Enabled
		})
		f.expect(ev(till.EventWebhookEndpointDisabled, ep.ID, "disabled"))
	}},
}

// authenticateOnPage submits the hosted page of a requires_action payment with
// action approve or decline, as the payer's browser would.
func authenticateOnPage(f *flow, p *api.Payment, action string) {
	f.t.Helper()
	if p.NextAction == nil {
		f.t.Fatalf("no nextAction: %+v", p)
	}
	br := newPayBrowser(f.t, f.env)
	pg := br.get(p.NextAction.URL)
	if pg.status != http.StatusOK {
		f.t.Fatalf("GET %s: %d", p.NextAction.URL, pg.status)
	}
	res := br.post(p.NextAction.URL, url.Values{"action": {action}, "csrf": {formToken(f.t, pg)}}, f.env.URL)
	if res.status != http.StatusSeeOther {
		f.t.Fatalf("%s: %d\n%s", action, res.status, res.body)
	}
}

// TestEventFlows proves SPEC §5 and §12 through the HTTP API: every flow of
// a payment, a refund, a receipt, a customer, a card and a webhook endpoint
// emits exactly the events its transitions call for, once each and in
// order, each showing its object in the status it names, with
// objectVersion rising; once the background work has settled (and the
// clock has moved far ahead) nothing more appears. Together the flows emit
// every event type but those listed in unreachableEventTypes.
func TestEventFlows(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		var mu sync.Mutex
		seen := map[string]bool{}
		passed := 0
		t.Run("flows", func(t *testing.T) {
			for _, tc := range eventFlows {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					var opts Options
					if tc.smtp550 {
						opts.SMTPURL = smtptest.Start(t, smtptest.WithReject(-1, 550)).URL
					}
					env := Start(t, b, opts)
					f := &flow{t: t, env: env, c: env.Client, sentinel: map[string]bool{}}
					tc.run(f)
					f.settle()
					mu.Lock()
					defer mu.Unlock()
					for _, typ := range f.seen() {
						seen[typ] = true
					}
					passed++
				})
			}
		})
		if passed != len(eventFlows) {
			return // a flow failed or was not run (-run): the union is incomplete
		}
		for typ, why := range unreachableEventTypes {
			if seen[typ] {
				t.Errorf("%s is listed as unreachable (%s) but a flow emitted it: remove it from the list", typ, why)
			}
		}
		var missing []string
		for _, typ := range till.EventTypes {
			if !seen[typ] && unreachableEventTypes[typ] == "" {
				missing = append(missing, typ)
			}
		}
		if len(missing) > 0 {
			t.Errorf("no flow emits %v: add a flow (or, if it cannot be produced, list it with the reason in unreachableEventTypes)", missing)
		}
		t.Logf("%d flows emitted %d event types; %d of till.EventTypes are unreachable", len(eventFlows), len(seen), len(unreachableEventTypes))
		if unknown := slices.DeleteFunc(slices.Sorted(maps.Keys(seen)), func(typ string) bool { return slices.Contains(till.EventTypes, typ) }); len(unknown) > 0 {
			t.Errorf("flows emitted types missing from till.EventTypes: %v", unknown)
		}
	})
}
