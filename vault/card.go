package vault

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tillpay/till"
)

// Card brands, as returned by Brand and stored in till.CardDetails.Brand.
const (
	BrandVisa       = "visa"
	BrandMastercard = "mastercard"
	BrandAmex       = "amex"
	BrandDiscover   = "discover"
	BrandDiners     = "diners"
	BrandJCB        = "jcb"
	BrandUnionPay   = "unionpay"
	BrandMaestro    = "maestro"
	BrandUnknown    = "unknown"
)

// Limits of card data accepted by ValidateCard.
const (
	MinNumberLen     = 12
	MaxNumberLen     = 19
	MaxHolderNameLen = 200 // characters, not bytes
	MaxExpiryYears   = 50  // how far in the future an expiry year may be
)

// brandInfo is what ValidateCard needs to know about a brand: its name for
// messages, the number lengths it issues and its CVC length.
type brandInfo struct {
	name    string
	lengths []int // allowed number lengths; nil means MinNumberLen..MaxNumberLen
	want    string
	cvcLen  int
}

var brands = map[string]brandInfo{
	BrandVisa:       {name: "Visa", lengths: []int{13, 16, 19}, want: "13, 16 or 19 digits", cvcLen: 3},
	BrandMastercard: {name: "Mastercard", lengths: []int{16}, want: "16 digits", cvcLen: 3},
	BrandAmex:       {name: "American Express", lengths: []int{15}, want: "15 digits", cvcLen: 4},
	BrandDiscover:   {name: "Discover", lengths: []int{16, 17, 18, 19}, want: "16 to 19 digits", cvcLen: 3},
	BrandDiners:     {name: "Diners Club", lengths: []int{14, 15, 16, 17, 18, 19}, want: "14 to 19 digits", cvcLen: 3},
	BrandJCB:        {name: "JCB", lengths: []int{16, 17, 18, 19}, want: "16 to 19 digits", cvcLen: 3},
	BrandUnionPay:   {name: "UnionPay", lengths: []int{16, 17, 18, 19}, want: "16 to 19 digits", cvcLen: 3},
	BrandMaestro:    {name: "Maestro", lengths: nil, want: "12 to 19 digits", cvcLen: 3},
	BrandUnknown:    {name: "", lengths: nil, want: "12 to 19 digits", cvcLen: 3},
}

// NormalizeNumber returns s without the spaces and dashes people type or
// paste between the groups of a card number. Any other character is kept, so
// that ValidateCard can reject it.
func NormalizeNumber(s string) string {
	if !strings.ContainsFunc(s, isSeparator) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isSeparator(r) {
			return -1
		}
		return r
	}, s)
}

// isSeparator reports whether r is a space (including non-breaking and other
// Unicode spaces, which arrive with pasted numbers) or a dash.
func isSeparator(r rune) bool {
	return r == ' ' || r == '-' || unicode.IsSpace(r)
}

// Brand returns the brand of a card number from its issuer identification
// number (leading digits), or BrandUnknown when no known range matches or the
// number is not made of digits. Spaces and dashes are ignored.
func Brand(number string) string {
	n := NormalizeNumber(number)
	if n == "" || !allDigits(n) {
		return BrandUnknown
	}
	// in reports whether the first k digits, as a number, lie in [lo, hi].
	in := func(k, lo, hi int) bool {
		if len(n) < k {
			return false
		}
		v := 0
		for i := range k {
			v = v*10 + int(n[i]-'0')
		}
		return v >= lo && v <= hi
	}
	switch {
	case n[0] == '4':
		return BrandVisa
	case in(2, 51, 55), in(4, 2221, 2720):
		return BrandMastercard
	case in(2, 34, 34), in(2, 37, 37):
		return BrandAmex
	case in(4, 6011, 6011), in(3, 644, 649), in(2, 65, 65), in(6, 622126, 622925):
		return BrandDiscover
	case in(3, 300, 305), in(4, 3095, 3095), in(2, 36, 36), in(2, 38, 39):
		return BrandDiners
	case in(4, 3528, 3589):
		return BrandJCB
	case in(2, 62, 62):
		return BrandUnionPay
	case in(2, 50, 50), in(2, 56, 58), in(4, 6304, 6304), in(4, 6759, 6759),
		in(4, 6761, 6763), in(6, 676770, 676770), in(6, 676774, 676774):
		return BrandMaestro
	}
	return BrandUnknown
}

// Luhn reports whether number, which must consist of ASCII digits only,
// passes the Luhn (mod 10) check (till.Luhn).
func Luhn(number string) bool { return till.Luhn(number) }

// ValidateCard checks a card a merchant wants to save and returns it
// normalized: the number as digits only, a two-digit expiry year as 20YY, and
// the CVC and holder name without surrounding spaces. Every problem is
// recorded in v under field+".number", ".expMonth", ".expYear", ".cvc" or
// ".holderName", at most one per field; the messages never repeat the number
// or the CVC. The caller must check v.Err() before using the result.
//
// A card is valid through the last instant of its expiry month in UTC,
// whatever the location of now. A number of an unknown brand is accepted when
// it has 12 to 19 digits and passes the Luhn check. The CVC is optional.
func ValidateCard(v *till.Validator, field string, c till.Card, now time.Time) till.Card {
	now = now.UTC()
	out := till.Card{
		Number:     NormalizeNumber(c.Number),
		ExpMonth:   c.ExpMonth,
		ExpYear:    c.ExpYear,
		CVC:        strings.TrimSpace(c.CVC),
		HolderName: strings.TrimSpace(c.HolderName),
	}

	// Number. Messages are constant strings: the number is never formatted.
	brand := BrandUnknown
	numberField := field + ".number"
	switch {
	case out.Number == "":
		v.Add(numberField, "card number is required")
	case !allDigits(out.Number):
		v.Add(numberField, "card number must contain only digits, spaces and dashes")
	default:
		brand = Brand(out.Number)
		info := brands[brand]
		switch {
		case !validLength(info, len(out.Number)):
			if info.name == "" {
				v.Add(numberField, "card number must have %s", info.want)
			} else {
				v.Add(numberField, "card number must have %s for %s cards", info.want, info.name)
			}
		case !Luhn(out.Number):
			v.Add(numberField, "card number is invalid: check the digits")
		}
	}

	// Expiry month.
	monthOK := false
	switch {
	case c.ExpMonth == 0:
		v.Add(field+".expMonth", "expiry month is required")
	case c.ExpMonth < 1 || c.ExpMonth > 12:
		v.Add(field+".expMonth", "expiry month must be between 1 and 12")
	default:
		monthOK = true
	}

	// Expiry year: two digits mean 20YY.
	yearOK := false
	switch y := c.ExpYear; {
	case y == 0:
		v.Add(field+".expYear", "expiry year is required")
	case y > 0 && y < 100:
		out.ExpYear = 2000 + y
		yearOK = true
	case y >= 1000 && y <= 9999:
		yearOK = true
	default:
		v.Add(field+".expYear", "expiry year must have 2 or 4 digits")
	}
	if yearOK && out.ExpYear > now.Year()+MaxExpiryYears {
		v.Add(field+".expYear", "expiry year is more than %d years in the future", MaxExpiryYears)
		yearOK = false
	}
	if monthOK && yearOK {
		// The first instant after the expiry month; time.Date normalizes
		// month 13 to January of the next year.
		end := time.Date(out.ExpYear, time.Month(out.ExpMonth)+1, 1, 0, 0, 0, 0, time.UTC)
		if !now.Before(end) {
			if out.ExpYear < now.Year() {
				v.Add(field+".expYear", "card has expired")
			} else {
				v.Add(field+".expMonth", "card has expired")
			}
		}
	}

	// CVC: optional; its length follows the brand. When the number itself is
	// unreadable the brand is unknown, so either length is accepted rather
	// than report a second, possibly wrong, problem.
	if out.CVC != "" {
		info := brands[brand]
		numberUnreadable := brand == BrandUnknown && v.Has(numberField)
		switch {
		case !allDigits(out.CVC):
			v.Add(field+".cvc", "security code must contain only digits")
		case numberUnreadable && (len(out.CVC) == 3 || len(out.CVC) == 4):
		case numberUnreadable:
			v.Add(field+".cvc", "security code must have 3 or 4 digits")
		case len(out.CVC) != info.cvcLen:
			if info.name == "" {
				v.Add(field+".cvc", "security code must have %d digits", info.cvcLen)
			} else {
				v.Add(field+".cvc", "security code must have %d digits for %s cards", info.cvcLen, info.name)
			}
		}
	}

	// Holder name.
	switch {
	case !utf8.ValidString(out.HolderName):
		v.Add(field+".holderName", "cardholder name must be valid UTF-8")
	case utf8.RuneCountInString(out.HolderName) > MaxHolderNameLen:
		v.Add(field+".holderName", "cardholder name can have at most %d characters", MaxHolderNameLen)
	case strings.ContainsFunc(out.HolderName, isForbiddenInName):
		v.Add(field+".holderName", "cardholder name cannot contain control characters")
	}
	return out
}

// validLength reports whether n is a number length the brand issues.
func validLength(info brandInfo, n int) bool {
	if n < MinNumberLen || n > MaxNumberLen {
		return false
	}
	if info.lengths == nil {
		return true
	}
	for _, l := range info.lengths {
		if l == n {
			return true
		}
	}
	return false
}

// isForbiddenInName reports whether r is a control character or a Unicode
// bidirectional override or isolate, which could make a name display as
// something else on an invoice or receipt.
func isForbiddenInName(r rune) bool {
	return unicode.IsControl(r) ||
		(r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}

// allDigits reports whether s is non-empty and made of ASCII digits only.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
