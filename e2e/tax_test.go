package e2e

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
)

// taxCustomer creates a customer in country (and state), with tax ids, and
// a default card.
func taxCustomer(t *testing.T, env *Env, country, state string, ids ...till.TaxID) *api.Customer {
	t.Helper()
	in := api.CustomerCreate{Email: "tax@example.com", TaxIDs: ids}
	if country != "" {
		in.Address = &api.Address{Country: country, State: state}
	}
	c := Must[*api.Customer](t)(env.Client.CreateCustomer(env.Ctx(), in))
	Must[*api.PaymentMethod](t)(env.Client.AddPaymentMethod(env.Ctx(), c.ID, api.PaymentMethodCreate{Card: card("4242424242424242")}))
	return c
}

// taxLine is the expected one-row breakdown.
type taxLine struct {
	country, region, rate string
	taxable, tax          int64
	reason                string
}

// wantTax asserts a payment's totals and its breakdown.
func wantTax(t *testing.T, p *api.Payment, subtotal, tax, total int64, lines ...taxLine) {
	t.Helper()
	if p.AmountSubtotal != subtotal || p.TaxAmount != tax || p.AmountTotal != total {
		t.Fatalf("totals: subtotal %d tax %d total %d, want %d %d %d", p.AmountSubtotal, p.TaxAmount, p.AmountTotal, subtotal, tax, total)
	}
	if len(p.TaxBreakdown) != len(lines) {
		t.Fatalf("breakdown: %+v", p.TaxBreakdown)
	}
	for i, w := range lines {
		g := p.TaxBreakdown[i]
		region := ""
		if g.Region != nil {
			region = *g.Region
		}
		if g.Country != w.country || region != w.region || g.Rate != w.rate || g.TaxableAmount != w.taxable || g.TaxAmount != w.tax || g.Reason != w.reason {
			t.Fatalf("breakdown[%d]: %+v (region %q), want %+v", i, g, region, w)
		}
	}
	if p.Status == "succeeded" && p.AmountCaptured != total {
		t.Fatalf("captured %d of %d", p.AmountCaptured, total)
	}
}

// TestTaxRules charges through the API under each rule of SPEC §7.
func TestTaxRules(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		charge := func(c *api.Customer, amount int64, currency string, mod ...func(*api.ChargeRequest)) *api.Payment {
			t.Helper()
			req := api.ChargeRequest{CustomerID: c.ID, Amount: Amount(amount), Currency: currency, Description: "tax"}
			for _, m := range mod {
				m(&req)
			}
			return Must[*api.Payment](t)(env.Client.Charge(ctx, req))
		}
		de := taxCustomer(t, env, "DE", "")
		fr := taxCustomer(t, env, "FR", "")
		frB2B := taxCustomer(t, env, "FR", "", till.TaxID{Type: "eu_vat", Value: "FR40303265045"})
		deB2B := taxCustomer(t, env, "DE", "", till.TaxID{Type: "eu_vat", Value: "DE123456789"})
		nowhere := taxCustomer(t, env, "", "")
		gb := taxCustomer(t, env, "GB", "")

		// Domestic.
		p := charge(de, 1000, "EUR")
		wantTax(t, p, 1000, 190, 1190, taxLine{"DE", "", "19", 1000, 190, "domestic"})
		if p.TaxBehavior != "exclusive" {
			t.Fatalf("behavior: %s", p.TaxBehavior)
		}
		wantTax(t, charge(deB2B, 1000, "EUR"), 1000, 190, 1190, taxLine{"DE", "", "19", 1000, 190, "domestic"})
		wantTax(t, charge(nowhere, 1000, "EUR"), 1000, 190, 1190, taxLine{"DE", "", "19", 1000, 190, "domestic"})
		// Cross-border B2C without OSS: not collecting.
		wantTax(t, charge(fr, 1000, "EUR"), 1000, 0, 1000, taxLine{"FR", "", "0", 1000, 0, "not_collecting"})
		wantTax(t, charge(gb, 1000, "GBP"), 1000, 0, 1000, taxLine{"GB", "", "0", 1000, 0, "not_collecting"})
		// EU B2B cross-border: reverse charge, OSS or not.
		wantTax(t, charge(frB2B, 1000, "EUR"), 1000, 0, 1000, taxLine{"FR", "", "0", 1000, 0, "reverse_charge"})

		Must[*api.Account](t)(env.Client.UpdateAccount(ctx, api.AccountUpdate{TaxRegistrations: &api.TaxRegistrations{EUOSS: true, Countries: []string{"GB"}}}))
		wantTax(t, charge(fr, 1000, "EUR"), 1000, 200, 1200, taxLine{"FR", "", "20", 1000, 200, "eu_oss"})
		wantTax(t, charge(frB2B, 1000, "EUR"), 1000, 0, 1000, taxLine{"FR", "", "0", 1000, 0, "reverse_charge"})
		wantTax(t, charge(gb, 1000, "GBP"), 1000, 200, 1200, taxLine{"GB", "", "20", 1000, 200, "registered"})
		wantTax(t, charge(de, 1000, "EUR"), 1000, 190, 1190, taxLine{"DE", "", "19", 1000, 190, "domestic"})

		// taxCountry overrides the address.
		override := func(c string) func(*api.ChargeRequest) { return func(r *api.ChargeRequest) { r.TaxCountry = c } }
		wantTax(t, charge(de, 1000, "EUR", override("fr")), 1000, 200, 1200, taxLine{"FR", "", "20", 1000, 200, "eu_oss"})
		wantTax(t, charge(fr, 1000, "EUR", override("DE")), 1000, 190, 1190, taxLine{"DE", "", "19", 1000, 190, "domestic"})
		wantTax(t, charge(de, 1000, "EUR", override("US")), 1000, 0, 1000, taxLine{"US", "", "0", 1000, 0, "not_collecting"})
		_, err := env.Client.Charge(ctx, api.ChargeRequest{CustomerID: de.ID, Amount: Amount(1000), Currency: "EUR", Description: "x", TaxCountry: "XX"})
		wantFields(t, APIError(t, err, 400, "validation_error"), "taxCountry")

		// Inclusive: the amount is the total.
		inclusive := func(r *api.ChargeRequest) { r.TaxBehavior = "inclusive" }
		p = charge(de, 1190, "EUR", inclusive)
		wantTax(t, p, 1000, 190, 1190, taxLine{"DE", "", "19", 1000, 190, "domestic"})
		if p.TaxBehavior != "inclusive" {
			t.Fatalf("behavior: %s", p.TaxBehavior)
		}
		wantTax(t, charge(de, 1, "EUR", inclusive), 1, 0, 1, taxLine{"DE", "", "19", 1, 0, "domestic"})
		wantTax(t, charge(fr, 1200, "EUR", inclusive), 1000, 200, 1200, taxLine{"FR", "", "20", 1000, 200, "eu_oss"})
		_, err = env.Client.Charge(ctx, api.ChargeRequest{CustomerID: de.ID, Amount: Amount(1000), Currency: "EUR", Description: "x", TaxBehavior: "gross"})
		wantFields(t, APIError(t, err, 400, "validation_error"), "taxBehavior")

		// Currencies of 0 and 3 decimals: amounts are minor units either way.
		p = charge(de, 1000, "jpy")
		wantTax(t, p, 1000, 190, 1190, taxLine{"DE", "", "19", 1000, 190, "domestic"})
		if p.Currency != "JPY" {
			t.Fatalf("currency %s", p.Currency)
		}
		wantTax(t, charge(de, 999, "JPY"), 999, 190, 1189, taxLine{"DE", "", "19", 999, 190, "domestic"})
		p = charge(de, 12345, "KWD")
		wantTax(t, p, 12345, 2346, 14691, taxLine{"DE", "", "19", 12345, 2346, "domestic"})
		if p.Currency != "KWD" {
			t.Fatalf("currency %s", p.Currency)
		}
		wantTax(t, charge(de, 14691, "kwd", inclusive), 12345, 2346, 14691, taxLine{"DE", "", "19", 12345, 2346, "domestic"})
		if recs := records(t, env, p.ID); len(recs) != 1 || recs[0].Amount != 14691 || recs[0].Currency != "KWD" {
			t.Fatalf("KWD processor record: %+v", recs)
		}

		// Rounding half up: 50 × 19 % = 9.5 → 10; 150 × 19 % = 28.5 → 29; 2 × 19 % = 0.38 → 0.
		wantTax(t, charge(de, 50, "EUR"), 50, 10, 60, taxLine{"DE", "", "19", 50, 10, "domestic"})
		wantTax(t, charge(de, 150, "EUR"), 150, 29, 179, taxLine{"DE", "", "19", 150, 29, "domestic"})
		wantTax(t, charge(de, 2, "EUR"), 2, 0, 2, taxLine{"DE", "", "19", 2, 0, "domestic"})
	})
}

// TestCustomTaxRates checks a merchant's own rates: a US state rate given as
// "8.875", which wins where it matches and nowhere else.
func TestCustomTaxRates(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		Must[*api.Account](t)(env.Client.UpdateAccount(ctx, api.AccountUpdate{CustomTaxRates: &[]api.CustomTaxRate{
			{Country: "US", Region: "NY", Rate: "8.875", Name: "New York"},
			{Country: "DE", Rate: "7", Name: "Reduced everywhere in DE"},
		}}))
		ny := taxCustomer(t, env, "US", "NY")
		nyLower := taxCustomer(t, env, "US", "ny")
		ca := taxCustomer(t, env, "US", "CA")
		de := taxCustomer(t, env, "DE", "")
		charge := func(c *api.Customer, amount int64, behavior string) *api.Payment {
			t.Helper()
			return Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: c.ID, Amount: Amount(amount), Currency: "USD", Description: "x", TaxBehavior: behavior}))
		}
		wantTax(t, charge(ny, 10000, ""), 10000, 888, 10888, taxLine{"US", "NY", "8.875", 10000, 888, "custom_rate"})
		wantTax(t, charge(nyLower, 10000, ""), 10000, 888, 10888, taxLine{"US", "NY", "8.875", 10000, 888, "custom_rate"})
		wantTax(t, charge(ny, 10888, "inclusive"), 10000, 888, 10888, taxLine{"US", "NY", "8.875", 10000, 888, "custom_rate"})
		wantTax(t, charge(ny, 1, ""), 1, 0, 1, taxLine{"US", "NY", "8.875", 1, 0, "custom_rate"})
		wantTax(t, charge(ca, 10000, ""), 10000, 0, 10000, taxLine{"US", "", "0", 10000, 0, "not_collecting"})
		// A custom rate wins over the built-in table.
		wantTax(t, charge(de, 10000, ""), 10000, 700, 10700, taxLine{"DE", "", "7", 10000, 700, "custom_rate"})
		// A taxCountry other than the address country takes no region from it.
		p := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: ny.ID, Amount: Amount(10000), Currency: "USD", Description: "x", TaxCountry: "DE"}))
		wantTax(t, p, 10000, 700, 10700, taxLine{"DE", "", "7", 10000, 700, "custom_rate"})
	})
}

// TestLineItems checks itemized charges: per-line tax (rounded per line), an
// exempt line, the breakdown grouped by rate, and lines that do not sum to
// the amount.
func TestLineItems(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		de := taxCustomer(t, env, "DE", "")
		li := func(desc string, q, u int64, code string) api.LineItemInput {
			return api.LineItemInput{Description: desc, Quantity: Amount(q), UnitAmount: Amount(u), TaxCode: code}
		}
		p := Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: de.ID, Amount: Amount(1000), Currency: "EUR", Description: "order",
			LineItems: []api.LineItemInput{li("Widget", 2, 300, ""), li("Book", 1, 400, "exempt")}}))
		wantTax(t, p, 1000, 114, 1114, taxLine{"DE", "", "19", 600, 114, "domestic"}, taxLine{"DE", "", "0", 400, 0, "exempt"})
		if len(p.LineItems) != 2 {
			t.Fatalf("lines: %+v", p.LineItems)
		}
		w, bk := p.LineItems[0], p.LineItems[1]
		if w.Description != "Widget" || w.Quantity != 2 || w.UnitAmount != 300 || w.Amount != 600 || w.TaxableAmount != 600 || w.TaxAmount != 114 || w.TaxRate != "19" || w.TaxCode != nil {
			t.Fatalf("widget line: %+v", w)
		}
		if bk.Amount != 400 || bk.TaxAmount != 0 || bk.TaxRate != "0" || bk.TaxCode == nil || *bk.TaxCode != "exempt" {
			t.Fatalf("book line: %+v", bk)
		}
		// Tax is rounded per line: three lines of 3 cents carry 1 cent each
		// (0.57 → 1), not 2 cents for the 9 together.
		p = Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: de.ID, Amount: Amount(9), Currency: "EUR", Description: "pennies",
			LineItems: []api.LineItemInput{li("a", 1, 3, "standard"), li("b", 1, 3, ""), li("c", 1, 3, "")}}))
		wantTax(t, p, 9, 3, 12, taxLine{"DE", "", "19", 9, 3, "domestic"})
		// Inclusive lines, every line exempt, and a zero-priced line.
		p = Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: de.ID, Amount: Amount(1190 + 500), Currency: "EUR", Description: "incl",
			TaxBehavior: "inclusive", LineItems: []api.LineItemInput{li("taxed", 1, 1190, ""), li("free", 3, 0, ""), li("exempt", 1, 500, "exempt")}}))
		wantTax(t, p, 1500, 190, 1690, taxLine{"DE", "", "19", 1000, 190, "domestic"}, taxLine{"DE", "", "0", 500, 0, "exempt"})
		p = Must[*api.Payment](t)(env.Client.Charge(ctx, api.ChargeRequest{CustomerID: de.ID, Amount: Amount(700), Currency: "EUR", Description: "all exempt",
			LineItems: []api.LineItemInput{li("x", 7, 100, "exempt")}}))
		wantTax(t, p, 700, 0, 700, taxLine{"DE", "", "0", 700, 0, "exempt"})

		for _, tc := range []struct {
			items  []api.LineItemInput
			fields []string
		}{
			{[]api.LineItemInput{li("a", 2, 300, ""), li("b", 1, 300, "")}, []string{"lineItems"}},
			{[]api.LineItemInput{li("a", 1, 999, "")}, []string{"lineItems"}},
			{[]api.LineItemInput{li("", 1, 1000, "")}, []string{"lineItems[0].description"}},
			{[]api.LineItemInput{li("a", 0, 1000, "")}, []string{"lineItems[0].quantity"}},
			{[]api.LineItemInput{li("a", 1, -1000, "")}, []string{"lineItems[0].unitAmount"}},
			{[]api.LineItemInput{li("a", 1, 1000, "reduced")}, []string{"lineItems[0].taxCode"}},
			{[]api.LineItemInput{{Description: "a"}}, []string{"lineItems[0].quantity", "lineItems[0].unitAmount"}},
			{make([]api.LineItemInput, 101), []string{"lineItems"}},
		} {
			_, err := env.Client.Charge(ctx, api.ChargeRequest{CustomerID: de.ID, Amount: Amount(1000), Currency: "EUR", Description: "x", LineItems: tc.items})
			wantFields(t, APIError(t, err, 400, "validation_error"), tc.fields...)
		}
		if n := countPayments(t, env); n != 4 {
			t.Fatalf("payments: %d, want the 4 valid ones", n)
		}
	})
}

// TestTaxInvariants charges random amounts, behaviours, countries and line
// items, and checks the identities every payment must satisfy, and the exact
// tax against an independent computation for single-rate charges.
func TestTaxInvariants(t *testing.T) {
	Each(t, func(t *testing.T, b Backend) {
		env := Start(t, b)
		ctx := env.Ctx()
		Must[*api.Account](t)(env.Client.UpdateAccount(ctx, api.AccountUpdate{
			TaxRegistrations: &api.TaxRegistrations{EUOSS: true},
			CustomTaxRates:   &[]api.CustomTaxRate{{Country: "US", Region: "NY", Rate: "8.875", Name: "NY"}},
		}))
		// Percent rates in hundredths of a percent, for the independent check.
		type place struct {
			country, state string
			rate           int64 // in 1/1000 of a percent
		}
		places := []place{{"DE", "", 19000}, {"FR", "", 20000}, {"AT", "", 20000}, {"HU", "", 27000}, {"US", "NY", 8875}, {"US", "TX", 0}, {"LU", "", 17000}}
		custs := make([]*api.Customer, len(places))
		for i, pl := range places {
			custs[i] = taxCustomer(t, env, pl.country, pl.state)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		currencies := []string{"EUR", "JPY", "KWD", "USD"}
		for i := range 40 {
			k := rng.IntN(len(places))
			behavior := []string{"exclusive", "inclusive"}[rng.IntN(2)]
			amount := 1 + rng.Int64N(10_000_000)
			req := api.ChargeRequest{CustomerID: custs[k].ID, Amount: Amount(amount), Currency: currencies[rng.IntN(len(currencies))],
				Description: fmt.Sprint("random ", i), TaxBehavior: behavior}
			if rng.IntN(3) == 0 {
				// Split the amount into up to four lines, some exempt.
				rest := amount
				for j := 0; rest > 0 && j < 4; j++ {
					part := rest
					if j < 3 {
						part = rng.Int64N(rest + 1)
					}
					if part == 0 {
						continue
					}
					code := ""
					if rng.IntN(4) == 0 {
						code = "exempt"
					}
					req.LineItems = append(req.LineItems, api.LineItemInput{Description: "l", Quantity: Amount(1), UnitAmount: Amount(part), TaxCode: code})
					rest -= part
				}
			}
			p := Must[*api.Payment](t)(env.Client.Charge(ctx, req))
			if p.AmountSubtotal+p.TaxAmount != p.AmountTotal || p.TaxAmount < 0 {
				t.Fatalf("charge %d: %d + %d != %d", i, p.AmountSubtotal, p.TaxAmount, p.AmountTotal)
			}
			if (behavior == "exclusive" && p.AmountSubtotal != amount) || (behavior == "inclusive" && p.AmountTotal != amount) {
				t.Fatalf("charge %d (%s): amount %d gives subtotal %d, total %d", i, behavior, amount, p.AmountSubtotal, p.AmountTotal)
			}
			var taxable, tax int64
			for _, l := range p.TaxBreakdown {
				taxable += l.TaxableAmount
				tax += l.TaxAmount
			}
			if taxable != p.AmountSubtotal || tax != p.TaxAmount {
				t.Fatalf("charge %d: breakdown sums to %d/%d, totals %d/%d", i, taxable, tax, p.AmountSubtotal, p.TaxAmount)
			}
			if len(p.LineItems) > 0 {
				var lt, lx int64
				for _, l := range p.LineItems {
					lt += l.TaxableAmount
					lx += l.TaxAmount
				}
				if lt != p.AmountSubtotal || lx != p.TaxAmount {
					t.Fatalf("charge %d: lines sum to %d/%d, totals %d/%d", i, lt, lx, p.AmountSubtotal, p.TaxAmount)
				}
				continue
			}
			// One line at one rate: the exact half-up result.
			r := places[k].rate // rate% × 1000, so the fraction is r / 100000
			var want int64
			if behavior == "exclusive" {
				want = (2*amount*r + 100000) / 200000
			} else {
				net := (2*amount*100000 + 100000 + r) / (2 * (100000 + r))
				want = amount - net
			}
			if p.TaxAmount != want {
				t.Fatalf("charge %d: %s %d at %d‰‰ gives tax %d, want %d", i, behavior, amount, r, p.TaxAmount, want)
			}
			if p.Status != "succeeded" || p.AmountCaptured != p.AmountTotal {
				t.Fatalf("charge %d: %s, captured %d of %d", i, p.Status, p.AmountCaptured, p.AmountTotal)
			}
			if recs := records(t, env, p.ID); len(recs) != 1 || recs[0].Amount != p.AmountTotal {
				t.Fatalf("charge %d: processor charged %+v, want %d", i, recs, p.AmountTotal)
			}
		}
	})
}
