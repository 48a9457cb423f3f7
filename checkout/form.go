package checkout

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tillpay/till"
	"github.com/tillpay/till/service"
)

// The names of the checkout form's fields. The card number and CVC are
// read once, passed to the service and never written back into a page.
const (
	fieldEmail      = "email"
	fieldName       = "name"
	fieldNumber     = "cardNumber"
	fieldExpiry     = "expiry"
	fieldCVC        = "cvc"
	fieldCountry    = "country"
	fieldPostalCode = "postalCode"
	fieldVATNumber  = "vatNumber"
	fieldTotal      = "total"
)

// payerInput is what the payer typed that a re-rendered form keeps: never
// the card number, expiry or CVC.
type payerInput struct {
	Email, Name, Country, PostalCode, VATNumber string
}

// readPayer reads the fields a re-rendered form keeps from a posted form.
func readPayer(f url.Values) payerInput {
	return payerInput{Email: f.Get(fieldEmail), Name: f.Get(fieldName), Country: f.Get(fieldCountry),
		PostalCode: f.Get(fieldPostalCode), VATNumber: f.Get(fieldVATNumber)}
}

// parseExpiry parses a card's expiry as payers type it: "MM/YY",
// "MM / YY", "MM/YYYY", "M/YY", "MMYY" or "MMYYYY". Two-digit years are
// 20YY. It reports false for anything else, a month outside 1–12 included;
// whether the date has passed is the service's to say.
func parseExpiry(s string) (month, year int, ok bool) {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	var m, y string
	if a, b, found := strings.Cut(s, "/"); found {
		m, y = a, b
	} else {
		switch len(s) {
		case 4, 6:
			m, y = s[:2], s[2:]
		default:
			return 0, 0, false
		}
	}
	if len(m) < 1 || len(m) > 2 || (len(y) != 2 && len(y) != 4) || !digits(m) || !digits(y) {
		return 0, 0, false
	}
	month, _ = strconv.Atoi(m)
	year, _ = strconv.Atoi(y)
	if month < 1 || month > 12 {
		return 0, 0, false
	}
	if len(y) == 2 {
		year += 2000
	}
	return month, year, true
}

// digits reports whether s is ASCII digits only.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// field is one text input of the checkout form with its label, hint and
// error.
type field struct {
	ID, Label, Type, Value, Autocomplete, InputMode, Hint, Error string
	Placeholder                                                  string
	MaxLength                                                    int
	Required                                                     bool
	// Spellcheck false for values that are no words (card data, codes).
	NoSpellcheck bool
	// Brand shows the detected card brand beside the input (script).
	Brand bool
}

// DescribedBy is the ids of the hint and the error of f, for
// aria-describedby.
func (f field) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// fieldError is one entry of the error summary: the message and the id of
// the input it is about ("" for none).
type fieldError struct {
	ID, Message string
}

// checkoutForm is the payment form of a payable link.
type checkoutForm struct {
	Action   string // the page the form posts to
	QuoteURL string // the JSON quote endpoint of the script
	CSRF     string
	// Total is the total shown, in minor units; the service refuses to
	// charge another (SPEC §7: the payer confirms a changed total).
	Total int64
	// Email, Card, Holder are the inputs in the order the payer fills
	// them; the expiry and CVC share a row.
	Email, Number, Expiry, CVC, Holder, PostalCode, VATNumber field
	Country                                                   string
	CountryError                                              string
	Countries                                                 []country
	PayLabel                                                  string
	// Errors are the summary at the top, in the order of the fields.
	Errors []fieldError
	// Declined says the last attempt failed, with the issuer's reason.
	Declined       string
	DeclinedReason string
}

// amounts are the figures of a link as the form shows them.
type amounts struct {
	Lines         []lineView
	Subtotal      string
	TaxLabel      string
	Tax           string
	Total         string
	ReverseCharge bool
}

// lineView is one line item.
type lineView struct {
	Description string
	Quantity    int64
	Amount      string
}

// amountsOf is what v costs, formatted.
func amountsOf(v *service.PayView) *amounts {
	a := &amounts{Subtotal: money(v.AmountSubtotal, v.Currency), Tax: money(v.TaxAmount, v.Currency),
		Total: money(v.AmountTotal, v.Currency), TaxLabel: taxLabel(v), ReverseCharge: v.ReverseCharge}
	for _, l := range v.LineItems {
		a.Lines = append(a.Lines, lineView{Description: l.Description, Quantity: l.Quantity, Amount: money(l.Amount, v.Currency)})
	}
	return a
}

// taxLabel names the tax of v with its rates: "VAT (19 %)", "VAT
// (reverse charge)", "Tax" when none is collected; "included" is added
// for amounts that include the tax.
func taxLabel(v *service.PayView) string {
	name := ""
	var rates []string
	seen := map[till.Rate]bool{}
	reverse := false
	for _, t := range v.TaxBreakdown {
		if t.Reason == till.TaxReasonReverseCharge {
			reverse = true
		}
		if t.Rate == 0 {
			continue
		}
		if name == "" {
			name = taxName(t)
		}
		if !seen[t.Rate] {
			seen[t.Rate] = true
			rates = append(rates, t.Rate.String()+" %")
		}
	}
	switch {
	case reverse && len(rates) == 0:
		return "VAT (reverse charge)"
	case len(rates) == 0:
		return "Tax"
	}
	if name == "" {
		name = "Tax"
	}
	label := name + " (" + strings.Join(rates, ", ")
	if v.TaxBehavior == till.TaxInclusive {
		label += ", included"
	}
	return label + ")"
}

// taxName is the English name of a tax line's tax: a custom rate's own
// name ("NY State Tax"), GST and Japan's consumption tax by theirs, and
// "VAT" for the local names of the rate table (MwSt, TVA, moms, …).
func taxName(t till.TaxLine) string {
	switch {
	case t.Reason == till.TaxReasonCustom && t.Name != "":
		return t.Name
	case strings.Contains(t.Name, "GST"), strings.EqualFold(t.Name, "Consumption tax"):
		return t.Name
	}
	return "VAT"
}

// payLabel is the text of the Pay button.
func payLabel(v *service.PayView) string { return "Pay " + money(v.AmountTotal, v.Currency) }

// newCheckoutForm is the form for link v, filled with in (the payer's
// earlier input, or the link's prefill when empty) and showing errs, the
// service's field errors.
func newCheckoutForm(h *Handler, token string, v *service.PayView, in *payerInput, errs []till.FieldError) *checkoutForm {
	if in == nil {
		in = &payerInput{Email: v.Email, Name: v.Name, PostalCode: v.PostalCode, VATNumber: v.VATNumber}
	}
	f := &checkoutForm{
		Action: h.base + token, QuoteURL: h.base + token + "/quote", Total: v.AmountTotal, PayLabel: payLabel(v),
		Email: field{ID: fieldEmail, Label: "Email", Type: "email", Value: in.Email, Autocomplete: "email",
			Required: true, MaxLength: 254, NoSpellcheck: true},
		Number: field{ID: fieldNumber, Label: "Card number", Type: "text", Autocomplete: "cc-number", InputMode: "numeric",
			Placeholder: "1234 1234 1234 1234", Required: true, MaxLength: 23, NoSpellcheck: true, Brand: true},
		Expiry: field{ID: fieldExpiry, Label: "Expiry date", Type: "text", Autocomplete: "cc-exp", InputMode: "numeric",
			Hint: "MM / YY", Placeholder: "MM / YY", Required: true, MaxLength: 9, NoSpellcheck: true},
		CVC: field{ID: fieldCVC, Label: "Security code", Type: "text", Autocomplete: "cc-csc", InputMode: "numeric",
			Hint: "3 or 4 digits", Required: true, MaxLength: 4, NoSpellcheck: true},
		Holder: field{ID: fieldName, Label: "Name on card", Type: "text", Value: in.Name, Autocomplete: "cc-name",
			Required: true, MaxLength: 200},
		PostalCode: field{ID: fieldPostalCode, Label: "Postal code", Type: "text", Value: in.PostalCode,
			Autocomplete: "postal-code", MaxLength: 20, NoSpellcheck: true},
		VATNumber: field{ID: fieldVATNumber, Label: "VAT number (optional)", Type: "text", Value: in.VATNumber,
			Hint: "For a business purchase in the EU, such as DE123456789", MaxLength: 30, NoSpellcheck: true},
		Countries: countryList,
	}
	f.Country = v.Country
	if c, ok := till.NormalizeCountry(in.Country); ok {
		f.Country = c
	}
	if v.Failure != nil {
		f.Declined, f.DeclinedReason = declinedText(v.Failure), v.Failure.Message
		if strings.Contains(f.Declined, strings.TrimSpace(f.DeclinedReason)) {
			f.DeclinedReason = "" // "Your card was declined." says nothing more
		}
	}
	// Service field paths to the form's inputs; the first error of an
	// input wins.
	byField := map[string]*string{
		fieldEmail: &f.Email.Error, fieldName: &f.Holder.Error, fieldNumber: &f.Number.Error, fieldExpiry: &f.Expiry.Error,
		fieldCVC: &f.CVC.Error, fieldCountry: &f.CountryError, fieldPostalCode: &f.PostalCode.Error,
		fieldVATNumber: &f.VATNumber.Error,
	}
	var other []string
	for _, e := range errs {
		id := formField(e.Field)
		p := byField[id]
		if p == nil {
			other = append(other, sentence(e.Message))
			continue
		}
		if *p == "" {
			*p = payerMessage(id, e.Message)
		}
	}
	for _, m := range other {
		f.Errors = append(f.Errors, fieldError{Message: m})
	}
	for _, fe := range []struct {
		id  string
		msg string
	}{
		{fieldEmail, f.Email.Error}, {fieldNumber, f.Number.Error}, {fieldExpiry, f.Expiry.Error}, {fieldCVC, f.CVC.Error},
		{fieldName, f.Holder.Error}, {fieldCountry, f.CountryError}, {fieldPostalCode, f.PostalCode.Error},
		{fieldVATNumber, f.VATNumber.Error},
	} {
		if fe.msg != "" {
			f.Errors = append(f.Errors, fieldError{ID: fe.id, Message: fe.msg})
		}
	}
	return f
}

// formField is the form input a service field path is about ("" for
// none): the card's parts map to their inputs, a verification decline
// ("card") to the card number.
func formField(path string) string {
	switch path {
	case "email", "country", "postalCode", "vatNumber":
		return path
	case "name", "card.holderName":
		return fieldName
	case "card", "card.number":
		return fieldNumber
	case "card.expMonth", "card.expYear", "card.exp", "card.expiry":
		return fieldExpiry
	case "card.cvc":
		return fieldCVC
	}
	return ""
}

// payerMessage words a service message about input id for the payer.
func payerMessage(id, msg string) string {
	switch {
	case id == fieldNumber && strings.Contains(msg, "required"):
		return "Enter your card number."
	case id == fieldExpiry && strings.Contains(msg, "required"):
		return "Enter the expiry date as MM / YY."
	case id == fieldCVC && strings.Contains(msg, "required"):
		return "Enter the security code."
	}
	return sentence(msg)
}

// sentence capitalizes msg and ends it with a full stop.
func sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return msg
	}
	r, n := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.ContainsAny(msg[len(msg)-1:], ".!?") {
		msg += "."
	}
	return msg
}

// declinedText is the payer's words for the last failed attempt of a link.
func declinedText(f *till.Failure) string {
	if f.DeclineCode == "authentication_required" {
		return "Your payment was not completed. Try again or use another card."
	}
	return "Your card was declined. Try another card."
}

// accentCSS is the stylesheet of a merchant's brand colour hex ("0a2540",
// lower case): the colour darkened, if need be, until white text on it and
// it as text on white meet 4.5:1, and a darker shade for hover. It
// reports false for anything but six hex digits.
func accentCSS(hex string) (string, bool) {
	if len(hex) != 6 || strings.ToLower(hex) != hex {
		return "", false
	}
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil {
		return "", false
	}
	r, g, b := float64(v>>16&0xff), float64(v>>8&0xff), float64(v&0xff)
	safe := func(r, g, b float64) [3]float64 {
		for i := 0; i < 40 && contrastWithWhite(r, g, b) < 4.6; i++ {
			r, g, b = r*0.93, g*0.93, b*0.93
		}
		return [3]float64{r, g, b}
	}
	base := safe(r, g, b)
	hover := [3]float64{base[0] * 0.82, base[1] * 0.82, base[2] * 0.82}
	return fmt.Sprintf(":root { --primary: %s; --primary-hover: %s; }\n", rgbHex(base), rgbHex(hover)), true
}

// brandColor returns the hex digits of a valid "#rrggbb" colour, lower
// case, or "" for anything else.
func brandColor(c string) string {
	if len(c) != 7 || c[0] != '#' {
		return ""
	}
	hex := strings.ToLower(c[1:])
	if _, ok := accentCSS(hex); !ok {
		return ""
	}
	return hex
}

// contrastWithWhite is the WCAG contrast ratio of white and the colour.
func contrastWithWhite(r, g, b float64) float64 {
	return 1.05 / (luminance(r, g, b) + 0.05)
}

// luminance is the WCAG relative luminance of an sRGB colour (0–255).
func luminance(r, g, b float64) float64 {
	lin := func(c float64) float64 {
		c /= 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// rgbHex renders a colour as "#rrggbb", rounding down: rounding down only
// darkens, which keeps the contrast.
func rgbHex(c [3]float64) string {
	return fmt.Sprintf("#%02x%02x%02x", int(c[0]), int(c[1]), int(c[2]))
}
