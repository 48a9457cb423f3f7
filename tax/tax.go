// Package tax works out the VAT/GST of a charge: which country's tax applies
// and why (SPEC §7), at which rate on the charge's date, and how much per line,
// in exact integer arithmetic with one documented rounding rule.
//
// The built-in standard rates live in rates.csv, embedded in the binary, with
// effective dates and the source of every figure; Lookup and Table read it.
// Calculate applies the rules; ValidVATNumber and IsEU support the EU
// reverse-charge rule. The package imports only the standard library and the
// root package till. docs/tax.md describes the rules and carries the table.
package tax

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// Tax codes accepted on a line. The empty code means TaxCodeStandard.
const (
	// TaxCodeStandard taxes the line at the rate the rules select.
	TaxCodeStandard = "standard"
	// TaxCodeExempt taxes the line at 0 % with reason exempt.
	TaxCodeExempt = "exempt"
)

// ReverseChargeNote is the invoice wording for an EU cross-border B2B supply
// on which the customer accounts for the VAT. Calculate appends the
// customer's VAT number to it.
const ReverseChargeNote = "Reverse charge: VAT to be accounted for by the recipient under Article 196 of Council Directive 2006/112/EC."

// Seller is the merchant side of a calculation, taken from the account's
// settings.
type Seller struct {
	// Country is the origin country (account originCountry), where the
	// merchant is established and always collects.
	Country string
	// EUOSS says the merchant is registered for the EU One-Stop-Shop and so
	// collects each EU country's VAT on cross-border B2C sales.
	EUOSS bool
	// Registrations are further countries where the merchant collects.
	Registrations []string
	// CustomRates are merchant-defined rates that win where they match.
	CustomRates []till.CustomTaxRate
}

// Buyer is the customer side of a calculation.
type Buyer struct {
	// Country is the tax location (taxCountry, else the billing address
	// country). Empty means the seller's origin country.
	Country string
	// Region is the state, province or similar, matched against custom
	// rates case-insensitively.
	Region string
	// TaxIDs are the customer's tax numbers; an eu_vat number of the
	// buyer's country makes an EU cross-border sale B2B.
	TaxIDs []till.TaxID
}

// Line is one taxable line.
type Line struct {
	// Amount is in minor units: net for exclusive, gross for inclusive.
	Amount int64
	// TaxCode is "", "standard" or "exempt".
	TaxCode string
}

// Request is the input of Calculate.
type Request struct {
	// At is the charge's date; the rate in force on its UTC calendar day
	// applies. It must not be zero.
	At       time.Time
	Seller   Seller
	Buyer    Buyer
	Behavior till.TaxBehavior // empty means exclusive
	Lines    []Line
}

// LineResult is the tax of one line.
type LineResult struct {
	Taxable int64 // net amount
	Tax     int64
	Total   int64 // Taxable + Tax
	Rate    till.Rate
	Country string
	Region  string
	Reason  string // one of the till.TaxReason* constants
	Name    string // tax name for invoices, empty at 0 % outside a table rate
}

// Result is the output of Calculate. Subtotal + Tax = Total, the lines sum to
// the totals and the breakdown sums to Subtotal and Tax, always exactly.
type Result struct {
	Subtotal int64 // sum of the lines' net amounts
	Tax      int64
	Total    int64
	Lines    []LineResult
	// Breakdown groups the lines by country, region, rate and reason in
	// the order first seen.
	Breakdown []till.TaxLine
	// Country is the country whose tax rules applied (the buyer's).
	Country string
	// Reason is why the standard-rated lines were taxed as they were, or
	// exempt when every line is exempt.
	Reason string
	// ReverseCharge says the customer accounts for the VAT; Note then holds
	// the wording the invoice must carry.
	ReverseCharge bool
	Note          string
}

// jurisdiction is the outcome of the rules for standard-rated lines.
type jurisdiction struct {
	country, region, reason, name string
	rate                          till.Rate
	vatNumber                     string // the buyer's VAT number, for reverse charge
}

// Calculate applies Till's tax rules to req and computes every line's tax.
//
// The rules, first match wins: a custom rate of the buyer's country (a
// region-specific one over a country-wide one) → that rate, custom_rate; a
// buyer in the origin country → the origin's rate, domestic (B2B too); a buyer
// in another EU country with a well-formed eu_vat number of that country → 0 %,
// reverse_charge; an EU seller with EUOSS selling to another EU country → the
// buyer country's rate, eu_oss; a buyer country among Registrations → its
// rate, registered; anything else → 0 %, not_collecting. Exempt lines are
// always 0 %, exempt.
//
// Exclusive: tax = round(amount × rate); inclusive: net = round(amount ÷
// (1 + rate)) and tax = amount − net; rounding is half up, per line, through
// till.MulDiv.
//
// Calculate returns a validation_error *till.Error for a negative line amount
// or a total above till.MaxAmount (param amount), an unknown tax code (param
// lineItems[i].taxCode), an unknown behaviour (param taxBehavior), a custom
// rate above 100 % (param customTaxRates[i].rate), a missing origin country
// (param originCountry), and a country where the merchant collects but the
// table has no rate for the date (param taxCountry). It never charges 0 %
// silently where the merchant collects.
func Calculate(req Request) (Result, error) {
	if req.At.IsZero() {
		return Result{}, till.Internal(errors.New("tax: Request.At is zero"))
	}
	behavior := req.Behavior
	if behavior == "" {
		behavior = till.TaxExclusive
	}
	if !behavior.Valid() {
		return Result{}, till.ParamError(till.EValidation, "taxBehavior", "Tax behavior must be %q or %q.", till.TaxExclusive, till.TaxInclusive)
	}
	exempt := make([]bool, len(req.Lines))
	var sum int64
	for i, l := range req.Lines {
		switch strings.ToLower(strings.TrimSpace(l.TaxCode)) {
		case "", TaxCodeStandard:
		case TaxCodeExempt:
			exempt[i] = true
		default:
			return Result{}, till.ParamError(till.EValidation, fmt.Sprintf("lineItems[%d].taxCode", i), "Unknown tax code %q: use %q or %q.", l.TaxCode, TaxCodeStandard, TaxCodeExempt)
		}
		if l.Amount < 0 {
			return Result{}, till.ParamError(till.EValidation, "amount", "Line %d has a negative amount.", i)
		}
		if l.Amount > till.MaxAmount {
			return Result{}, tooLarge()
		}
		sum += l.Amount // both operands ≤ MaxAmount, so no overflow
		if sum > till.MaxAmount {
			return Result{}, tooLarge()
		}
	}

	j, err := decide(req)
	if err != nil {
		return Result{}, err
	}

	res := Result{Country: j.country, Reason: j.reason, Lines: make([]LineResult, 0, len(req.Lines))}
	allExempt := len(req.Lines) > 0
	for i, l := range req.Lines {
		lr := LineResult{Country: j.country, Region: j.region, Rate: j.rate, Reason: j.reason, Name: j.name}
		if exempt[i] {
			lr = LineResult{Country: j.country, Reason: till.TaxReasonExempt}
		} else {
			allExempt = false
		}
		if err := amounts(&lr, l.Amount, behavior); err != nil {
			return Result{}, err
		}
		res.Lines = append(res.Lines, lr)
		res.Subtotal += lr.Taxable
		res.Tax += lr.Tax
		res.Total += lr.Total
	}
	if res.Total > till.MaxAmount {
		return Result{}, tooLarge()
	}
	if allExempt {
		res.Reason = till.TaxReasonExempt
	}
	if j.reason == till.TaxReasonReverseCharge && !allExempt {
		res.ReverseCharge = true
		res.Note = ReverseChargeNote + " Customer VAT number: " + j.vatNumber + "."
	}
	res.Breakdown = breakdown(res.Lines)
	return res, nil
}

// tooLarge is the error for a total above till.MaxAmount.
func tooLarge() error {
	return till.ParamError(till.EValidation, "amount", "The total with tax must not exceed %d minor units.", till.MaxAmount)
}

// amounts fills lr's Taxable, Tax and Total from a line amount at lr.Rate.
// Both formulas round half up through till.MulDiv; with 0 ≤ rate ≤ 100 % and
// amount ≤ MaxAmount neither can overflow, and tax never exceeds the amount.
func amounts(lr *LineResult, amount int64, b till.TaxBehavior) error {
	if b == till.TaxInclusive {
		net, ok := till.MulDiv(amount, till.RateScale, till.RateScale+int64(lr.Rate))
		if !ok {
			return till.Internal(fmt.Errorf("tax: inclusive net of %d at %s overflowed", amount, lr.Rate))
		}
		lr.Taxable, lr.Tax, lr.Total = net, amount-net, amount
		return nil
	}
	tax, ok := till.MulDiv(amount, int64(lr.Rate), till.RateScale)
	if !ok {
		return till.Internal(fmt.Errorf("tax: exclusive tax of %d at %s overflowed", amount, lr.Rate))
	}
	lr.Taxable, lr.Tax, lr.Total = amount, tax, amount+tax
	return nil
}

// breakdown groups lines by (country, region, rate, reason) in first-seen
// order. The group's name is its first line's.
func breakdown(lines []LineResult) []till.TaxLine {
	type key struct {
		country, region string
		rate            till.Rate
		reason          string
	}
	var out []till.TaxLine
	index := make(map[key]int)
	for _, l := range lines {
		k := key{l.Country, l.Region, l.Rate, l.Reason}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, till.TaxLine{Country: l.Country, Region: l.Region, Rate: l.Rate, Reason: l.Reason, Name: l.Name})
		}
		out[i].TaxableAmount += l.Taxable
		out[i].TaxAmount += l.Tax
	}
	return out
}

// decide applies the rules of Calculate to find the jurisdiction, rate and
// reason of the request's standard-rated lines.
func decide(req Request) (jurisdiction, error) {
	origin := normCountry(req.Seller.Country)
	if origin == "" {
		return jurisdiction{}, till.ParamError(till.EValidation, "originCountry", "The account has no origin country, so tax cannot be calculated.")
	}
	buyer := normCountry(req.Buyer.Country)
	if buyer == "" {
		buyer = origin
	}
	region := strings.TrimSpace(req.Buyer.Region)

	if j, ok, err := customRate(req.Seller.CustomRates, buyer, region); err != nil || ok {
		return j, err
	}
	if buyer == origin {
		return tableRate(buyer, req.At, till.TaxReasonDomestic)
	}
	if IsEU(buyer) {
		for _, id := range req.Buyer.TaxIDs {
			if strings.EqualFold(strings.TrimSpace(id.Type), "eu_vat") && ValidVATNumber(buyer, id.Value) {
				return jurisdiction{country: buyer, reason: till.TaxReasonReverseCharge, vatNumber: NormalizeVATNumber(id.Value)}, nil
			}
		}
		if IsEU(origin) && req.Seller.EUOSS {
			return tableRate(buyer, req.At, till.TaxReasonEUOSS)
		}
	}
	for _, c := range req.Seller.Registrations {
		if normCountry(c) == buyer {
			return tableRate(buyer, req.At, till.TaxReasonRegistered)
		}
	}
	return jurisdiction{country: buyer, reason: till.TaxReasonNotCollecting}, nil
}

// customRate finds the custom rate for country and region: the first
// region-specific match, else the first country-wide one.
func customRate(rates []till.CustomTaxRate, country, region string) (jurisdiction, bool, error) {
	best := -1
	for i, cr := range rates {
		if cr.Rate < 0 || int64(cr.Rate) > till.RateScale {
			return jurisdiction{}, false, till.ParamError(till.EValidation, fmt.Sprintf("customTaxRates[%d].rate", i), "A custom tax rate must be between 0 and 100 percent.")
		}
		if normCountry(cr.Country) != country {
			continue
		}
		crRegion := strings.TrimSpace(cr.Region)
		switch {
		case crRegion != "" && strings.EqualFold(crRegion, region):
			if best < 0 || strings.TrimSpace(rates[best].Region) == "" {
				best = i
			}
		case crRegion == "":
			if best < 0 {
				best = i
			}
		}
	}
	if best < 0 {
		return jurisdiction{}, false, nil
	}
	cr := rates[best]
	return jurisdiction{country: country, region: strings.TrimSpace(cr.Region), rate: cr.Rate, reason: till.TaxReasonCustom, name: cr.Name}, true, nil
}

// tableRate returns the built-in rate of country on at's date, or a
// validation error when the merchant would collect there but the table has
// no rate.
func tableRate(country string, at time.Time, reason string) (jurisdiction, error) {
	e, ok := Lookup(country, at)
	if !ok {
		return jurisdiction{}, till.ParamError(till.EValidation, "taxCountry",
			"Till has no built-in tax rate for %s on %s; add a custom tax rate for %s to the account.", country, day(at).Format(dateLayout), country)
	}
	return jurisdiction{country: country, rate: e.Rate, reason: reason, name: e.Name}, nil
}
