package receipt

import (
	"strings"
	"unicode"

	"github.com/tillpay/till"
)

// oneLine makes s safe for a header or a one-line field: every control
// character (CR and LF among them) becomes a space, runs of spaces collapse,
// and the ends are trimmed.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// idPart keeps the characters of an id that may stand in a Message-ID's
// local part unquoted; Till's ids only ever have those.
func idPart(id string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.') {
			return r
		}
		return -1
	}, id)
}

// fileName makes a document number safe as an attachment file name.
func fileName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), strings.ContainsRune(`/\:*?"<>|`, r):
			return '_'
		}
		return r
	}, strings.TrimSpace(s))
	if s == "" {
		return "document"
	}
	return s
}

// addressLines renders a postal address as lines, leaving out empty parts.
func addressLines(a till.Address) []string {
	var out []string
	add := func(parts ...string) {
		var keep []string
		for _, p := range parts {
			if p = oneLine(p); p != "" {
				keep = append(keep, p)
			}
		}
		if len(keep) > 0 {
			out = append(out, strings.Join(keep, " "))
		}
	}
	add(a.Line1)
	add(a.Line2)
	add(a.PostalCode, a.City)
	add(a.State)
	add(a.Country)
	return out
}

// taxLabel names a tax summary row: "VAT 19 %", or what applied instead of
// a rate.
func taxLabel(t till.TaxLine) string {
	switch t.Reason {
	case till.TaxReasonReverseCharge:
		return "Reverse charge"
	case till.TaxReasonNotCollecting:
		return "No tax collected"
	case till.TaxReasonExempt:
		return "Exempt"
	}
	name := oneLine(t.Name)
	if name == "" {
		name = "Tax"
	}
	return name + " " + t.Rate.String() + " %"
}

// reasonLabel renders a refund reason for people.
func reasonLabel(r string) string {
	switch r {
	case "":
		return ""
	case "requested_by_customer":
		return "Requested by customer"
	case "duplicate":
		return "Duplicate payment"
	case "fraudulent":
		return "Fraudulent payment"
	}
	return oneLine(strings.ReplaceAll(r, "_", " "))
}

// lines makes each of ss one line and drops the empty ones.
func lines(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = oneLine(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
