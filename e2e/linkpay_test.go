package e2e

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/service"
)

// These tests pay links through the service's PayLink, the call the hosted
// page's form makes, on a real store; the page itself is tested in a
// browser (checkout_browser_test.go).

// newLink creates a link of amount EUR (net, exclusive tax) and returns it
// with its token.
func newLink(t *testing.T, env *Env, amount int64, opts ...func(*api.PaymentLinkRequest)) (*api.Payment, string) {
	t.Helper()
	in := api.PaymentLinkRequest{Amount: Amount(amount), Currency: "EUR", Description: "Class pack"}
	for _, o := range opts {
		o(&in)
	}
	l := Must[*api.Payment](t)(env.Client.CreatePaymentLink(env.Ctx(), in))
	i := strings.LastIndex(*l.URL, "/pay/")
	return l, (*l.URL)[i+len("/pay/"):]
}

// payer is what a payer enters, with card number.
func payer(email, number string) service.LinkPayParams {
	return service.LinkPayParams{Email: email, Name: "Jana Müller", Country: "DE", PostalCode: "10115",
		Card: till.Card{Number: number, ExpMonth: 12, ExpYear: time.Now().Year() + 2, CVC: "123"}}
}

// typesAbout lists the types of the events about objectID, oldest first.
func typesAbout(t *testing.T, env *Env, objectID string) []string {
	t.Helper()
	var out []string
	for _, e := range Must[*client.List[api.Event]](t)(env.Client.Events(env.Ctx(), client.ListParams{Limit: 100, Filters: map[string]string{"objectId": objectID}})).Data {
		out = append(out, e.Type)
	}
	slices.Reverse(out)
	return out
}

// TestPayLinkDeclineThenPay pays a link as a new payer: a declined card
// returns the link to pending with the attempt kept and the card dropped;
// the next card pays it, is vaulted on the customer found by email, and
// charges off-session later.
func TestPayLinkDeclineThenPay(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		l, token := newLink(t, env, 4900)

		p, err := env.Service.PayLink(ctx, token, payer("new.payer@example.com", "4000000000000002"))
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != till.StatusPending || p.Failure == nil || p.Failure.DeclineCode != "generic_decline" || len(p.Attempts) != 1 ||
			p.Attempts[0].Outcome != till.OutcomeFailed || p.PaymentMethodID != "" {
			t.Fatalf("after a decline: %+v", p)
		}
		custs := Must[*client.List[api.Customer]](t)(env.Client.Customers(ctx, client.ListParams{Filters: map[string]string{"email": "new.payer@example.com"}}))
		if len(custs.Data) != 1 || custs.Data[0].Name != "Jana Müller" || custs.Data[0].Address == nil || custs.Data[0].Address.Country != "DE" {
			t.Fatalf("customer: %+v", custs.Data)
		}
		cust := custs.Data[0]
		if pms := Must[*client.List[api.PaymentMethod]](t)(env.Client.PaymentMethods(ctx, cust.ID)); len(pms.Data) != 0 {
			t.Errorf("a declined card stayed saved: %+v", pms.Data)
		}
		view, err := env.Service.PayPage(ctx, token, service.LinkQuote{})
		if err != nil || !view.CanPay || view.Failure == nil || view.Failure.Message == "" {
			t.Fatalf("page after a decline: %+v %v", view, err)
		}

		p, err = env.Service.PayLink(ctx, token, payer("new.payer@example.com", "4242 4242 4242 4242"))
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != till.StatusSucceeded || p.CustomerID != cust.ID || p.InvoiceID == "" || p.AmountTotal != 5831 || len(p.Attempts) != 2 || p.Failure != nil {
			t.Fatalf("paid: %+v", p)
		}
		got := Must[*api.Customer](t)(env.Client.Customer(ctx, cust.ID))
		if got.DefaultPaymentMethodID == nil || *got.DefaultPaymentMethodID != p.PaymentMethodID {
			t.Errorf("the paying card is not the default: %+v", got)
		}
		if n := simChargeOutcomes(t, env, l.ID); n["succeeded"] != 1 || n["declined"] != 1 {
			t.Errorf("processor: %v", n)
		}
		want := []string{"payment.created", "payment.processing", "payment.failed", "payment.pending", "payment.processing",
			"payment.succeeded", "payment_link.paid"}
		env.Eventually(10*time.Second, "the receipt", func() bool {
			return slices.Contains(typesAbout(t, env, l.ID), "receipt.sent")
		})
		if got := slices.DeleteFunc(typesAbout(t, env, l.ID), func(s string) bool { return strings.HasPrefix(s, "receipt.") }); !slices.Equal(got, want) {
			t.Errorf("events: %v\nwant    %v", got, want)
		}
		mail := Must[*client.List[api.Email]](t)(env.Client.Emails(ctx, client.ListParams{Filters: map[string]string{"paymentId": l.ID}}))
		if len(mail.Data) != 1 || mail.Data[0].To != "new.payer@example.com" {
			t.Errorf("receipt: %+v", mail.Data)
		}

		// Paid: no second payment; the saved card charges off-session.
		_, err = env.Service.PayLink(ctx, token, payer("new.payer@example.com", "4242424242424242"))
		if till.ErrorCode(err) != till.EConflict {
			t.Errorf("paying a paid link: %v", err)
		}
		again := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR", Description: "Next month"}))
		if again.Status != "succeeded" || *again.PaymentMethodID != p.PaymentMethodID {
			t.Errorf("off-session charge of the saved card: %+v", again)
		}
		_, err = env.Client.CancelPaymentLink(ctx, l.ID)
		APIError(t, err, 409, "state_conflict")

		// A second link paid with the same email reuses the customer.
		_, token2 := newLink(t, env, 1000)
		p2, err := env.Service.PayLink(ctx, token2, payer("new.payer@example.com", "5555555555554444"))
		if err != nil || p2.Status != till.StatusSucceeded || p2.CustomerID != cust.ID {
			t.Fatalf("second link: %+v %v", p2, err)
		}
	})
}

// TestPayLinkTwoTabs pays each link from two tabs at once: exactly one
// charge, the other submission refused, one card kept.
func TestPayLinkTwoTabs(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		for i := range 5 {
			l, token := newLink(t, env, 2500)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			pays := make([]*till.Payment, 2)
			for j := range 2 {
				wg.Go(func() {
					pays[j], errs[j] = env.Service.PayLink(env.Ctx(), token, payer("tabs@example.com", "4242424242424242"))
				})
			}
			wg.Wait()
			ok := 0
			for j := range 2 {
				switch {
				case errs[j] == nil && pays[j].Status == till.StatusSucceeded:
					ok++
				case till.ErrorCode(errs[j]) == till.EConflict:
				default:
					t.Errorf("link %d tab %d: %+v %v", i, j, pays[j], errs[j])
				}
			}
			if ok != 1 {
				t.Errorf("link %d: %d tabs paid, want 1 (%v)", i, ok, errs)
			}
			if n := simChargeOutcomes(t, env, l.ID); n["succeeded"] != 1 || len(n) != 1 {
				t.Errorf("link %d: processor charges %v", i, n)
			}
		}
		custs := Must[*client.List[api.Customer]](t)(env.Client.Customers(env.Ctx(), client.ListParams{Filters: map[string]string{"email": "tabs@example.com"}}))
		if len(custs.Data) != 1 {
			t.Fatalf("customers: %+v", custs.Data)
		}
		if pms := Must[*client.List[api.PaymentMethod]](t)(env.Client.PaymentMethods(env.Ctx(), custs.Data[0].ID)); len(pms.Data) != 5 {
			t.Errorf("saved cards: %d, want one per paid link", len(pms.Data))
		}
	})
}

// TestPayLinkAuthentication pays a link with a card that asks for 3-D
// Secure: the challenge is on the same page; completing it pays and keeps
// the card, abandoning it returns the link to pending.
func TestPayLinkAuthentication(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		l, token := newLink(t, env, 1000)
		p, err := env.Service.PayLink(ctx, token, payer("sca@example.com", "4000002760003184"))
		if err != nil || p.Status != till.StatusRequiresAction || p.NextAction == nil || p.NextAction.URL != *l.URL {
			t.Fatalf("3-D Secure: %+v %v", p, err)
		}
		if view := Must[*service.PayView](t)(env.Service.PayPage(ctx, token, service.LinkQuote{})); !view.CanAuthenticate || view.CanPay {
			t.Errorf("page: %+v", view)
		}
		p, err = env.Service.CompleteAuthentication(ctx, token, false)
		if err != nil || p.Status != till.StatusPending || p.Failure == nil || p.PaymentMethodID != "" || p.NextAction != nil {
			t.Fatalf("abandoned: %+v %v", p, err)
		}
		p, err = env.Service.PayLink(ctx, token, payer("sca@example.com", "4000002760003184"))
		if err != nil || p.Status != till.StatusRequiresAction {
			t.Fatalf("second try: %+v %v", p, err)
		}
		p, err = env.Service.CompleteAuthentication(ctx, token, true)
		if err != nil || p.Status != till.StatusSucceeded || p.InvoiceID == "" {
			t.Fatalf("authenticated: %+v %v", p, err)
		}
		pm := Must[*api.PaymentMethod](t)(env.Client.PaymentMethod(ctx, p.PaymentMethodID))
		if pm.Card.Last4 != "3184" || !pm.IsDefault {
			t.Errorf("vaulted card: %+v", pm)
		}
		if n := simChargeOutcomes(t, env, l.ID); n["succeeded"] != 1 {
			t.Errorf("processor: %v", n)
		}
	})
}

// TestPayLinkTaxAndValidation prices a link for the payer's country and VAT
// number, refuses to charge a total other than the one shown, and names
// every bad field.
func TestPayLinkTaxAndValidation(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		Must[*api.Account](t)(env.Client.UpdateAccount(ctx, api.AccountUpdate{TaxRegistrations: &api.TaxRegistrations{EUOSS: true}}))
		_, token := newLink(t, env, 10000)

		de := Must[*service.PayView](t)(env.Service.PayPage(ctx, token, service.LinkQuote{}))
		fr := Must[*service.PayView](t)(env.Service.PayPage(ctx, token, service.LinkQuote{Country: "fr"}))
		b2b := Must[*service.PayView](t)(env.Service.PayPage(ctx, token, service.LinkQuote{Country: "FR", VATNumber: "fr 40 303 265 045"}))
		if de.Country != "DE" || de.AmountTotal != 11900 || fr.Country != "FR" || fr.AmountTotal != 12000 ||
			b2b.AmountTotal != 10000 || !b2b.ReverseCharge || b2b.VATNumber != "FR40303265045" {
			t.Errorf("quotes: DE %d, FR %d, FR B2B %d %v", de.AmountTotal, fr.AmountTotal, b2b.AmountTotal, b2b.ReverseCharge)
		}
		v, err := env.Service.PayPage(ctx, token, service.LinkQuote{Country: "FR", VATNumber: "DE123456789"})
		if e, ok := till.AsError(err); !ok || e.Code != till.EValidation || v == nil || v.AmountTotal != 11900 {
			t.Errorf("a German VAT number for France: %+v %v", v, err)
		}

		// The total shown was Germany's; the payer is French: nothing is
		// charged until they confirm France's total.
		in := payer("fr@example.com", "4242424242424242")
		in.Country, in.ExpectedTotal = "FR", de.AmountTotal
		_, err = env.Service.PayLink(ctx, token, in)
		if e, ok := till.AsError(err); !ok || e.Code != till.EValidation || e.Param != "total" {
			t.Fatalf("changed total: %v", err)
		}
		in.VATNumber, in.ExpectedTotal = "FR40303265045", b2b.AmountTotal
		p, err := env.Service.PayLink(ctx, token, in)
		if err != nil || p.Status != till.StatusSucceeded || p.AmountTotal != 10000 || p.TaxBreakdown[0].Reason != till.TaxReasonReverseCharge {
			t.Fatalf("reverse charge: %+v %v", p, err)
		}
		cust := Must[*api.Customer](t)(env.Client.Customer(ctx, p.CustomerID))
		if len(cust.TaxIDs) != 1 || cust.TaxIDs[0].Value != "FR40303265045" || cust.Address.Country != "FR" {
			t.Errorf("customer: %+v", cust)
		}

		// A customer with all the tax ids it may have keeps them: its link is
		// priced, and charged, without the payer's VAT number.
		ids := []till.TaxID{}
		for _, n := range []string{"11", "22", "33", "44", "55"} {
			ids = append(ids, till.TaxID{Type: "us_ein", Value: n + "-3456789"})
		}
		full := Must[*api.Customer](t)(env.Client.CreateCustomer(ctx, api.CustomerCreate{Email: "full@example.com", Address: &api.Address{Country: "FR"}, TaxIDs: ids}))
		_, token3 := newLink(t, env, 10000, func(r *api.PaymentLinkRequest) { r.CustomerID = full.ID })
		q := Must[*service.PayView](t)(env.Service.PayPage(ctx, token3, service.LinkQuote{Country: "FR", VATNumber: "FR40303265045"}))
		in3 := payer("full@example.com", "4242424242424242")
		in3.Country, in3.VATNumber, in3.ExpectedTotal = "FR", "FR40303265045", q.AmountTotal
		if p, err := env.Service.PayLink(ctx, token3, in3); err != nil || q.ReverseCharge || p.AmountTotal != 12000 {
			t.Errorf("customer with %d tax ids: quote %d reverse %v, paid %+v %v", len(ids), q.AmountTotal, q.ReverseCharge, p, err)
		}

		_, token2 := newLink(t, env, 500)
		_, err = env.Service.PayLink(ctx, token2, service.LinkPayParams{Email: "not an email", Country: "XX", VATNumber: "123",
			Card: till.Card{Number: "4242424242424241", ExpMonth: 13, ExpYear: 123}})
		e, ok := till.AsError(err)
		if !ok || e.Code != till.EValidation {
			t.Fatalf("bad input: %v", err)
		}
		var params []string
		for _, d := range e.Fields {
			params = append(params, d.Field)
		}
		slices.Sort(params)
		if want := []string{"card.expMonth", "card.expYear", "card.number", "country", "email", "name", "vatNumber"}; !slices.Equal(params, want) {
			t.Errorf("fields %v, want %v", params, want)
		}
		for _, d := range e.Fields {
			if strings.Contains(d.Message, "4242") {
				t.Errorf("a message repeats the card number: %q", d.Message)
			}
		}
		// Refused at save time: nothing recorded.
		_, err = env.Service.PayLink(ctx, token2, payer("cvc@example.com", "4000000000000127"))
		if till.ErrorCode(err) != till.ECardDeclined {
			t.Errorf("incorrect cvc: %v", err)
		}
		if p := Must[*api.Payment](t)(env.Client.Payment(ctx, linkID(t, env, token2))); p.Status != "pending" || len(p.Attempts) != 0 {
			t.Errorf("a card refused at save time changed the link: %+v", p)
		}
		_, err = env.Service.PayLink(ctx, "NoSuchToken", payer("x@example.com", "4242424242424242"))
		if till.ErrorCode(err) != till.ENotFound {
			t.Errorf("unknown token: %v", err)
		}
	})
}

// linkID finds the id of the link with token.
func linkID(t *testing.T, env *Env, token string) string {
	t.Helper()
	for _, p := range Must[*client.List[api.Payment]](t)(env.Client.Payments(env.Ctx(), client.ListParams{Limit: 100, Filters: map[string]string{"kind": "link"}})).Data {
		if p.URL != nil && strings.HasSuffix(*p.URL, "/pay/"+token) {
			return p.ID
		}
	}
	t.Fatalf("no link with the token")
	return ""
}
