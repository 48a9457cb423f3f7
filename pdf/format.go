package pdf

import (
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/tillpay/till"
)

// money renders an amount of c in major units with thousands separators:
// "1,190.00" for 119000 EUR, "1,190" for 1190 JPY, "1.190" for 1190 KWD. It
// builds on till.FormatAmount, so no float ever holds the amount.
func money(amount int64, c till.Currency) string {
	s := till.FormatAmount(amount, c)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// moneyCode is money with the ISO 4217 code in front: "EUR 1,190.00".
func moneyCode(amount int64, c till.Currency) string {
	return c.Code + " " + money(amount, c)
}

// date renders a calendar date unambiguously in English: "14 March 2026".
// Documents are dated in UTC, the zone their numbers' years are taken in.
func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 January 2006")
}

// percent renders a rate as a percentage: "19 %", "8.875 %".
func percent(r till.Rate) string { return r.String() + " %" }

// countryName is the English name of an ISO 3166-1 alpha-2 code ("DE" →
// "Germany"), or the code itself when it is unknown.
func countryName(code string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" {
		return ""
	}
	if code == "EL" { // Greece's VAT prefix
		code = "GR"
	}
	reg, err := language.ParseRegion(code)
	if err != nil || !reg.IsCountry() {
		return code
	}
	if n := display.English.Regions().Name(reg); n != "" {
		return n
	}
	return code
}

// addressLines renders an address the way letters are addressed in its
// country, closely enough for an invoice: street lines, then the postal code
// and city (city first in the countries that write it so), the region where
// one is given, and the country's name.
func addressLines(a till.Address) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	add(a.Line1)
	add(a.Line2)
	country := strings.ToUpper(strings.TrimSpace(a.Country))
	switch country {
	case "US", "CA", "AU":
		city := strings.TrimSpace(a.City)
		region := strings.TrimSpace(strings.TrimSpace(a.State) + " " + strings.TrimSpace(a.PostalCode))
		if city != "" && region != "" {
			city += ", "
		}
		add(city + region)
	case "GB", "IE":
		add(a.City)
		add(a.State)
		add(a.PostalCode)
	default:
		add(strings.TrimSpace(a.PostalCode) + " " + strings.TrimSpace(a.City))
		add(a.State)
	}
	add(countryName(country))
	return out
}

// reasonLabel says, in a few words, why a rate applies; "" for the ordinary
// case of a rate charged where the seller collects.
func reasonLabel(reason string) string {
	switch reason {
	case till.TaxReasonReverseCharge:
		return "reverse charge"
	case till.TaxReasonExempt:
		return "exempt"
	case till.TaxReasonNotCollecting:
		return "not collected"
	case till.TaxReasonEUOSS:
		return "EU OSS"
	}
	return ""
}

// lineRate is the VAT column of an item line: "19 %", or "exempt" for an
// exempt line, which the exemption note refers to. (A reverse-charged line
// shows "0 %": the VAT summary and the note say why.)
func lineRate(l till.DocumentLine) string {
	if l.Reason == till.TaxReasonExempt {
		return "exempt"
	}
	return percent(l.Rate)
}

// summaryLabel names a row of the VAT summary: the rate, the country and why
// it applies, e.g. "19 % · DE", "0 % · FR · reverse charge", "8.875 % · US ·
// NY State Sales Tax".
func summaryLabel(t till.TaxLine) string {
	parts := []string{percent(t.Rate)}
	if t.Country != "" {
		c := strings.ToUpper(t.Country)
		if t.Region != "" {
			c += "-" + strings.ToUpper(t.Region)
		}
		parts = append(parts, c)
	}
	if t.Reason == till.TaxReasonCustom && t.Name != "" {
		parts = append(parts, t.Name)
	} else if r := reasonLabel(t.Reason); r != "" {
		parts = append(parts, r)
	}
	return strings.Join(parts, " · ")
}

// refundReason turns a refund reason code into words; free text passes
// through.
func refundReason(r string) string {
	switch r {
	case "":
		return ""
	case "requested_by_customer":
		return "Requested by the customer"
	case "duplicate":
		return "Duplicate payment"
	case "fraudulent":
		return "Fraudulent payment"
	}
	return r
}
