package tax

import (
	"math/big"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/tillpay/till"
)

// failer is what the invariant checks need from *testing.T and *rapid.T.
type failer interface {
	Helper()
	Fatalf(format string, args ...any)
}

// halfUp returns num÷den rounded half up, for non-negative operands, in
// arbitrary precision: the reference the per-line rounding is checked against.
func halfUp(num, den *big.Int) int64 {
	n := new(big.Int).Mul(num, big.NewInt(2))
	n.Add(n, den)
	d := new(big.Int).Mul(den, big.NewInt(2))
	return new(big.Int).Quo(n, d).Int64()
}

// checkInvariants checks everything that must hold for any successful
// calculation: exact sums, the rounding rule on every line, and the reason
// and rate of every line.
func checkInvariants(t failer, req Request, res Result) {
	t.Helper()
	if len(res.Lines) != len(req.Lines) {
		t.Fatalf("%d line results for %d lines", len(res.Lines), len(req.Lines))
	}
	inclusive := req.Behavior == till.TaxInclusive
	var sub, tax, total int64
	for i, l := range res.Lines {
		amount := req.Lines[i].Amount
		if l.Taxable < 0 || l.Tax < 0 || l.Taxable+l.Tax != l.Total {
			t.Fatalf("line %d: %+v does not add up", i, l)
		}
		S := big.NewInt(till.RateScale)
		r := big.NewInt(int64(l.Rate))
		a := big.NewInt(amount)
		if inclusive {
			if l.Total != amount || l.Tax > l.Total {
				t.Fatalf("line %d inclusive: %+v for amount %d", i, l, amount)
			}
			want := halfUp(new(big.Int).Mul(a, S), new(big.Int).Add(S, r))
			if l.Taxable != want {
				t.Fatalf("line %d: net %d, want %d (amount %d rate %s)", i, l.Taxable, want, amount, l.Rate)
			}
		} else {
			if l.Taxable != amount {
				t.Fatalf("line %d exclusive: %+v for amount %d", i, l, amount)
			}
			want := halfUp(new(big.Int).Mul(a, r), S)
			if l.Tax != want {
				t.Fatalf("line %d: tax %d, want %d (amount %d rate %s)", i, l.Tax, want, amount, l.Rate)
			}
		}
		switch l.Reason {
		case till.TaxReasonExempt, till.TaxReasonReverseCharge, till.TaxReasonNotCollecting:
			if l.Rate != 0 || l.Tax != 0 {
				t.Fatalf("line %d: reason %s with rate %s tax %d", i, l.Reason, l.Rate, l.Tax)
			}
		case till.TaxReasonDomestic, till.TaxReasonEUOSS, till.TaxReasonRegistered, till.TaxReasonCustom:
		default:
			t.Fatalf("line %d: unknown reason %q", i, l.Reason)
		}
		if (req.Lines[i].TaxCode == TaxCodeExempt) != (l.Reason == till.TaxReasonExempt) {
			t.Fatalf("line %d: tax code %q gave reason %s", i, req.Lines[i].TaxCode, l.Reason)
		}
		sub += l.Taxable
		tax += l.Tax
		total += l.Total
	}
	if sub != res.Subtotal || tax != res.Tax || total != res.Total || res.Subtotal+res.Tax != res.Total {
		t.Fatalf("totals: lines %d+%d=%d, result %d+%d=%d", sub, tax, total, res.Subtotal, res.Tax, res.Total)
	}
	if res.Total > till.MaxAmount {
		t.Fatalf("total %d above MaxAmount", res.Total)
	}
	var bSub, bTax int64
	seen := make(map[till.TaxLine]bool)
	for _, b := range res.Breakdown {
		k := till.TaxLine{Country: b.Country, Region: b.Region, Rate: b.Rate, Reason: b.Reason}
		if seen[k] {
			t.Fatalf("breakdown has %+v twice", k)
		}
		seen[k] = true
		bSub += b.TaxableAmount
		bTax += b.TaxAmount
	}
	if bSub != res.Subtotal || bTax != res.Tax {
		t.Fatalf("breakdown sums %d/%d, result %d/%d", bSub, bTax, res.Subtotal, res.Tax)
	}
	if res.ReverseCharge != (res.Note != "") {
		t.Fatalf("ReverseCharge %v with note %q", res.ReverseCharge, res.Note)
	}
}

// amountGen draws line amounts in the ranges of zero-decimal (JPY),
// two-decimal (EUR) and three-decimal (KWD) currencies, from tiny to the
// largest a line can be when up to 20 lines share MaxAmount.
func amountGen() *rapid.Generator[int64] {
	return rapid.OneOf(
		rapid.Int64Range(0, 10),                  // sub-unit amounts where rounding dominates
		rapid.Int64Range(0, 99_999),              // e.g. up to ¥99,999 or €999.99
		rapid.Int64Range(0, 999_999_999),         // e.g. up to KWD 999,999.999
		rapid.Int64Range(0, till.MaxAmount/20/2), // large, leaving room for 100 % tax
		rapid.SampledFrom([]int64{1, 5, 50, 105, 1190, 9999, 10000}),
	)
}

// rateGen draws rates: any millionth from 0 to 100 %, and the table's.
func rateGen() *rapid.Generator[till.Rate] {
	var table []till.Rate
	for _, e := range Table() {
		table = append(table, e.Rate)
	}
	return rapid.OneOf(
		rapid.Custom(func(t *rapid.T) till.Rate { return till.Rate(rapid.Int64Range(0, till.RateScale).Draw(t, "rate")) }),
		rapid.SampledFrom(table),
		rapid.SampledFrom([]till.Rate{0, 1, 88750, 255000, 500000, till.Rate(till.RateScale)}),
	)
}

// requestGen draws a request whose lines are taxed at one custom rate, or by
// the built-in rules for a random pair of countries.
func requestGen() *rapid.Generator[Request] {
	countries := append([]string{"US", "BR"}, requiredCountries...)
	return rapid.Custom(func(t *rapid.T) Request {
		req := Request{
			At:       time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
			Behavior: rapid.SampledFrom([]till.TaxBehavior{till.TaxExclusive, till.TaxInclusive}).Draw(t, "behavior"),
		}
		if rapid.Bool().Draw(t, "custom") {
			req.Seller = Seller{Country: "US", CustomRates: []till.CustomTaxRate{{Country: "US", Rate: rateGen().Draw(t, "customRate"), Name: "Sales tax"}}}
		} else {
			origin := rapid.SampledFrom(requiredCountries).Draw(t, "origin")
			req.Seller = Seller{Country: origin, EUOSS: rapid.Bool().Draw(t, "oss")}
			req.Buyer = Buyer{Country: rapid.SampledFrom(countries).Draw(t, "buyer")}
			if rapid.Bool().Draw(t, "registered") {
				req.Seller.Registrations = []string{req.Buyer.Country}
			}
			if rapid.Bool().Draw(t, "b2b") {
				req.Buyer.TaxIDs = []till.TaxID{{Type: "eu_vat", Value: "DE123456789"}}
			}
		}
		n := rapid.IntRange(0, 20).Draw(t, "lines")
		for i := 0; i < n; i++ {
			code := rapid.SampledFrom([]string{"", TaxCodeStandard, TaxCodeExempt}).Draw(t, "taxCode")
			req.Lines = append(req.Lines, Line{Amount: amountGen().Draw(t, "amount"), TaxCode: code})
		}
		return req
	})
}

func TestPropertySumsAreExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		req := requestGen().Draw(t, "request")
		res, err := Calculate(req)
		if err != nil {
			e, ok := till.AsError(err)
			if !ok || e.Code != till.EValidation || e.Param != "taxCountry" {
				t.Fatalf("unexpected error %v", err)
			}
			return // registered in a country outside the table (US, BR)
		}
		checkInvariants(t, req, res)
	})
}

func TestPropertyRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rate := rateGen().Draw(t, "rate")
		seller := Seller{Country: "US", CustomRates: []till.CustomTaxRate{{Country: "US", Rate: rate, Name: "Sales tax"}}}
		amounts := rapid.SliceOfN(amountGen(), 1, 20).Draw(t, "amounts")
		ls := make([]Line, len(amounts))
		for i, a := range amounts {
			ls[i] = Line{Amount: a}
		}
		at := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

		// Net → gross → net: exact per line (the exclusive rounding error is
		// at most half a unit, and dividing by 1 + rate only shrinks it).
		ex := MustCalculateRapid(t, Request{At: at, Seller: seller, Behavior: till.TaxExclusive, Lines: ls})
		gross := make([]Line, len(ls))
		for i, l := range ex.Lines {
			gross[i] = Line{Amount: l.Total}
		}
		in := MustCalculateRapid(t, Request{At: at, Seller: seller, Behavior: till.TaxInclusive, Lines: gross})
		for i := range ls {
			if in.Lines[i].Taxable != ls[i].Amount {
				t.Fatalf("line %d: net %d → gross %d → net %d at %s", i, ls[i].Amount, gross[i].Amount, in.Lines[i].Taxable, rate)
			}
		}

		// Gross → net → gross: within one minor unit per line.
		in2 := MustCalculateRapid(t, Request{At: at, Seller: seller, Behavior: till.TaxInclusive, Lines: ls})
		nets := make([]Line, len(ls))
		for i, l := range in2.Lines {
			nets[i] = Line{Amount: l.Taxable}
		}
		ex2 := MustCalculateRapid(t, Request{At: at, Seller: seller, Behavior: till.TaxExclusive, Lines: nets})
		for i := range ls {
			if d := ex2.Lines[i].Total - ls[i].Amount; d < -1 || d > 1 {
				t.Fatalf("line %d: gross %d → net %d → gross %d at %s", i, ls[i].Amount, nets[i].Amount, ex2.Lines[i].Total, rate)
			}
		}
	})
}

func TestPropertyInclusiveTaxNeverExceedsTotal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rate := rateGen().Draw(t, "rate")
		amount := amountGen().Draw(t, "amount")
		res := MustCalculateRapid(t, Request{
			At:       time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
			Seller:   Seller{Country: "US", CustomRates: []till.CustomTaxRate{{Country: "US", Rate: rate}}},
			Behavior: till.TaxInclusive,
			Lines:    []Line{{Amount: amount}},
		})
		if res.Tax > res.Total || res.Tax < 0 || res.Total != amount {
			t.Fatalf("amount %d at %s: %+v", amount, rate, res)
		}
		// At most half the total can be tax, since rates stop at 100 %.
		if res.Tax > (amount+1)/2 {
			t.Fatalf("tax %d of %d at %s", res.Tax, amount, rate)
		}
	})
}

// MustCalculateRapid calls Calculate and fails the property on error.
func MustCalculateRapid(t *rapid.T, req Request) Result {
	t.Helper()
	res, err := Calculate(req)
	if err != nil {
		t.Fatalf("Calculate: %v", err)
	}
	checkInvariants(t, req, res)
	return res
}
