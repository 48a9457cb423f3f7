package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/client"
	"github.com/tillpay/till/service"
)

// TestAccountDefaults checks the bootstrapped account as each mode's secret
// key sees it.
func TestAccountDefaults(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		a := Must[*api.Account](t)(env.Client.Account(env.Ctx()))
		if a.ID != env.Keys.ID || a.Object != "account" || a.Name != "Till Test Merchant" || a.LegalName != "Till Test Merchant" {
			t.Fatalf("account: %+v", a)
		}
		if a.OriginCountry != "DE" || a.Address == nil || a.Address.Country != "DE" || a.InvoicePrefix != "TILLTE" {
			t.Fatalf("origin, address, prefix: %+v %+v", a, a.Address)
		}
		if a.DefaultTaxBehavior != "exclusive" || a.TaxRegistrations.EUOSS || len(a.TaxRegistrations.Countries) != 0 || len(a.CustomTaxRates) != 0 {
			t.Fatalf("tax settings: %+v", a)
		}
		if !a.RetryPolicy.Enabled || fmt.Sprint(a.RetryPolicy.DelaysDays) != "[1 3 5]" {
			t.Fatalf("retry policy: %+v", a.RetryPolicy)
		}
		if a.Branding.DisplayName != "Till Test Merchant" || a.Branding.Color != "#1a56db" {
			t.Fatalf("branding: %+v", a.Branding)
		}
		if a.Processor.Name != "simulator" || a.Processor.SecretKeyLast4 != nil || a.Livemode || a.CreatedAt.IsZero() {
			t.Fatalf("processor, livemode: %+v", a)
		}
		// Lists render as [] rather than null.
		raw := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "GET", "/v1/account", nil))
		for _, want := range []string{`"countries":[]`, `"customTaxRates":[]`, `"livemode":false`, `"secretKeyLast4":null`} {
			if !bytes.Contains(raw.Body, []byte(want)) {
				t.Fatalf("account JSON lacks %s: %s", want, raw.Body)
			}
		}

		live := Must[*api.Account](t)(env.Client.WithKey(env.Keys.LiveSecretKey).Account(env.Ctx()))
		if live.ID != a.ID || !live.Livemode || live.Name != a.Name {
			t.Fatalf("live account: %+v", live)
		}
	})
}

// TestAccountUpdate sets every settable field, checks the answer and a fresh
// read, and that a later partial update leaves the other fields alone.
func TestAccountUpdate(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		in := api.AccountUpdate{
			Name: Str("  Acme GmbH  "), LegalName: Str("Acme Software GmbH"),
			Address:       &api.Address{Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "de"},
			OriginCountry: Str("de"), VATNumber: Str("de 123 456 789"), SupportEmail: Str("help@acme.example"),
			ReceiptFrom: Str("receipts@acme.example"), InvoicePrefix: Str("acme-inv"), DefaultTaxBehavior: Str("inclusive"),
			TaxRegistrations: &api.TaxRegistrations{EUOSS: true, Countries: []string{"gb", "NO", "GB"}},
			CustomTaxRates: &[]api.CustomTaxRate{
				{Country: "US", Region: "ny", Rate: "8.875", Name: "New York sales tax"},
				{Country: "us", Rate: "0", Name: "US other"},
				{Country: "CA", Region: "QC", Rate: "14.975", Name: "GST+QST"},
			},
			RetryPolicy: &till.RetryPolicy{Enabled: true, DelaysDays: []int{2, 4}},
			Branding:    &till.Branding{DisplayName: "Acme", Color: "#FF0066"},
		}
		check := func(a *api.Account) {
			t.Helper()
			if a.Name != "Acme GmbH" || a.LegalName != "Acme Software GmbH" || a.OriginCountry != "DE" || a.VATNumber != "DE123456789" {
				t.Fatalf("names, origin, vat: %+v", a)
			}
			if a.Address == nil || *a.Address != (api.Address{Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"}) {
				t.Fatalf("address: %+v", a.Address)
			}
			if a.SupportEmail != "help@acme.example" || a.ReceiptFrom != "receipts@acme.example" || a.InvoicePrefix != "ACME-INV" || a.DefaultTaxBehavior != "inclusive" {
				t.Fatalf("emails, prefix, behavior: %+v", a)
			}
			if !a.TaxRegistrations.EUOSS || fmt.Sprint(a.TaxRegistrations.Countries) != "[GB NO]" {
				t.Fatalf("registrations: %+v", a.TaxRegistrations)
			}
			want := []api.CustomTaxRate{
				{Country: "US", Region: "NY", Rate: "8.875", Name: "New York sales tax"},
				{Country: "US", Rate: "0", Name: "US other"},
				{Country: "CA", Region: "QC", Rate: "14.975", Name: "GST+QST"},
			}
			if !reflect.DeepEqual(a.CustomTaxRates, want) {
				t.Fatalf("custom rates: %+v", a.CustomTaxRates)
			}
			if !a.RetryPolicy.Enabled || fmt.Sprint(a.RetryPolicy.DelaysDays) != "[2 4]" || a.Branding != (till.Branding{DisplayName: "Acme", Color: "#FF0066"}) {
				t.Fatalf("retry, branding: %+v %+v", a.RetryPolicy, a.Branding)
			}
		}
		check(Must[*api.Account](t)(env.Client.UpdateAccount(env.Ctx(), in)))
		check(Must[*api.Account](t)(env.Client.Account(env.Ctx())))
		// The rate travels as a decimal string, never a float.
		raw := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "GET", "/v1/account", nil))
		if !bytes.Contains(raw.Body, []byte(`"rate":"8.875"`)) {
			t.Fatalf("rate string: %s", raw.Body)
		}

		// A partial update changes only what it names.
		a := Must[*api.Account](t)(env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{SupportEmail: Str("")}))
		if a.SupportEmail != "" || a.Name != "Acme GmbH" || len(a.CustomTaxRates) != 3 || a.DefaultTaxBehavior != "inclusive" {
			t.Fatalf("partial update: %+v", a)
		}
		a = Must[*api.Account](t)(env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{
			CustomTaxRates: &[]api.CustomTaxRate{}, RetryPolicy: &till.RetryPolicy{Enabled: false}, SupportEmail: Str("help@acme.example"),
		}))
		if len(a.CustomTaxRates) != 0 || a.RetryPolicy.Enabled || len(a.RetryPolicy.DelaysDays) != 0 || a.VATNumber != "DE123456789" {
			t.Fatalf("clearing lists: %+v", a)
		}
		// The live key sees the same settings.
		live := Must[*api.Account](t)(env.Client.WithKey(env.Keys.LiveSecretKey).Account(env.Ctx()))
		if live.Name != "Acme GmbH" || live.InvoicePrefix != "ACME-INV" || !live.Livemode {
			t.Fatalf("live view: %+v", live)
		}
	})
}

// TestAccountUpdateInvalid sends a PATCH with many bad fields: all are
// reported in details, param names the first, and nothing changes — not
// even the valid fields of the same request.
func TestAccountUpdateInvalid(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		before := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "GET", "/v1/account", nil))
		_, err := env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{
			Name: Str("   "), LegalName: Str("Fine Legal Name"), SupportEmail: Str("not-an-email"),
			Address: &api.Address{Country: "XX"}, OriginCountry: Str("Germany"), VATNumber: Str("DE12"),
			InvoicePrefix: Str("bad prefix!"), DefaultTaxBehavior: Str("sometimes"),
			TaxRegistrations: &api.TaxRegistrations{Countries: []string{"FR", "ZZ"}},
			CustomTaxRates:   &[]api.CustomTaxRate{{Country: "US", Rate: "8.87555", Name: "x"}, {Country: "U", Rate: "abc", Name: ""}},
			RetryPolicy:      &till.RetryPolicy{Enabled: true, DelaysDays: []int{1, 0, 61}},
			Branding:         &till.Branding{Color: "red"},
		})
		ce := APIError(t, err, 400, "validation_error")
		wantFields(t, ce, "name", "supportEmail", "address.country", "originCountry", "vatNumber", "invoicePrefix",
			"defaultTaxBehavior", "taxRegistrations.countries[1]", "customTaxRates[0].rate", "customTaxRates[1].country",
			"customTaxRates[1].rate", "customTaxRates[1].name", "retryPolicy.delaysDays[1]", "retryPolicy.delaysDays[2]", "branding.color")
		if !strings.Contains(ce.Message, "more problems") {
			t.Fatalf("message should say there are more problems: %q", ce.Message)
		}
		after := Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "GET", "/v1/account", nil))
		if !bytes.Equal(before.Body, after.Body) {
			t.Fatalf("account changed by a refused update:\n%s\n%s", before.Body, after.Body)
		}

		// One bad field among good ones: still nothing changes.
		_, err = env.Client.UpdateAccount(env.Ctx(), api.AccountUpdate{Name: Str("New Name"), Branding: &till.Branding{Color: "#12345"}})
		wantFields(t, APIError(t, err, 400, "validation_error"), "branding.color")
		if a := Must[*api.Account](t)(env.Client.Account(env.Ctx())); a.Name != "Till Test Merchant" {
			t.Fatalf("name changed by a refused update: %q", a.Name)
		}
		for _, tc := range []struct {
			in    api.AccountUpdate
			field string
		}{
			{api.AccountUpdate{Name: Str(strings.Repeat("n", 201))}, "name"},
			{api.AccountUpdate{Name: Str("a\x00b")}, "name"},
			{api.AccountUpdate{ReceiptFrom: Str("Receipts <r@acme.example> x")}, "receiptFrom"},
			{api.AccountUpdate{CustomTaxRates: &[]api.CustomTaxRate{{Country: "US", Rate: "100.1", Name: "x"}}}, "customTaxRates[0].rate"},
			{api.AccountUpdate{CustomTaxRates: &[]api.CustomTaxRate{{Country: "US", Rate: "-1", Name: "x"}}}, "customTaxRates[0].rate"},
			{api.AccountUpdate{RetryPolicy: &till.RetryPolicy{Enabled: true, DelaysDays: make([]int, 11)}}, "retryPolicy.delaysDays"},
			{api.AccountUpdate{Processor: &api.ProcessorSettings{Name: "stripe", SecretKey: "sk_test_x"}}, "processor.name"},
		} {
			_, err := env.Client.UpdateAccount(env.Ctx(), tc.in)
			if ce := APIError(t, err, 400, "validation_error"); ce.Param != tc.field {
				t.Fatalf("%+v: param %q, want %q", tc.in, ce.Param, tc.field)
			}
		}
		after = Must[*client.Response](t)(env.Client.Raw(env.Ctx(), "GET", "/v1/account", nil))
		if !bytes.Equal(before.Body, after.Body) {
			t.Fatalf("account changed by refused updates:\n%s\n%s", before.Body, after.Body)
		}
	})
}

// TestLiveModeIsolation checks that a live key sees none of the test-mode
// data and cannot charge without a live processor.
func TestLiveModeIsolation(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		live := env.Client.WithKey(env.Keys.LiveSecretKey)
		cust, pm := env.CustomerWithCard("DE", "4242424242424242")
		p := Must[*api.Payment](t)(env.Client.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "x"}))

		_, err := live.Customer(env.Ctx(), cust.ID)
		if ce := APIError(t, err, 404, "resource_missing"); ce.Message != fmt.Sprintf("No such customer: '%s'", cust.ID) {
			t.Fatalf("message: %q", ce.Message)
		}
		_, err = live.Payment(env.Ctx(), p.ID)
		APIError(t, err, 404, "resource_missing")
		_, err = live.PaymentMethod(env.Ctx(), pm.ID)
		APIError(t, err, 404, "resource_missing")
		_, err = live.UpdateCustomer(env.Ctx(), cust.ID, api.CustomerUpdate{Name: Str("hijacked")})
		APIError(t, err, 404, "resource_missing")
		_, err = live.DetachPaymentMethod(env.Ctx(), pm.ID)
		APIError(t, err, 404, "resource_missing")
		if l := Must[*client.List[api.Customer]](t)(live.Customers(env.Ctx(), client.ListParams{})); len(l.Data) != 0 {
			t.Fatalf("live customers: %+v", l.Data)
		}
		if l := Must[*client.List[api.Payment]](t)(live.Payments(env.Ctx(), client.ListParams{})); len(l.Data) != 0 {
			t.Fatalf("live payments: %+v", l.Data)
		}

		// A live customer exists only in live mode.
		lc := Must[*api.Customer](t)(live.CreateCustomer(env.Ctx(), api.CustomerCreate{Email: "live@example.com"}))
		if !lc.Livemode {
			t.Fatalf("live customer livemode: %+v", lc)
		}
		_, err = env.Client.Customer(env.Ctx(), lc.ID)
		APIError(t, err, 404, "resource_missing")
		if n := countCustomers(t, env); n != 1 {
			t.Fatalf("test customers: %d", n)
		}
		// No live processor: saving a card and charging are forbidden.
		_, err = live.AddPaymentMethod(env.Ctx(), lc.ID, api.PaymentMethodCreate{Card: card("4242424242424242")})
		if ce := APIError(t, err, 403, "live_mode_forbidden"); ce.Type != "permission_error" {
			t.Fatalf("type: %s", ce.Type)
		}
		_, err = live.Charge(env.Ctx(), api.ChargeRequest{CustomerID: lc.ID, Amount: Amount(100), Currency: "EUR", Description: "x"})
		APIError(t, err, 403, "live_mode_forbidden")
		_, err = live.Charge(env.Ctx(), api.ChargeRequest{CustomerID: cust.ID, PaymentMethodID: pm.ID, Amount: Amount(100), Currency: "EUR", Description: "x"})
		APIError(t, err, 403, "live_mode_forbidden")
		_, err = live.AdvanceClock(env.Ctx(), 60)
		APIError(t, err, 403, "live_mode_forbidden")
		_, err = live.ProcessorCharges(env.Ctx(), "", p.ID)
		APIError(t, err, 403, "live_mode_forbidden")
		if n := countPayments(t, env); n != 1 {
			t.Fatalf("test payments: %d", n)
		}
	})
}

// TestTenantIsolation checks that another account's key can neither read
// nor change the first account's objects, and gets the same 404 as for an id
// that does not exist.
func TestTenantIsolation(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		keys := Must[*service.AccountKeys](t)(env.Service.CreateAccount(ctx, nil, service.NewAccountParams{Name: "Other"}))
		other := env.Client.WithKey(keys.TestSecretKey)
		cust, pm := env.CustomerWithCard("DE", "4242424242424242")
		p := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "x"}))
		otherCust, otherPM := func() (*api.Customer, *api.PaymentMethod) {
			c := Must[*api.Customer](t)(other.CreateCustomer(ctx, api.CustomerCreate{Email: "o@example.com"}))
			return c, Must[*api.PaymentMethod](t)(other.AddPaymentMethod(ctx, c.ID, api.PaymentMethodCreate{Card: card("4242424242424242")}))
		}()
		if otherPM.Card.Fingerprint == pm.Card.Fingerprint {
			t.Fatalf("fingerprints are keyed per account, yet equal across accounts")
		}

		// sameAsMissing asserts that err for a foreign id matches the error
		// for a made-up id of the same kind, apart from the id itself.
		sameAsMissing := func(what string, foreign string, err, missingErr error) {
			t.Helper()
			fe := APIError(t, err, 404, "resource_missing")
			me := APIError(t, missingErr, 404, "resource_missing")
			if strings.ReplaceAll(fe.Message, foreign, "ID") != strings.ReplaceAll(me.Message, "xx_missing", "ID") || fe.Param != me.Param || fe.Type != me.Type {
				t.Fatalf("%s: foreign %q/%q vs missing %q/%q", what, fe.Message, fe.Param, me.Message, me.Param)
			}
		}
		_, e1 := other.Customer(ctx, cust.ID)
		_, e2 := other.Customer(ctx, "xx_missing")
		sameAsMissing("get customer", cust.ID, e1, e2)
		_, e1 = other.UpdateCustomer(ctx, cust.ID, api.CustomerUpdate{Name: Str("stolen"), Metadata: till.Metadata{"x": "y"}})
		_, e2 = other.UpdateCustomer(ctx, "xx_missing", api.CustomerUpdate{Name: Str("stolen")})
		sameAsMissing("patch customer", cust.ID, e1, e2)
		_, e1 = other.DeleteCustomer(ctx, cust.ID)
		_, e2 = other.DeleteCustomer(ctx, "xx_missing")
		sameAsMissing("delete customer", cust.ID, e1, e2)
		_, e1 = other.PaymentMethods(ctx, cust.ID)
		_, e2 = other.PaymentMethods(ctx, "xx_missing")
		sameAsMissing("list payment methods", cust.ID, e1, e2)
		_, e1 = other.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card("5555555555554444"), SetDefault: true})
		_, e2 = other.AddPaymentMethod(ctx, "xx_missing", api.PaymentMethodCreate{Card: card("5555555555554444")})
		sameAsMissing("add payment method", cust.ID, e1, e2)
		_, e1 = other.PaymentMethod(ctx, pm.ID)
		_, e2 = other.PaymentMethod(ctx, "xx_missing")
		sameAsMissing("get payment method", pm.ID, e1, e2)
		_, e1 = other.DetachPaymentMethod(ctx, pm.ID)
		_, e2 = other.DetachPaymentMethod(ctx, "xx_missing")
		sameAsMissing("detach payment method", pm.ID, e1, e2)
		_, e1 = other.Payment(ctx, p.ID)
		_, e2 = other.Payment(ctx, "xx_missing")
		sameAsMissing("get payment", p.ID, e1, e2)
		_, e1 = other.UpdatePayment(ctx, p.ID, api.PaymentUpdate{Metadata: till.Metadata{"x": "y"}})
		_, e2 = other.UpdatePayment(ctx, "xx_missing", api.PaymentUpdate{Metadata: till.Metadata{"x": "y"}})
		sameAsMissing("patch payment", p.ID, e1, e2)
		_, e1 = other.ProcessorCharges(ctx, "", p.ID)
		_, e2 = other.ProcessorCharges(ctx, "", "xx_missing")
		sameAsMissing("processor charges", p.ID, e1, e2)
		// Charging the first account's customer, or its card for one's own
		// customer.
		_, e1 = other.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "x"})
		_, e2 = other.Charge(ctx, api.ChargeRequest{CustomerID: "xx_missing", Amount: Amount(100), Currency: "EUR", Description: "x"})
		sameAsMissing("charge customer", cust.ID, e1, e2)
		_, e1 = other.Charge(ctx, api.ChargeRequest{CustomerID: otherCust.ID, PaymentMethodID: pm.ID, Amount: Amount(100), Currency: "EUR", Description: "x"})
		_, e2 = other.Charge(ctx, api.ChargeRequest{CustomerID: otherCust.ID, PaymentMethodID: "xx_missing", Amount: Amount(100), Currency: "EUR", Description: "x"})
		sameAsMissing("charge foreign card", pm.ID, e1, e2)
		_, err := other.UpdateCustomer(ctx, otherCust.ID, api.CustomerUpdate{DefaultPaymentMethodID: Str(pm.ID)})
		if ce := APIError(t, err, 400, "validation_error"); ce.Param != "defaultPaymentMethodId" {
			t.Fatalf("foreign default: %+v", ce)
		}
		// The refused charge stored nothing in the other account.
		if l := Must[*client.List[api.Payment]](t)(other.Payments(ctx, client.ListParams{})); len(l.Data) != 0 {
			t.Fatalf("other account's payments: %+v", l.Data)
		}
		if l := Must[*client.List[api.Customer]](t)(other.Customers(ctx, client.ListParams{})); len(l.Data) != 1 || l.Data[0].ID != otherCust.ID {
			t.Fatalf("other account's customers: %+v", l.Data)
		}

		// The first account's objects are untouched.
		got := Must[*api.Customer](t)(env.Client.Customer(ctx, cust.ID))
		if got.Name != cust.Name || len(got.Metadata) != 0 || got.DefaultPaymentMethodID == nil || *got.DefaultPaymentMethodID != pm.ID {
			t.Fatalf("customer after the other account's attempts: %+v", got)
		}
		if l := Must[*client.List[api.PaymentMethod]](t)(env.Client.PaymentMethods(ctx, cust.ID)); len(l.Data) != 1 || l.Data[0].ID != pm.ID {
			t.Fatalf("payment methods after the other account's attempts: %+v", l.Data)
		}
		if gp := Must[*api.Payment](t)(env.Client.Payment(ctx, p.ID)); len(gp.Metadata) != 0 || gp.Status != "succeeded" {
			t.Fatalf("payment after the other account's attempts: %+v", gp)
		}
		if n := countPayments(t, env); n != 1 {
			t.Fatalf("payments: %d", n)
		}
	})
}

// TestPublishableKey checks that a publishable key can only make card
// tokens, and that a token is attached with a secret key of the same
// account, once.
func TestPublishableKey(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		pk := env.Client.WithKey(env.Keys.TestPublishableKey)
		cust := env.Customer("DE")

		_, err := pk.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(100), Currency: "EUR", Description: "x"})
		if ce := APIError(t, err, 403, "publishable_key_not_allowed"); ce.Type != "permission_error" {
			t.Fatalf("type: %+v", ce)
		}
		_, err = pk.Customers(ctx, client.ListParams{})
		APIError(t, err, 403, "publishable_key_not_allowed")
		_, err = pk.Customer(ctx, cust.ID)
		APIError(t, err, 403, "publishable_key_not_allowed")
		_, err = pk.CreateCustomer(ctx, api.CustomerCreate{Email: "pk@example.com"})
		APIError(t, err, 403, "publishable_key_not_allowed")
		_, err = pk.Account(ctx)
		APIError(t, err, 403, "publishable_key_not_allowed")
		_, err = pk.UpdateAccount(ctx, api.AccountUpdate{Name: Str("pwned")})
		APIError(t, err, 403, "publishable_key_not_allowed")
		_, err = pk.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Card: card("4242424242424242")})
		APIError(t, err, 403, "publishable_key_not_allowed")
		if n := countCustomers(t, env); n != 1 {
			t.Fatalf("customers: %d", n)
		}

		tok := Must[*api.Token](t)(pk.CreateToken(ctx, api.TokenCreate{Card: card("4242 4242 4242 4242")}))
		if !strings.HasPrefix(tok.ID, "tok_") || tok.Object != "token" || tok.Used || tok.Livemode || tok.Card.Brand != "visa" || tok.Card.Last4 != "4242" {
			t.Fatalf("token: %+v", tok)
		}
		if d := tok.ExpiresAt.Sub(tok.CreatedAt); d != time.Hour {
			t.Fatalf("token lifetime %s", d)
		}
		// A bad card is refused at tokenization too.
		_, err = pk.CreateToken(ctx, api.TokenCreate{Card: card("4242424242424241")})
		wantFields(t, APIError(t, err, 400, "validation_error"), "card.number")
		_, err = pk.CreateToken(ctx, api.TokenCreate{Card: card("4000000000000127")})
		if d := APIError(t, err, 402, "card_declined").Decline(); d == nil || d.DeclineCode != "incorrect_cvc" {
			t.Fatalf("token decline: %+v", d)
		}

		// Another account cannot attach it; neither can the publishable key.
		keys := Must[*service.AccountKeys](t)(env.Service.CreateAccount(ctx, nil, service.NewAccountParams{Name: "Other"}))
		other := env.Client.WithKey(keys.TestSecretKey)
		oc := Must[*api.Customer](t)(other.CreateCustomer(ctx, api.CustomerCreate{Email: "o@example.com"}))
		_, err = other.AddPaymentMethod(ctx, oc.ID, api.PaymentMethodCreate{Token: tok.ID})
		if ce := APIError(t, err, 404, "resource_missing"); ce.Param != "token" {
			t.Fatalf("foreign token: %+v", ce)
		}
		_, err = env.Client.WithKey(env.Keys.LiveSecretKey).AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Token: tok.ID})
		if ce, ok := err.(*client.Error); !ok || ce.Status/100 != 4 {
			t.Fatalf("live key attaching a test token: %v", err)
		}

		pm := Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Token: tok.ID}))
		if !strings.HasPrefix(pm.ID, "pm_") || pm.Card.Last4 != "4242" || pm.Card.Fingerprint != tok.Card.Fingerprint || !pm.IsDefault || *pm.CustomerID != cust.ID {
			t.Fatalf("attached token: %+v", pm)
		}
		_, err = env.Client.AddPaymentMethod(ctx, cust.ID, api.PaymentMethodCreate{Token: tok.ID})
		if ce := APIError(t, err, 400, "validation_error"); ce.Param != "token" {
			t.Fatalf("second attach: %+v", ce)
		}
		_, err = env.Client.PaymentMethod(ctx, tok.ID)
		APIError(t, err, 404, "resource_missing")
		p := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: cust.ID, Amount: Amount(1000), Currency: "EUR", Description: "x"}))
		if p.Status != "succeeded" || *p.PaymentMethodID != pm.ID || p.AmountTotal != 1190 {
			t.Fatalf("charge of a tokenized card: %+v", p)
		}
		if l := Must[*client.List[api.PaymentMethod]](t)(env.Client.PaymentMethods(ctx, cust.ID)); len(l.Data) != 1 {
			t.Fatalf("payment methods: %+v", l.Data)
		}
	})
}

// TestAPIKeys checks authentication: missing, malformed, unknown and revoked
// keys, both header styles, and that keys are stored only hashed.
func TestAPIKeys(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		anon := client.New(env.URL, "")

		r := Must[*client.Response](t)(anon.Raw(ctx, "GET", "/v1/account", nil))
		wantErrorResponse(t, r, 401, "api_key_missing")
		r = Must[*client.Response](t)(anon.Raw(ctx, "GET", "/v1/account", nil, client.Header("Authorization", "Basic "+env.Keys.TestSecretKey)))
		wantErrorResponse(t, r, 401, "api_key_missing")
		unknown := "sk_test_" + strings.Repeat("A", 48)
		for _, k := range []string{"sk_test_abc", "nonsense", unknown, "sk_test_" + strings.Repeat("A", 47) + "!", strings.ToUpper(env.Keys.TestSecretKey),
			env.Keys.TestSecretKey + "x", env.Keys.TestSecretKey[:len(env.Keys.TestSecretKey)-1]} {
			r := Must[*client.Response](t)(anon.Raw(ctx, "GET", "/v1/account", nil, client.Header("Authorization", "Bearer "+k)))
			e := wantErrorResponse(t, r, 401, "api_key_invalid")
			if strings.Contains(string(r.Body), k) {
				t.Fatalf("error echoes the key: %s", r.Body)
			}
			if e.Error.Message != "Invalid API key provided." {
				t.Fatalf("message should not say why: %q", e.Error.Message)
			}
		}
		for _, h := range []string{"x-api-key", "X-API-KEY"} {
			r := Must[*client.Response](t)(anon.Raw(ctx, "GET", "/v1/account", nil, client.Header(h, env.Keys.TestSecretKey)))
			if r.Status != 200 {
				t.Fatalf("%s header: %d %s", h, r.Status, r.Body)
			}
		}
		r = Must[*client.Response](t)(anon.Raw(ctx, "GET", "/v1/account", nil, client.Header("Authorization", "bearer "+env.Keys.TestSecretKey)))
		if r.Status != 200 {
			t.Fatalf("lower-case bearer: %d", r.Status)
		}

		// A revoked key stops working (the auth cache holds a key at most a second).
		key, err := env.Service.CreateKey(ctx, nil, env.Keys.ID, service.KeyParams{Mode: "test"})
		if err != nil {
			t.Fatal(err)
		}
		secret := key.Secret
		extra := env.Client.WithKey(secret)
		if _, err := extra.Account(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Service.RevokeKey(ctx, nil, key.Key.ID); err != nil {
			t.Fatal(err)
		}
		env.Eventually(3*time.Second, "the revoked key to be refused", func() bool {
			_, err := extra.Account(ctx)
			ce, ok := err.(*client.Error)
			return ok && ce.Status == 401 && ce.Code == "api_key_invalid"
		})
		time.Sleep(1100 * time.Millisecond)
		_, err = extra.Customers(ctx, client.ListParams{})
		APIError(t, err, 401, "api_key_invalid")
		// Revoking one key leaves the account's others working.
		if _, err := env.Client.Account(ctx); err != nil {
			t.Fatalf("the main key after revoking another: %v", err)
		}

		// Keys are stored as SHA-256 hashes: the lookup by hash works and
		// the stored key holds nothing but the last four characters.
		allKeys := []string{env.Keys.TestSecretKey, env.Keys.TestPublishableKey, env.Keys.LiveSecretKey, env.Keys.LivePublishableKey, secret}
		for i, k := range allKeys {
			h := sha256.Sum256([]byte(k))
			var stored *till.APIKey
			if err := env.Store.View(ctx, func(tx till.Tx) (err error) {
				stored, err = tx.APIKeyByHash(ctx, h[:])
				return err
			}); err != nil {
				t.Fatalf("key %d by hash: %v", i, err)
			}
			if stored.AccountID != env.Keys.ID || stored.Last4 != k[len(k)-4:] || !bytes.Equal(stored.Hash, h[:]) || !strings.HasPrefix(k, stored.Prefix) {
				t.Fatalf("stored key %d: %+v", i, stored)
			}
			if bytes.Contains(stored.Hash, []byte(k)) || strings.Contains(String(stored), k) {
				t.Fatalf("stored key %d holds the key", i)
			}
			if j, _ := json.Marshal(stored); bytes.Contains(j, []byte(k[8:])) {
				t.Fatalf("stored key %d holds the key's secret part", i)
			}
		}
		// And not one key is anywhere in the database files.
		for _, k := range allKeys {
			if f := filesContaining(t, env, []byte(k)); len(f) > 0 {
				t.Fatalf("a key is stored in the clear in %v", f)
			}
		}
	})
}

// filesContaining returns the files of the env's database folder (the
// database, its WAL and shared-memory files) that contain needle. It skips
// the check on stores that are not files.
func filesContaining(t *testing.T, env *Env, needle []byte) []string {
	t.Helper()
	path := env.Path()
	if path == "" {
		t.Skip("the store is not a file")
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	seen := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(filepath.Dir(path), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		seen++
		if bytes.Contains(b, needle) {
			found = append(found, e.Name())
		}
	}
	if seen == 0 {
		t.Fatalf("no database files in %s", filepath.Dir(path))
	}
	return found
}

// card is a valid card input for number, with a CVC of the brand's length
// and an expiry three years ahead.
func card(number string) *api.CardInput {
	cvc := "123"
	if strings.HasPrefix(number, "34") || strings.HasPrefix(number, "37") {
		cvc = "1234"
	}
	return &api.CardInput{Number: number, ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: cvc, HolderName: "Jana Müller"}
}

// TestIdempotencyKeyScope checks that an Idempotency-Key belongs to one
// account and mode: the same key elsewhere is a new request, neither a
// replay of another tenant's response nor a key reuse.
func TestIdempotencyKeyScope(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		keys := Must[*service.AccountKeys](t)(env.Service.CreateAccount(ctx, nil, service.NewAccountParams{Name: "Other"}))
		key := client.IdempotencyKey("shared-key")
		mine := Must[*client.Response](t)(env.Client.Raw(ctx, "POST", "/v1/customers", []byte(`{"email":"mine@example.com"}`), key))
		theirs := Must[*client.Response](t)(env.Client.WithKey(keys.TestSecretKey).Raw(ctx, "POST", "/v1/customers", []byte(`{"email":"theirs@example.com"}`), key))
		live := Must[*client.Response](t)(env.Client.WithKey(env.Keys.LiveSecretKey).Raw(ctx, "POST", "/v1/customers", []byte(`{"email":"mine@example.com"}`), key))
		for _, r := range []*client.Response{mine, theirs, live} {
			if r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first use in its scope: %d %s (replayed %q)", r.Status, r.Body, r.Header.Get("Idempotent-Replayed"))
			}
		}
		if bytes.Contains(theirs.Body, []byte("mine@")) || bytes.Equal(mine.Body, live.Body) {
			t.Fatalf("a response crossed scopes:\n%s\n%s\n%s", mine.Body, theirs.Body, live.Body)
		}
		again := Must[*client.Response](t)(env.Client.Raw(ctx, "POST", "/v1/customers", []byte(`{"email":"mine@example.com"}`), key))
		if !bytes.Equal(again.Body, mine.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay in the same scope: %s", again.Body)
		}
		if n := countCustomers(t, env); n != 1 {
			t.Fatalf("test customers: %d", n)
		}
	})
}
