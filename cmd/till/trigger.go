package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/processor/simulator"
)

// A trigger makes an event happen for real: it creates, through the API,
// the objects whose changes write the event, with the simulator's test
// cards (SPEC §4a). Most also write other events on the way (a charge
// writes customer.created, payment_method.attached, invoice.created …).
type trigger struct {
	event   string
	summary string
	run     func(ctx context.Context, r *triggerRun) error
}

func triggers() []trigger {
	return []trigger{
		{till.EventCustomerCreated, "creates a customer", func(ctx context.Context, r *triggerRun) error {
			_, err := r.customer(ctx)
			return err
		}},
		{till.EventCustomerUpdated, "creates a customer and renames it", func(ctx context.Context, r *triggerRun) error {
			cust, err := r.customer(ctx)
			if err != nil {
				return err
			}
			name := "Till Trigger (renamed)"
			if _, err := r.c.UpdateCustomer(ctx, cust.ID, api.CustomerUpdate{Name: &name}); err != nil {
				return err
			}
			r.printf("renamed customer %s to %q", cust.ID, name)
			return nil
		}},
		{till.EventCustomerDeleted, "creates a customer and deletes it", func(ctx context.Context, r *triggerRun) error {
			cust, err := r.customer(ctx)
			if err != nil {
				return err
			}
			if _, err := r.c.DeleteCustomer(ctx, cust.ID); err != nil {
				return err
			}
			r.printf("deleted customer %s", cust.ID)
			return nil
		}},
		{till.EventPaymentMethodAttached, "saves a Visa card for a new customer", func(ctx context.Context, r *triggerRun) error {
			_, _, err := r.customerWithCard(ctx, simulator.CardVisa)
			return err
		}},
		{till.EventPaymentMethodDetached, "saves a Visa card for a new customer and detaches it", func(ctx context.Context, r *triggerRun) error {
			_, pm, err := r.customerWithCard(ctx, simulator.CardVisa)
			if err != nil {
				return err
			}
			if _, err := r.c.DetachPaymentMethod(ctx, pm.ID); err != nil {
				return err
			}
			r.printf("detached card %s", pm.ID)
			return nil
		}},
		{till.EventPaymentSucceeded, "charges a new customer's Visa card", func(ctx context.Context, r *triggerRun) error {
			_, err := r.chargeCard(ctx, simulator.CardVisa, nil, till.StatusSucceeded)
			return err
		}},
		{till.EventPaymentFailed, "charges a card the issuer declines (4000000000000002, generic_decline)", func(ctx context.Context, r *triggerRun) error {
			_, err := r.chargeCard(ctx, simulator.CardDeclined, nil, till.StatusFailed)
			return err
		}},
		{till.EventPaymentProcessing, "charges a card whose charge is pending (4000000000001000; it succeeds 5 s later)", func(ctx context.Context, r *triggerRun) error {
			_, err := r.chargeCard(ctx, simulator.CardPendingSucceeds, nil, till.StatusProcessing)
			return err
		}},
		{till.EventPaymentRequiresAction, "charges off-session a card that requires authentication (4000002760003184)", func(ctx context.Context, r *triggerRun) error {
			_, err := r.chargeCard(ctx, simulator.CardAuthentication, nil, till.StatusRequiresAction)
			return err
		}},
		{till.EventPaymentRetryScheduled, "charges a card with insufficient funds (4000000000009995), a soft decline the retry policy retries", func(ctx context.Context, r *triggerRun) error {
			p, err := r.chargeCard(ctx, simulator.CardInsufficientFunds, nil, "")
			if err == nil && p.Status != string(till.StatusRetryScheduled) {
				err = fmt.Errorf("payment %s is %s, not retry_scheduled: the account's retry policy is off (PATCH /v1/account {\"retryPolicy\":{\"enabled\":true}})", p.ID, p.Status)
			}
			return err
		}},
		{till.EventPaymentScheduled, "schedules a charge of a new customer's Visa card a day ahead (account clock)", func(ctx context.Context, r *triggerRun) error {
			cust, _, err := r.customerWithCard(ctx, simulator.CardVisa)
			if err != nil {
				return err
			}
			// The customer's createdAt is the account clock's now (a test
			// clock may be ahead of the wall clock).
			at := cust.CreatedAt.Add(24 * time.Hour).Truncate(time.Second)
			_, err = r.charge(ctx, api.ChargeRequest{CustomerID: cust.ID, ScheduledAt: &at}, till.StatusScheduled)
			return err
		}},
		{till.EventPaymentAuthorized, "places a hold on a new customer's Visa card (capture: false)", func(ctx context.Context, r *triggerRun) error {
			_, err := r.chargeCard(ctx, simulator.CardVisa, &api.ChargeRequest{Capture: new(bool)}, till.StatusAuthorized)
			return err
		}},
		{till.EventPaymentCaptured, "places a hold and captures it", func(ctx context.Context, r *triggerRun) error {
			p, err := r.chargeCard(ctx, simulator.CardVisa, &api.ChargeRequest{Capture: new(bool)}, till.StatusAuthorized)
			if err != nil {
				return err
			}
			if p, err = r.c.Capture(ctx, p.ID, api.CaptureRequest{}); err != nil {
				return err
			}
			r.printf("captured payment %s: %s", p.ID, p.Status)
			return nil
		}},
		{till.EventPaymentCanceled, "places a hold and releases it", func(ctx context.Context, r *triggerRun) error {
			p, err := r.chargeCard(ctx, simulator.CardVisa, &api.ChargeRequest{Capture: new(bool)}, till.StatusAuthorized)
			if err != nil {
				return err
			}
			if p, err = r.c.Release(ctx, p.ID); err != nil {
				return err
			}
			r.printf("released payment %s: %s", p.ID, p.Status)
			return nil
		}},
		{till.EventPaymentRefunded, "charges a Visa card and refunds it in full", refundTrigger(simulator.CardVisa, "succeeded")},
		{till.EventRefundSucceeded, "charges a Visa card and refunds it in full", refundTrigger(simulator.CardVisa, "succeeded")},
		{till.EventCreditNoteCreated, "charges a Visa card and refunds it in full (the refund's credit note)", refundTrigger(simulator.CardVisa, "succeeded")},
		{till.EventRefundFailed, "charges a card whose refunds the issuer declines (4000000000004004) and refunds it", refundTrigger(simulator.CardRefundFails, "failed")},
		{till.EventPaymentDisputed, "charges the dispute card (4000000000000259) and moves the test clock 61 s on, past the chargeback", func(ctx context.Context, r *triggerRun) error {
			p, err := r.chargeCard(ctx, simulator.CardDispute, nil, till.StatusSucceeded)
			if err != nil {
				return err
			}
			secs := int64((simulator.DisputeDelay + time.Second) / time.Second)
			clock, err := r.c.AdvanceClock(ctx, secs)
			if err != nil {
				return err
			}
			r.printf("advanced the account's test clock by %d s (now %s) so that the chargeback arrives", secs, clock.Now.Format(time.RFC3339))
			p, err = r.waitPayment(ctx, p.ID, "disputed", func(p *api.Payment) bool { return p.Status == string(till.StatusDisputed) })
			if err != nil {
				return err
			}
			r.printf("payment %s: %s", p.ID, p.Status)
			return nil
		}},
		{till.EventPaymentCreated, "creates a payment link for a new customer", func(ctx context.Context, r *triggerRun) error {
			cust, err := r.customer(ctx)
			if err != nil {
				return err
			}
			_, err = r.link(ctx, api.PaymentLinkRequest{CustomerID: cust.ID})
			return err
		}},
		{till.EventPaymentExpired, "creates a payment link that expires in a minute and moves the test clock 61 s on", func(ctx context.Context, r *triggerRun) error {
			cust, err := r.customer(ctx)
			if err != nil {
				return err
			}
			// The customer's createdAt is the account clock's now.
			at := cust.CreatedAt.Add(time.Minute)
			l, err := r.link(ctx, api.PaymentLinkRequest{CustomerID: cust.ID, ExpiresAt: &at})
			if err != nil {
				return err
			}
			clock, err := r.c.AdvanceClock(ctx, 61)
			if err != nil {
				return err
			}
			r.printf("advanced the account's test clock by 61 s (now %s), past the link's expiresAt", clock.Now.Format(time.RFC3339))
			l, err = r.waitPayment(ctx, l.ID, "expired", func(p *api.Payment) bool { return p.Status == string(till.StatusExpired) })
			if err != nil {
				return err
			}
			r.printf("payment link %s: %s", l.ID, l.Status)
			return nil
		}},
		{till.EventPaymentLinkPaid, "creates a payment link and pays it on its hosted page with a Visa card", func(ctx context.Context, r *triggerRun) error {
			return r.linkPaidOnPage(ctx, simulator.CardVisa, till.StatusSucceeded)
		}},
		{till.EventPaymentPending, "creates a payment link and pays it on its page with a card the issuer declines (4000000000000002): the link waits again", func(ctx context.Context, r *triggerRun) error {
			return r.linkPaidOnPage(ctx, simulator.CardDeclined, till.StatusPending)
		}},
		{till.EventInvoiceCreated, "charges a Visa card (its invoice)", func(ctx context.Context, r *triggerRun) error {
			p, err := r.chargeCard(ctx, simulator.CardVisa, nil, till.StatusSucceeded)
			if err == nil && p.InvoiceID != nil {
				r.printf("invoice %s", *p.InvoiceID)
			}
			return err
		}},
		{till.EventReceiptSent, "charges a Visa card and waits for its receipt to be sent", func(ctx context.Context, r *triggerRun) error {
			p, err := r.chargeCard(ctx, simulator.CardVisa, nil, till.StatusSucceeded)
			if err != nil {
				return err
			}
			p, err = r.waitPayment(ctx, p.ID, "its receipt sent", func(p *api.Payment) bool {
				return p.Receipt != nil && p.Receipt.Status != till.ReceiptPending
			})
			if err != nil {
				return err
			}
			if p.Receipt.Status != till.ReceiptSent {
				return fmt.Errorf("the receipt of %s is %s, not sent", p.ID, p.Receipt.Status)
			}
			r.printf("receipt of payment %s sent to %s", p.ID, p.Receipt.Email)
			return nil
		}},
	}
}

// refundTrigger charges card and refunds the payment in full, expecting the
// refund to end in status.
func refundTrigger(card, status string) func(ctx context.Context, r *triggerRun) error {
	return func(ctx context.Context, r *triggerRun) error {
		p, err := r.chargeCard(ctx, card, nil, till.StatusSucceeded)
		if err != nil {
			return err
		}
		re, err := r.c.CreateRefund(ctx, p.ID, api.RefundRequest{Reason: "requested_by_customer"})
		if err != nil {
			return err
		}
		line := fmt.Sprintf("refunded payment %s: refund %s of %s, %s", p.ID, re.ID, money(re.Amount, re.Currency), re.Status)
		if re.CreditNoteID != nil {
			line += ", credit note " + *re.CreditNoteID
		}
		r.printf("%s", line)
		if re.Status != status {
			return fmt.Errorf("refund %s is %s, not %s", re.ID, re.Status, status)
		}
		return nil
	}
}

// triggerRun is one till trigger: its client and output.
type triggerRun struct {
	c   *client.Client
	out io.Writer
}

func (r *triggerRun) printf(format string, args ...any) {
	fmt.Fprintf(r.out, format+"\n", args...)
}

func (r *triggerRun) customer(ctx context.Context) (*api.Customer, error) {
	cust, err := r.c.CreateCustomer(ctx, api.CustomerCreate{Email: "trigger@example.com", Name: "Till Trigger",
		Address: &api.Address{Country: "DE"}, Metadata: till.Metadata{"createdBy": "till trigger"}})
	if err != nil {
		return nil, err
	}
	r.printf("created customer %s (%s)", cust.ID, cust.Email)
	return cust, nil
}

func (r *triggerRun) customerWithCard(ctx context.Context, number string) (*api.Customer, *api.PaymentMethod, error) {
	cust, err := r.customer(ctx)
	if err != nil {
		return nil, nil, err
	}
	pm, err := r.c.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{SetDefault: true,
		Card: &api.CardInput{Number: number, ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123", HolderName: "Till Trigger"}})
	if err != nil {
		return nil, nil, err
	}
	r.printf("saved card %s (%s ending %s) for %s", pm.ID, pm.Card.Brand, pm.Card.Last4, cust.ID)
	return cust, pm, nil
}

// link creates a payment link of EUR 25.00 (unless in names an amount).
func (r *triggerRun) link(ctx context.Context, in api.PaymentLinkRequest) (*api.Payment, error) {
	if in.Amount == nil {
		amount := int64(2500)
		in.Amount = &amount
	}
	in.Currency, in.Description = "EUR", "till trigger"
	in.Metadata = till.Metadata{"createdBy": "till trigger"}
	l, err := r.c.CreatePaymentLink(ctx, in)
	if err != nil {
		return nil, err
	}
	r.printf("created payment link %s (%s, %s): %s", l.ID, money(l.AmountTotal, l.Currency), l.Status, *l.URL)
	return l, nil
}

// chargeCard charges EUR 25.00 to a new customer's card number (with the
// fields of in, when given) and expects the payment in status want (any
// status when empty).
func (r *triggerRun) chargeCard(ctx context.Context, number string, in *api.ChargeRequest, want till.Status) (*api.Payment, error) {
	cust, _, err := r.customerWithCard(ctx, number)
	if err != nil {
		return nil, err
	}
	req := api.ChargeRequest{}
	if in != nil {
		req = *in
	}
	req.CustomerID = cust.ID
	return r.charge(ctx, req, want)
}

// charge sends a charge of EUR 25.00 (unless in names an amount): a decline
// is a payment too, read back and reported.
func (r *triggerRun) charge(ctx context.Context, in api.ChargeRequest, want till.Status) (*api.Payment, error) {
	if in.Amount == nil {
		amount := int64(2500)
		in.Amount = &amount
	}
	in.Currency, in.Description = "EUR", "till trigger"
	p, err := r.c.Charge(ctx, in)
	var ae *client.Error
	if errors.As(err, &ae) && ae.Decline() != nil && ae.Decline().PaymentID != "" {
		if p, err = r.c.Payment(ctx, ae.Decline().PaymentID); err == nil {
			r.printf("charged %s: declined (%s)", in.CustomerID, ae.Decline().DeclineCode)
		}
	}
	if err != nil {
		return nil, err
	}
	r.printf("payment %s of %s: %s", p.ID, money(p.AmountTotal, p.Currency), p.Status)
	if want != "" && p.Status != string(want) {
		return nil, fmt.Errorf("payment %s is %s, not %s", p.ID, p.Status, want)
	}
	return p, nil
}

// waitPayment reads a payment every 250 ms until cond holds, for up to 30 s
// (background workers make the change).
func (r *triggerRun) waitPayment(ctx context.Context, id, what string, cond func(*api.Payment) bool) (*api.Payment, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := r.c.Payment(ctx, id)
		if err != nil {
			return nil, err
		}
		if cond(p) {
			return p, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("payment %s: not %s after 30 s (is till serve's background work running?)", id, what)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// money formats an amount of a currency with two decimals: till trigger
// charges EUR only.
func money(amount int64, currency string) string {
	return fmt.Sprintf("%s %d.%02d", currency, amount/100, amount%100)
}

func triggerUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: till trigger EVENT [--api URL] [--key sk_test_…]

Makes EVENT happen in the key's account, in test mode, by creating through
the API the objects whose changes write it (a customer, a test card, a
charge, a refund …), and prints what it created. Most triggers write other
events on the way. Run till listen beside it to see them delivered.

Events:
`)
	for _, t := range triggers() {
		fmt.Fprintf(w, "  %-26s %s\n", t.event, t.summary)
	}
	fmt.Fprint(w, "\nFlags:\n")
}

func runTrigger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var af apiFlags
	fs := flag.NewFlagSet("trigger", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		triggerUsage(stderr)
		fs.PrintDefaults()
	}
	af.register(fs)
	// The event comes first or after the flags: till trigger EVENT --key …
	// and till trigger --key … EVENT both work.
	var event string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		event, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if event == "" && len(rest) > 0 {
		event, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return usageError{"unexpected arguments: " + strings.Join(rest, " ")}
	}
	var names []string
	var found *trigger
	for _, t := range triggers() {
		names = append(names, t.event)
		if t.event == event {
			found = &t
		}
	}
	if found == nil {
		what := "name the event to trigger"
		if event != "" {
			what = fmt.Sprintf("cannot trigger %q", event)
		}
		return usageError{fmt.Sprintf("%s: till trigger EVENT, where EVENT is one of %s (till trigger -h describes each)", what, strings.Join(names, ", "))}
	}
	cl, err := af.client()
	if err != nil {
		return err
	}
	if err := found.run(ctx, &triggerRun{c: cl, out: stdout}); err != nil {
		return fmt.Errorf("%s: %w", found.event, err)
	}
	fmt.Fprintf(stdout, "Triggered %s.\n", found.event)
	return nil
}
