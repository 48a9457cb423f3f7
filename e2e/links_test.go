package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
)

// fieldsOf returns the params a validation error names.
func fieldsOf(tb testing.TB, err error) []string {
	tb.Helper()
	ce := APIError(tb, err, 400, "validation_error")
	var out []string
	for _, f := range ce.Fields() {
		out = append(out, f.Field)
	}
	slices.Sort(out)
	return out
}

// TestPaymentLinkCreate checks what POST /v1/payment-links makes: a pending
// link with its page, a 24-hour default expiry on the account's clock, tax
// for the account's origin (or the customer's country), its own list
// filter, and an idempotent replay with the same url.
func TestPaymentLinkCreate(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		before := time.Now()
		l := Must[*api.Payment](t)(env.Client.CreatePaymentLink(ctx, api.PaymentLinkRequest{Amount: Amount(4900), Currency: "eur",
			Description: "Class pack", SuccessURL: "https://studio.example/thanks?x=1", Metadata: map[string]string{"order": "9"}},
			client.IdempotencyKey("link-a")))
		if l.Kind != "link" || l.Status != "pending" || l.Currency != "EUR" || l.CustomerID != nil || l.PaymentMethodID != nil {
			t.Fatalf("link: %+v", l)
		}
		// The bootstrap account is German, exclusive: 19 % on top.
		if l.AmountSubtotal != 4900 || l.TaxAmount != 931 || l.AmountTotal != 5831 || len(l.TaxBreakdown) != 1 || l.TaxBreakdown[0].Country != "DE" {
			t.Errorf("link amounts: %+v", l)
		}
		if l.URL == nil || !strings.HasPrefix(*l.URL, env.URL+"/pay/") || len(*l.URL) < len(env.URL+"/pay/")+32 {
			t.Fatalf("url: %v", l.URL)
		}
		if l.SuccessURL == nil || *l.SuccessURL != "https://studio.example/thanks?x=1" || l.Metadata["order"] != "9" {
			t.Errorf("successUrl/metadata: %+v", l)
		}
		if l.ExpiresAt == nil || l.ExpiresAt.Before(before.Add(24*time.Hour-time.Minute)) || l.ExpiresAt.After(time.Now().Add(24*time.Hour+time.Minute)) {
			t.Errorf("expiresAt %v, want 24 h from now", l.ExpiresAt)
		}
		if len(l.Attempts) != 0 || len(l.StatusHistory) != 1 || l.StatusHistory[0].Status != "pending" {
			t.Errorf("history: %+v", l)
		}
		again := Must[*api.Payment](t)(env.Client.CreatePaymentLink(ctx, api.PaymentLinkRequest{Amount: Amount(4900), Currency: "eur",
			Description: "Class pack", SuccessURL: "https://studio.example/thanks?x=1", Metadata: map[string]string{"order": "9"}},
			client.IdempotencyKey("link-a")))
		if again.ID != l.ID || *again.URL != *l.URL {
			t.Errorf("replay: %s %v, want %s %v", again.ID, again.URL, l.ID, *l.URL)
		}
		// The page is there.
		resp, err := http.Get(*l.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", *l.URL, resp.StatusCode)
		}

		// A link for a French customer: tax of France once the account
		// collects there (OSS), inclusive, with its own expiry.
		Must[*api.Account](t)(env.Client.UpdateAccount(ctx, api.AccountUpdate{TaxRegistrations: &api.TaxRegistrations{EUOSS: true}}))
		fr := env.Customer("FR")
		exp := time.Now().Add(72 * time.Hour).Truncate(time.Second)
		fl := Must[*api.Payment](t)(env.Client.CreatePaymentLink(ctx, api.PaymentLinkRequest{Amount: Amount(1200), Currency: "EUR",
			Description: "For a customer", CustomerID: fr.ID, ExpiresAt: &exp, TaxBehavior: "inclusive"}))
		if fl.CustomerID == nil || *fl.CustomerID != fr.ID || fl.AmountTotal != 1200 || fl.TaxAmount != 200 || !fl.ExpiresAt.Equal(exp) {
			t.Errorf("customer link: %+v", fl)
		}

		// Lists: kind=link has the links, kind=charge not.
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		charge := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "c"}))
		links := Must[*client.List[api.Payment]](t)(env.Client.Payments(ctx, client.ListParams{Filters: map[string]string{"kind": "link"}}))
		charges := Must[*client.List[api.Payment]](t)(env.Client.Payments(ctx, client.ListParams{Filters: map[string]string{"kind": "charge"}}))
		ids := func(l *client.List[api.Payment]) (out []string) {
			for _, p := range l.Data {
				out = append(out, p.ID)
			}
			return out
		}
		if got := ids(links); !slices.Equal(got, []string{fl.ID, l.ID}) {
			t.Errorf("kind=link: %v, want %v", got, []string{fl.ID, l.ID})
		}
		if got := ids(charges); !slices.Equal(got, []string{charge.ID}) {
			t.Errorf("kind=charge: %v", got)
		}
		_, err = env.Client.Payments(ctx, client.ListParams{Filters: map[string]string{"kind": "hold"}})
		APIError(t, err, 400, "validation_error")
	})
}

// TestPaymentLinkValidation checks that every bad field is named at once
// and nothing is stored.
func TestPaymentLinkValidation(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		past := time.Now().Add(-time.Minute)
		far := time.Now().Add(31 * 24 * time.Hour)
		for _, tc := range []struct {
			name string
			in   api.PaymentLinkRequest
			want []string
		}{
			{"empty", api.PaymentLinkRequest{}, []string{"amount", "currency", "description"}},
			{"past expiry, bad success url", api.PaymentLinkRequest{Amount: Amount(100), Currency: "EUR", Description: "x", ExpiresAt: &past,
				SuccessURL: "javascript:alert(1)"}, []string{"expiresAt", "successUrl"}},
			{"expiry beyond 30 days", api.PaymentLinkRequest{Amount: Amount(100), Currency: "EUR", Description: "x", ExpiresAt: &far}, []string{"expiresAt"}},
			{"relative success url", api.PaymentLinkRequest{Amount: Amount(100), Currency: "EUR", Description: "x", SuccessURL: "/thanks"}, []string{"successUrl"}},
			{"credentials in success url", api.PaymentLinkRequest{Amount: Amount(100), Currency: "EUR", Description: "x", SuccessURL: "https://u:p@shop.example/"}, []string{"successUrl"}},
			{"lines do not sum", api.PaymentLinkRequest{Amount: Amount(100), Currency: "EUR", Description: "x",
				LineItems: []api.LineItemInput{{Description: "a", Quantity: Int64(1), UnitAmount: Int64(99)}}}, []string{"lineItems"}},
			{"bad tax behavior", api.PaymentLinkRequest{Amount: Amount(100), Currency: "EUR", Description: "x", TaxBehavior: "gross"}, []string{"taxBehavior"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := env.Client.CreatePaymentLink(ctx, tc.in)
				if got := fieldsOf(t, err); !slices.Equal(got, tc.want) {
					t.Errorf("fields %v, want %v", got, tc.want)
				}
			})
		}
		_, err := env.Client.CreatePaymentLink(ctx, api.PaymentLinkRequest{Amount: Amount(0), Currency: "EUR", Description: "x"})
		APIError(t, err, 400, "amount_too_small")
		_, err = env.Client.CreatePaymentLink(ctx, api.PaymentLinkRequest{Amount: Amount(100), Currency: "XXX", Description: "x"})
		APIError(t, err, 400, "currency_unsupported")
		gone := env.Customer("DE")
		Must[*api.DeletedObject](t)(env.Client.DeleteCustomer(ctx, gone.ID))
		_, err = env.Client.CreatePaymentLink(ctx, api.PaymentLinkRequest{Amount: Amount(100), Currency: "EUR", Description: "x", CustomerID: gone.ID})
		APIError(t, err, 404, "resource_missing")
		_, err = env.Client.Raw(ctx, "POST", "/v1/payment-links", `{"amount":100,"currency":"EUR","description":"x","surprise":1}`)
		if ce, ok := err.(*client.Error); err != nil && (!ok || ce.Status != 400) {
			t.Errorf("unknown field: %v", err)
		}
		list := Must[*client.List[api.Payment]](t)(env.Client.Payments(ctx, client.ListParams{}))
		if len(list.Data) != 0 {
			t.Errorf("refused requests stored payments: %+v", list.Data)
		}
	})
}

// TestPaymentLinkCancelAndExpire checks the ends of a link nobody pays and
// the cancel of the other waiting payments (SPEC §5).
func TestPaymentLinkCancelAndExpire(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		mk := func() *api.Payment {
			return Must[*api.Payment](t)(env.Client.CreatePaymentLink(ctx, api.PaymentLinkRequest{Amount: Amount(1000), Currency: "EUR", Description: "link"}))
		}
		l := mk()
		c1 := Must[*api.Payment](t)(env.Client.CancelPaymentLink(ctx, l.ID))
		if c1.Status != "canceled" || c1.ObjectVersion != l.ObjectVersion+1 {
			t.Fatalf("cancel: %+v", c1)
		}
		c2 := Must[*api.Payment](t)(env.Client.CancelPaymentLink(ctx, l.ID))
		if c2.Status != "canceled" || c2.ObjectVersion != c1.ObjectVersion {
			t.Errorf("second cancel is not a no-op: %+v", c2)
		}
		if body := getPage(t, env, *l.URL); !strings.Contains(body, "canceled") {
			t.Errorf("canceled link's page:\n%s", body)
		}

		// A charge cannot be canceled as a link, nor once it succeeded.
		cust, _ := env.CustomerWithCard("DE", "4242424242424242")
		charge := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "c"}))
		_, err := env.Client.CancelPaymentLink(ctx, charge.ID)
		APIError(t, err, 409, "state_conflict")
		_, err = env.Client.CancelPayment(ctx, charge.ID)
		APIError(t, err, 409, "state_conflict")
		_, err = env.Client.CancelPaymentLink(ctx, "pay_nothing")
		APIError(t, err, 404, "resource_missing")

		// A scheduled charge canceled never runs.
		at := time.Now().Add(time.Hour)
		sched := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(300), Currency: "EUR",
			Description: "later", ScheduledAt: &at}))
		if got := Must[*api.Payment](t)(env.Client.CancelPayment(ctx, sched.ID)); got.Status != "canceled" {
			t.Fatalf("cancel scheduled: %+v", got)
		}
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 2*3600))
		sentinel := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1), Currency: "EUR", Description: "after"}))
		if sentinel.Status != "succeeded" {
			t.Fatalf("sentinel: %+v", sentinel)
		}
		if got := Must[*api.Payment](t)(env.Client.Payment(ctx, sched.ID)); got.Status != "canceled" || len(got.Attempts) != 0 {
			t.Errorf("canceled scheduled charge ran: %+v", got)
		}

		// Expiry on the account's clock, once; an expired link cannot be
		// canceled.
		e := mk()
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 24*3600-120))
		if p := Must[*api.Payment](t)(env.Client.Payment(ctx, e.ID)); p.Status != "pending" {
			t.Fatalf("expired early: %s", p.Status)
		}
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 180))
		waitStatus(t, env, e.ID, "expired")
		_, err = env.Client.CancelPaymentLink(ctx, e.ID)
		APIError(t, err, 409, "state_conflict")
		if body := getPage(t, env, *e.URL); !strings.Contains(body, "expired") {
			t.Errorf("expired link's page:\n%s", body)
		}

		// A planned retry canceled.
		Must[*api.Account](t)(env.Client.UpdateAccount(ctx, api.AccountUpdate{RetryPolicy: &till.RetryPolicy{Enabled: true, DelaysDays: []int{1}}}))
		soft, _ := env.CustomerWithCard("DE", "4000000000009995")
		_, err = env.Client.Charge(ctx, api.ChargeRequest{CustomerID: soft.ID, Amount: Amount(500), Currency: "EUR", Description: "retry"})
		retry := Must[*api.Payment](t)(env.Client.Payment(ctx, APIError(t, err, 402, "card_declined").Decline().PaymentID))
		if retry.Status != "retry_scheduled" {
			t.Fatalf("want retry_scheduled: %+v", retry)
		}
		if got := Must[*api.Payment](t)(env.Client.CancelPayment(ctx, retry.ID)); got.Status != "canceled" {
			t.Fatalf("cancel retry: %+v", got)
		}
	})
}

// TestRequiresActionExpires checks that a charge waiting for its payer's
// authentication expires after a day, and that its page says so.
func TestRequiresActionExpires(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		id, link := chargeNeedingAuth(t, env)
		p := Must[*api.Payment](t)(env.Client.Payment(ctx, id))
		asked := p.StatusHistory[len(p.StatusHistory)-1]
		if asked.Status != "requires_action" || p.ExpiresAt == nil || p.ExpiresAt.Sub(asked.At) != 24*time.Hour {
			t.Fatalf("expiresAt %v, requires_action since %+v", p.ExpiresAt, asked)
		}
		Must[*api.Clock](t)(env.Client.AdvanceClock(ctx, 86400+30))
		waitStatus(t, env, id, "expired")
		if body := getPage(t, env, link); !strings.Contains(body, "expired") {
			t.Errorf("page of an expired payment:\n%s", body)
		}
		if n := simChargeOutcomes(t, env, id); n["succeeded"] != 0 {
			t.Errorf("an expired payment was charged: %v", n)
		}
	})
}

// getPage GETs a hosted page and returns its body.
func getPage(tb testing.TB, env *Env, u string) string {
	tb.Helper()
	pg := newPayBrowser(tb, env).get(u)
	return pg.body
}
