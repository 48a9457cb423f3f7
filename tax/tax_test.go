package tax

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
)

// now is the date the rule tests run at.
var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// MustCalculate calls Calculate and fails the test on error.
func MustCalculate(tb testing.TB, req Request) Result {
	tb.Helper()
	res, err := Calculate(req)
	if err != nil {
		tb.Fatalf("Calculate: %v", err)
	}
	return res
}

// lines returns standard-rated lines of the given amounts.
func lines(amounts ...int64) []Line {
	out := make([]Line, len(amounts))
	for i, a := range amounts {
		out[i] = Line{Amount: a}
	}
	return out
}

func TestSeedExample(t *testing.T) {
	res := MustCalculate(t, Request{
		At:       now,
		Seller:   Seller{Country: "DE"},
		Buyer:    Buyer{Country: "DE"},
		Behavior: till.TaxExclusive,
		Lines:    lines(1000),
	})
	want := Result{
		Subtotal: 1000, Tax: 190, Total: 1190,
		Lines:     []LineResult{{Taxable: 1000, Tax: 190, Total: 1190, Rate: 190000, Country: "DE", Reason: till.TaxReasonDomestic, Name: "MwSt"}},
		Breakdown: []till.TaxLine{{Country: "DE", Rate: 190000, TaxableAmount: 1000, TaxAmount: 190, Reason: till.TaxReasonDomestic, Name: "MwSt"}},
		Country:   "DE", Reason: till.TaxReasonDomestic,
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("got  %+v\nwant %+v", res, want)
	}
}

func TestInclusive(t *testing.T) {
	res := MustCalculate(t, Request{At: now, Seller: Seller{Country: "DE"}, Behavior: till.TaxInclusive, Lines: lines(1190)})
	if res.Subtotal != 1000 || res.Tax != 190 || res.Total != 1190 {
		t.Errorf("got subtotal %d tax %d total %d, want 1000 190 1190", res.Subtotal, res.Tax, res.Total)
	}
	if res.Lines[0].Taxable != 1000 || res.Breakdown[0].TaxableAmount != 1000 {
		t.Errorf("net not 1000: %+v", res)
	}
}

func TestEmptyBehaviorIsExclusive(t *testing.T) {
	res := MustCalculate(t, Request{At: now, Seller: Seller{Country: "DE"}, Lines: lines(1000)})
	if res.Total != 1190 {
		t.Errorf("total %d, want 1190", res.Total)
	}
}

func TestRules(t *testing.T) {
	frVAT := []till.TaxID{{Type: "eu_vat", Value: "FR 12 345678901"}}
	tests := []struct {
		name    string
		seller  Seller
		buyer   Buyer
		amount  int64
		country string
		region  string
		rate    string
		reason  string
		taxName string
		tax     int64
		reverse bool
	}{
		{"domestic", Seller{Country: "DE"}, Buyer{Country: "DE"}, 10000, "DE", "", "19", till.TaxReasonDomestic, "MwSt", 1900, false},
		{"empty buyer country is the origin", Seller{Country: "FR"}, Buyer{}, 10000, "FR", "", "20", till.TaxReasonDomestic, "TVA", 2000, false},
		{"domestic B2B has no reverse charge", Seller{Country: "FR"}, Buyer{Country: "FR", TaxIDs: frVAT}, 10000, "FR", "", "20", till.TaxReasonDomestic, "TVA", 2000, false},
		{"domestic lower case", Seller{Country: "de"}, Buyer{Country: " De "}, 10000, "DE", "", "19", till.TaxReasonDomestic, "MwSt", 1900, false},
		{"domestic outside the EU", Seller{Country: "GB"}, Buyer{Country: "GB"}, 10000, "GB", "", "20", till.TaxReasonDomestic, "VAT", 2000, false},
		{"reverse charge", Seller{Country: "DE"}, Buyer{Country: "FR", TaxIDs: frVAT}, 10000, "FR", "", "0", till.TaxReasonReverseCharge, "", 0, true},
		{"reverse charge beats OSS", Seller{Country: "DE", EUOSS: true}, Buyer{Country: "FR", TaxIDs: frVAT}, 10000, "FR", "", "0", till.TaxReasonReverseCharge, "", 0, true},
		{"reverse charge beats registration", Seller{Country: "DE", Registrations: []string{"FR"}}, Buyer{Country: "FR", TaxIDs: frVAT}, 10000, "FR", "", "0", till.TaxReasonReverseCharge, "", 0, true},
		{"reverse charge Greece EL prefix", Seller{Country: "IT"}, Buyer{Country: "GR", TaxIDs: []till.TaxID{{Type: "eu_vat", Value: "EL123456789"}}}, 10000, "GR", "", "0", till.TaxReasonReverseCharge, "", 0, true},
		{"reverse charge non-EU seller", Seller{Country: "US"}, Buyer{Country: "DE", TaxIDs: []till.TaxID{{Type: "eu_vat", Value: "DE123456789"}}}, 10000, "DE", "", "0", till.TaxReasonReverseCharge, "", 0, true},
		{"malformed VAT number is B2C (OSS)", Seller{Country: "DE", EUOSS: true}, Buyer{Country: "FR", TaxIDs: []till.TaxID{{Type: "eu_vat", Value: "FR123"}}}, 10000, "FR", "", "20", till.TaxReasonEUOSS, "TVA", 2000, false},
		{"another country's VAT number is B2C", Seller{Country: "DE", EUOSS: true}, Buyer{Country: "FR", TaxIDs: []till.TaxID{{Type: "eu_vat", Value: "DE123456789"}}}, 10000, "FR", "", "20", till.TaxReasonEUOSS, "TVA", 2000, false},
		{"non eu_vat tax ID is B2C", Seller{Country: "DE"}, Buyer{Country: "FR", TaxIDs: []till.TaxID{{Type: "gb_vat", Value: "FR12345678901"}}}, 10000, "FR", "", "0", till.TaxReasonNotCollecting, "", 0, false},
		{"EU OSS", Seller{Country: "DE", EUOSS: true}, Buyer{Country: "FR"}, 10000, "FR", "", "20", till.TaxReasonEUOSS, "TVA", 2000, false},
		{"EU OSS Finland 25.5", Seller{Country: "DE", EUOSS: true}, Buyer{Country: "FI"}, 10000, "FI", "", "25.5", till.TaxReasonEUOSS, "ALV", 2550, false},
		{"EU OSS Greece", Seller{Country: "DE", EUOSS: true}, Buyer{Country: "EL"}, 10000, "GR", "", "24", till.TaxReasonEUOSS, "FPA", 2400, false},
		{"OSS flag of a non-EU seller", Seller{Country: "GB", EUOSS: true}, Buyer{Country: "FR"}, 10000, "FR", "", "0", till.TaxReasonNotCollecting, "", 0, false},
		{"OSS does not reach non-EU buyers", Seller{Country: "DE", EUOSS: true}, Buyer{Country: "CH"}, 10000, "CH", "", "0", till.TaxReasonNotCollecting, "", 0, false},
		{"EU cross-border B2C without OSS", Seller{Country: "DE"}, Buyer{Country: "FR"}, 10000, "FR", "", "0", till.TaxReasonNotCollecting, "", 0, false},
		{"registered", Seller{Country: "DE", Registrations: []string{"gb", "CH"}}, Buyer{Country: "CH"}, 10000, "CH", "", "8.1", till.TaxReasonRegistered, "MWST/TVA/IVA", 810, false},
		{"registered in an EU country without OSS", Seller{Country: "DE", Registrations: []string{"AT"}}, Buyer{Country: "AT"}, 10000, "AT", "", "20", till.TaxReasonRegistered, "USt", 2000, false},
		{"registered Japan", Seller{Country: "US", Registrations: []string{"JP"}}, Buyer{Country: "JP"}, 10001, "JP", "", "10", till.TaxReasonRegistered, "Consumption tax", 1000, false},
		{"not collecting", Seller{Country: "DE"}, Buyer{Country: "US", Region: "NY"}, 10000, "US", "", "0", till.TaxReasonNotCollecting, "", 0, false},
		{"not collecting from a country outside the table", Seller{Country: "XX"}, Buyer{Country: "FR"}, 10000, "FR", "", "0", till.TaxReasonNotCollecting, "", 0, false},
		{"custom US rate half up", Seller{Country: "US", CustomRates: []till.CustomTaxRate{{Country: "US", Region: "NY", Rate: 88750, Name: "NY sales tax"}}}, Buyer{Country: "US", Region: "NY"}, 10000, "US", "NY", "8.875", till.TaxReasonCustom, "NY sales tax", 888, false},
		{"custom region case-insensitive", Seller{Country: "US", CustomRates: []till.CustomTaxRate{{Country: "us", Region: "ny", Rate: 88750, Name: "NY"}}}, Buyer{Country: "US", Region: " NY "}, 10000, "US", "ny", "8.875", till.TaxReasonCustom, "NY", 888, false},
		{"custom region beats country", Seller{Country: "DE", CustomRates: []till.CustomTaxRate{{Country: "US", Rate: 50000, Name: "US"}, {Country: "US", Region: "NY", Rate: 88750, Name: "NY"}}}, Buyer{Country: "US", Region: "NY"}, 10000, "US", "NY", "8.875", till.TaxReasonCustom, "NY", 888, false},
		{"custom country when region differs", Seller{Country: "DE", CustomRates: []till.CustomTaxRate{{Country: "US", Region: "NY", Rate: 88750, Name: "NY"}, {Country: "US", Rate: 50000, Name: "US"}}}, Buyer{Country: "US", Region: "CA"}, 10000, "US", "", "5", till.TaxReasonCustom, "US", 500, false},
		{"custom country when buyer has no region", Seller{Country: "DE", CustomRates: []till.CustomTaxRate{{Country: "US", Region: "NY", Rate: 88750, Name: "NY"}, {Country: "US", Rate: 50000, Name: "US"}}}, Buyer{Country: "US"}, 10000, "US", "", "5", till.TaxReasonCustom, "US", 500, false},
		{"custom region-only rate does not match another region", Seller{Country: "DE", CustomRates: []till.CustomTaxRate{{Country: "US", Region: "NY", Rate: 88750, Name: "NY"}}}, Buyer{Country: "US", Region: "CA"}, 10000, "US", "", "0", till.TaxReasonNotCollecting, "", 0, false},
		{"custom wins over domestic", Seller{Country: "DE", CustomRates: []till.CustomTaxRate{{Country: "DE", Rate: 70000, Name: "MwSt ermäßigt"}}}, Buyer{Country: "DE"}, 10000, "DE", "", "7", till.TaxReasonCustom, "MwSt ermäßigt", 700, false},
		{"custom wins over reverse charge", Seller{Country: "DE", CustomRates: []till.CustomTaxRate{{Country: "FR", Rate: 200000, Name: "TVA"}}}, Buyer{Country: "FR", TaxIDs: frVAT}, 10000, "FR", "", "20", till.TaxReasonCustom, "TVA", 2000, false},
		{"custom first country-wide match wins", Seller{Country: "DE", CustomRates: []till.CustomTaxRate{{Country: "US", Rate: 50000, Name: "A"}, {Country: "US", Rate: 60000, Name: "B"}}}, Buyer{Country: "US"}, 10000, "US", "", "5", till.TaxReasonCustom, "A", 500, false},
		{"custom for a country outside the table", Seller{Country: "US", CustomRates: []till.CustomTaxRate{{Country: "US", Rate: 0, Name: "None"}}}, Buyer{Country: "US"}, 10000, "US", "", "0", till.TaxReasonCustom, "None", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := MustCalculate(t, Request{At: now, Seller: tt.seller, Buyer: tt.buyer, Behavior: till.TaxExclusive, Lines: lines(tt.amount)})
			l := res.Lines[0]
			rate := mustRate(t, tt.rate)
			if l.Country != tt.country || l.Region != tt.region || l.Rate != rate || l.Reason != tt.reason || l.Name != tt.taxName || l.Tax != tt.tax {
				t.Errorf("line %+v, want country %s region %q rate %s reason %s name %q tax %d", l, tt.country, tt.region, rate, tt.reason, tt.taxName, tt.tax)
			}
			if res.Country != tt.country || res.Reason != tt.reason || res.Tax != tt.tax || res.Total != tt.amount+tt.tax {
				t.Errorf("result %+v", res)
			}
			if res.ReverseCharge != tt.reverse {
				t.Errorf("ReverseCharge %v, want %v", res.ReverseCharge, tt.reverse)
			}
			if tt.reverse {
				if !strings.Contains(res.Note, "Reverse charge") || !strings.Contains(res.Note, "Article 196 of Council Directive 2006/112/EC") {
					t.Errorf("note %q", res.Note)
				}
			} else if res.Note != "" {
				t.Errorf("unexpected note %q", res.Note)
			}
			want := []till.TaxLine{{Country: tt.country, Region: tt.region, Rate: rate, TaxableAmount: tt.amount, TaxAmount: tt.tax, Reason: tt.reason, Name: tt.taxName}}
			if !reflect.DeepEqual(res.Breakdown, want) {
				t.Errorf("breakdown %+v, want %+v", res.Breakdown, want)
			}
		})
	}
}

func TestReverseChargeNoteNamesTheCustomerNumber(t *testing.T) {
	res := MustCalculate(t, Request{At: now, Seller: Seller{Country: "DE"}, Buyer: Buyer{Country: "NL", TaxIDs: []till.TaxID{
		{Type: "eu_vat", Value: "DE123456789"}, // not the buyer country's: skipped
		{Type: "EU_VAT", Value: "nl 123456789.b.01"},
	}}, Lines: lines(5000)})
	want := ReverseChargeNote + " Customer VAT number: NL123456789B01."
	if res.Note != want {
		t.Errorf("note %q, want %q", res.Note, want)
	}
}

func TestEffectiveDates(t *testing.T) {
	tests := []struct {
		country string
		at      time.Time
		tax     int64
	}{
		{"FI", time.Date(2024, 8, 31, 23, 59, 59, 0, time.UTC), 2400},
		{"FI", time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC), 2550},
		{"SK", time.Date(2024, 12, 31, 12, 0, 0, 0, time.UTC), 2000},
		{"SK", time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC), 2300},
		{"EE", time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC), 2200},
		{"EE", time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC), 2400},
		{"RO", time.Date(2025, 7, 31, 12, 0, 0, 0, time.UTC), 1900},
		{"RO", time.Date(2025, 8, 1, 12, 0, 0, 0, time.UTC), 2100},
		{"CH", time.Date(2023, 12, 31, 12, 0, 0, 0, time.UTC), 770},
		{"CH", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), 810},
		{"SG", time.Date(2023, 12, 31, 12, 0, 0, 0, time.UTC), 800},
		{"SG", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), 900},
		{"LU", time.Date(2023, 6, 1, 12, 0, 0, 0, time.UTC), 1600},
		{"LU", time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC), 1700},
	}
	for _, tt := range tests {
		t.Run(tt.country+"/"+tt.at.Format(time.RFC3339), func(t *testing.T) {
			res := MustCalculate(t, Request{At: tt.at, Seller: Seller{Country: tt.country}, Lines: lines(10000)})
			if res.Tax != tt.tax {
				t.Errorf("tax %d, want %d", res.Tax, tt.tax)
			}
		})
	}
}

func TestExemptLines(t *testing.T) {
	res := MustCalculate(t, Request{At: now, Seller: Seller{Country: "DE"}, Lines: []Line{
		{Amount: 1000},
		{Amount: 500, TaxCode: "exempt"},
		{Amount: 2000, TaxCode: "standard"},
		{Amount: 300, TaxCode: "EXEMPT"},
	}})
	if res.Subtotal != 3800 || res.Tax != 570 || res.Total != 4370 || res.Reason != till.TaxReasonDomestic {
		t.Errorf("result %+v", res)
	}
	want := []till.TaxLine{
		{Country: "DE", Rate: 190000, TaxableAmount: 3000, TaxAmount: 570, Reason: till.TaxReasonDomestic, Name: "MwSt"},
		{Country: "DE", Rate: 0, TaxableAmount: 800, TaxAmount: 0, Reason: till.TaxReasonExempt},
	}
	if !reflect.DeepEqual(res.Breakdown, want) {
		t.Errorf("breakdown %+v\nwant %+v", res.Breakdown, want)
	}
	if l := res.Lines[1]; l.Reason != till.TaxReasonExempt || l.Rate != 0 || l.Tax != 0 || l.Total != 500 {
		t.Errorf("exempt line %+v", l)
	}

	all := MustCalculate(t, Request{At: now, Seller: Seller{Country: "DE"}, Buyer: Buyer{Country: "FR", TaxIDs: []till.TaxID{{Type: "eu_vat", Value: "FR12345678901"}}},
		Behavior: till.TaxInclusive, Lines: []Line{{Amount: 700, TaxCode: "exempt"}}})
	if all.Reason != till.TaxReasonExempt || all.Tax != 0 || all.Total != 700 || all.Subtotal != 700 || all.ReverseCharge || all.Note != "" {
		t.Errorf("all exempt %+v", all)
	}
}

func TestBreakdownFirstSeenOrder(t *testing.T) {
	res := MustCalculate(t, Request{At: now, Seller: Seller{Country: "DE"}, Lines: []Line{
		{Amount: 100, TaxCode: "exempt"}, {Amount: 105}, {Amount: 100, TaxCode: "exempt"}, {Amount: 105},
	}})
	if len(res.Breakdown) != 2 || res.Breakdown[0].Reason != till.TaxReasonExempt || res.Breakdown[1].Reason != till.TaxReasonDomestic {
		t.Fatalf("breakdown %+v", res.Breakdown)
	}
	// 105 × 19 % = 19.95 → 20 per line, rounded per line: 40, not round(39.9).
	if res.Breakdown[1].TaxAmount != 40 || res.Tax != 40 {
		t.Errorf("breakdown %+v", res.Breakdown)
	}
}

func TestNoLines(t *testing.T) {
	res := MustCalculate(t, Request{At: now, Seller: Seller{Country: "DE"}})
	if res.Total != 0 || res.Tax != 0 || len(res.Lines) != 0 || len(res.Breakdown) != 0 || res.Reason != till.TaxReasonDomestic {
		t.Errorf("%+v", res)
	}
}

func TestMaxAmount(t *testing.T) {
	// Inclusive: the total is the amount itself.
	res := MustCalculate(t, Request{At: now, Seller: Seller{Country: "HU"}, Behavior: till.TaxInclusive, Lines: lines(till.MaxAmount)})
	if res.Total != till.MaxAmount || res.Tax+res.Subtotal != till.MaxAmount {
		t.Errorf("%+v", res)
	}
	// Exclusive at 0 %: exactly the maximum is fine.
	MustCalculate(t, Request{At: now, Seller: Seller{Country: "DE"}, Buyer: Buyer{Country: "US"}, Lines: lines(till.MaxAmount)})
}

func TestValidationErrors(t *testing.T) {
	de := Seller{Country: "DE"}
	tests := []struct {
		name  string
		req   Request
		code  till.Code
		param string
	}{
		{"negative amount", Request{At: now, Seller: de, Lines: lines(100, -1)}, till.EValidation, "amount"},
		{"exclusive total above max", Request{At: now, Seller: de, Lines: lines(till.MaxAmount)}, till.EValidation, "amount"},
		{"lines sum above max", Request{At: now, Seller: de, Behavior: till.TaxInclusive, Lines: lines(till.MaxAmount, 1)}, till.EValidation, "amount"},
		{"line above max", Request{At: now, Seller: de, Behavior: till.TaxInclusive, Lines: lines(1 << 62)}, till.EValidation, "amount"},
		{"unknown tax code", Request{At: now, Seller: de, Lines: []Line{{Amount: 1}, {Amount: 1, TaxCode: "reduced"}}}, till.EValidation, "lineItems[1].taxCode"},
		{"unknown behavior", Request{At: now, Seller: de, Behavior: "gross", Lines: lines(1)}, till.EValidation, "taxBehavior"},
		{"no origin", Request{At: now, Lines: lines(1)}, till.EValidation, "originCountry"},
		{"origin outside the table", Request{At: now, Seller: Seller{Country: "US"}, Lines: lines(1)}, till.EValidation, "taxCountry"},
		{"buyer defaults to an origin outside the table", Request{At: now, Seller: Seller{Country: "BR"}, Buyer: Buyer{Region: "SP"}, Lines: lines(1)}, till.EValidation, "taxCountry"},
		{"registered outside the table", Request{At: now, Seller: Seller{Country: "DE", Registrations: []string{"US"}}, Buyer: Buyer{Country: "US"}, Lines: lines(1)}, till.EValidation, "taxCountry"},
		{"date before the table", Request{At: time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC), Seller: Seller{Country: "SG"}, Lines: lines(1)}, till.EValidation, "taxCountry"},
		{"custom rate above 100 %", Request{At: now, Seller: Seller{Country: "DE", CustomRates: []till.CustomTaxRate{{Country: "US", Rate: till.Rate(till.RateScale + 1)}}}, Lines: lines(1)}, till.EValidation, "customTaxRates[0].rate"},
		{"negative custom rate", Request{At: now, Seller: Seller{Country: "DE", CustomRates: []till.CustomTaxRate{{Country: "US"}, {Country: "FR", Rate: -1}}}, Lines: lines(1)}, till.EValidation, "customTaxRates[1].rate"},
		{"zero time", Request{Seller: de, Lines: lines(1)}, till.EInternal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Calculate(tt.req)
			e, ok := till.AsError(err)
			if !ok {
				t.Fatalf("error %v, want *till.Error", err)
			}
			if e.Code != tt.code || e.Param != tt.param {
				t.Errorf("code %s param %q, want %s %q (%v)", e.Code, e.Param, tt.code, tt.param, err)
			}
			if e.Code == till.EValidation && e.Message == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestMissingRateMessageIsClear(t *testing.T) {
	_, err := Calculate(Request{At: now, Seller: Seller{Country: "us"}, Lines: lines(1)})
	e, _ := till.AsError(err)
	if e == nil || !strings.Contains(e.Message, "US") || !strings.Contains(e.Message, "2026-11-23") || !strings.Contains(e.Message, "custom tax rate") {
		t.Errorf("message %v", err)
	}
}
