package service

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tillpay/till"
	"github.com/tillpay/till/tax"
)

// chargeInput is a validated charge request.
type chargeInput struct {
	order
	customerID   string
	pmID         string
	taxCountry   string
	capture      bool
	scheduledAt  *time.Time
	receiptEmail string
	sendReceipt  bool
	// catalog, for a catalogue charge, resolves what is sold into the
	// order's amount and lines when the charge reads its customer.
	catalog *catalogCharge
	// orders are the orders the charge pays (PayOrders); subscriptionID
	// the subscription it renews.
	orders         []string
	subscriptionID string
}

// validateCharge checks a charge request without touching the store, naming
// every offending field.
func validateCharge(in ChargeParams, now time.Time) (*chargeInput, error) {
	var v till.Validator
	out := &chargeInput{capture: true, sendReceipt: true}
	out.customerID = strings.TrimSpace(in.CustomerID)
	if out.customerID == "" {
		v.Add("customerId", "customerId is required")
	} else if len(out.customerID) > 255 {
		v.Add("customerId", "customerId is too long")
	}
	validateOrder(&v, orderParams{amount: in.Amount, currency: in.Currency, description: in.Description, metadata: in.Metadata,
		taxBehavior: in.TaxBehavior, lineItems: in.LineItems}, &out.order)
	out.pmID = strings.TrimSpace(in.PaymentMethodID)
	if in.TaxCountry != "" {
		c, ok := till.NormalizeCountry(in.TaxCountry)
		if !ok {
			v.Add("taxCountry", "taxCountry must be an ISO 3166-1 alpha-2 code")
		}
		out.taxCountry = c
	}
	if in.Capture != nil {
		out.capture = *in.Capture
	}
	if in.SendReceipt != nil {
		out.sendReceipt = *in.SendReceipt
	}
	if in.ReceiptEmail != "" {
		if !validEmail(in.ReceiptEmail) {
			v.Add("receiptEmail", "receiptEmail must be an email address such as jane@example.com")
		}
		out.receiptEmail = in.ReceiptEmail
	}
	if in.ScheduledAt != nil {
		at := in.ScheduledAt.UTC()
		switch {
		case !at.After(now):
			v.Add("scheduledAt", "scheduledAt must be in the future (omit it to charge now)")
		case at.After(now.AddDate(2, 0, 0)):
			v.Add("scheduledAt", "scheduledAt can be at most two years ahead")
		}
		out.scheduledAt = &at
	}
	return out, v.Err()
}

// order is what a charge and a payment link share: what is sold, for how
// much, and how tax applies.
type order struct {
	amount      int64
	currency    till.Currency
	description string
	metadata    till.Metadata
	behavior    till.TaxBehavior // "" means the account's default
	lines       []till.LineItem
}

// orderParams are the request fields of an order.
type orderParams struct {
	amount      *int64
	currency    string
	description string
	metadata    till.Metadata
	taxBehavior string
	lineItems   []LineItemParams
}

// validateOrder checks the fields of an order into out, naming every
// offending field in v.
func validateOrder(v *till.Validator, in orderParams, out *order) {
	out.metadata = till.MergeMetadata(nil, in.metadata)
	switch {
	case in.amount == nil:
		v.Add("amount", "amount is required (an integer in the currency's minor unit, e.g. 1000 for 10.00 EUR)")
	case *in.amount < 1:
		v.AddCode(till.EAmountTooSmall, "amount", "amount must be at least 1 (in the currency's minor unit)")
	case *in.amount > till.MaxAmount:
		v.AddCode(till.EAmountTooLarge, "amount", "amount can be at most %d", till.MaxAmount)
	default:
		out.amount = *in.amount
	}
	out.currency, _ = validCurrency(v, "currency", in.currency)
	out.description = strings.TrimSpace(in.description)
	switch {
	case out.description == "":
		v.Add("description", "description is required")
	case utf8.RuneCountInString(out.description) > 1000:
		v.Add("description", "description can be at most 1000 characters")
	}
	till.ValidateMetadata(v, "metadata", in.metadata)
	switch b := till.TaxBehavior(in.taxBehavior); {
	case b == "":
	case b.Valid():
		out.behavior = b
	default:
		v.Add("taxBehavior", "taxBehavior must be exclusive or inclusive")
	}
	out.lines = validateLineItems(v, in.lineItems, out.amount)
}

// validCurrency checks a required ISO 4217 currency code.
func validCurrency(v *till.Validator, field, code string) (till.Currency, bool) {
	if strings.TrimSpace(code) == "" {
		v.Add(field, "currency is required (an ISO 4217 code such as EUR)")
		return till.Currency{}, false
	}
	c, ok := till.LookupCurrency(code)
	if !ok {
		v.AddCode(till.ECurrencyUnsupported, field, "currency %q is not a supported ISO 4217 currency", code)
	}
	return c, ok
}

// validateLineItems checks itemized lines; their quantity × unitAmount must
// sum to amount exactly. Without lines the charge is one line of amount.
func validateLineItems(v *till.Validator, items []LineItemParams, amount int64) []till.LineItem {
	if len(items) == 0 {
		return nil
	}
	if len(items) > 100 {
		v.Add("lineItems", "at most 100 line items")
		return nil
	}
	lines := make([]till.LineItem, 0, len(items))
	var sum int64
	ok := true
	for i, it := range items {
		f := indexed("lineItems", i)
		desc := strings.TrimSpace(it.Description)
		if desc == "" || utf8.RuneCountInString(desc) > 500 {
			v.Add(f+".description", "description is required (at most 500 characters)")
		}
		var q, u int64
		switch {
		case it.Quantity == nil:
			v.Add(f+".quantity", "quantity is required")
			ok = false
		case *it.Quantity < 1 || *it.Quantity > 1_000_000:
			v.Add(f+".quantity", "quantity must be between 1 and 1000000")
			ok = false
		default:
			q = *it.Quantity
		}
		switch {
		case it.UnitAmount == nil:
			v.Add(f+".unitAmount", "unitAmount is required")
			ok = false
		case *it.UnitAmount < 0 || *it.UnitAmount > till.MaxAmount:
			v.Add(f+".unitAmount", "unitAmount must be between 0 and %d", till.MaxAmount)
			ok = false
		default:
			u = *it.UnitAmount
		}
		line := q * u // both bounded: q ≤ 1e6, u ≤ 1e12, so no overflow
		if ok && line > till.MaxAmount {
			v.Add(f, "quantity × unitAmount can be at most %d", till.MaxAmount)
			ok = false
		}
		if code := strings.TrimSpace(it.TaxCode); code != "" && code != "standard" && code != "exempt" {
			v.Add(f+".taxCode", "taxCode must be standard or exempt")
		}
		sum += line
		lines = append(lines, till.LineItem{Description: desc, Quantity: q, UnitAmount: u, Amount: line, TaxCode: strings.TrimSpace(it.TaxCode)})
	}
	if ok && amount > 0 && sum != amount {
		v.Add("lineItems", "line items sum to %d but amount is %d", sum, amount)
	}
	return lines
}

// computeTax fills p's tax fields from the account's settings and the
// customer's location at time at.
func computeTax(a *till.Account, cust *till.Customer, p *till.Payment, at time.Time) error {
	country := p.TaxCountry
	region := ""
	if country == "" {
		country = cust.Address.Country
		region = cust.Address.State
	} else if country == cust.Address.Country {
		region = cust.Address.State
	}
	lines := p.LineItems
	if len(lines) == 0 {
		lines = []till.LineItem{{Description: p.Description, Quantity: 1, UnitAmount: p.Amount, Amount: p.Amount}}
	}
	req := tax.Request{
		At: at,
		Seller: tax.Seller{Country: a.OriginCountry, EUOSS: a.TaxRegistrations.EUOSS,
			Registrations: a.TaxRegistrations.Countries, CustomRates: a.CustomTaxRates},
		Buyer:    tax.Buyer{Country: country, Region: region, TaxIDs: cust.TaxIDs},
		Behavior: p.TaxBehavior,
	}
	for _, l := range lines {
		req.Lines = append(req.Lines, tax.Line{Amount: l.Amount, TaxCode: l.TaxCode})
	}
	res, err := tax.Calculate(req)
	if e, ok := till.AsError(err); ok && e.Code == till.EValidation && e.Param == "amount" {
		// The lines were validated before, so the only amount the tax rules
		// refuse is a total with tax above till.MaxAmount: amount_too_large,
		// like an amount above it.
		return till.ParamError(till.EAmountTooLarge, "amount", "%s", e.Message)
	}
	if err != nil {
		return err
	}
	if len(p.LineItems) > 0 {
		for i := range p.LineItems {
			p.LineItems[i].Taxable = res.Lines[i].Taxable
			p.LineItems[i].TaxAmount = res.Lines[i].Tax
			p.LineItems[i].Rate = res.Lines[i].Rate
		}
	}
	p.AmountSubtotal, p.TaxAmount, p.AmountTotal = res.Subtotal, res.Tax, res.Total
	p.TaxBreakdown = res.Breakdown
	return nil
}
