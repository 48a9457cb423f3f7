package service

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tillpay/till"
	"github.com/tillpay/till/tax"
	"github.com/tillpay/till/vault"
)

// LinkPayParams is what the payer of a link enters on the hosted page.
type LinkPayParams struct {
	Email      string
	Name       string
	Card       till.Card
	Country    string
	PostalCode string
	// VATNumber is the buyer's EU VAT number, for a business purchase
	// (reverse charge where SPEC §7 says).
	VATNumber string
	// ExpectedTotal, when not 0, is the total the page showed the payer:
	// if the tax for the country and VAT number entered makes the total
	// another, nothing is charged and a validation error on "total" says
	// so (the page shows the new total to confirm).
	ExpectedTotal int64
}

// LinkQuote asks what a link costs for a payer in Country with VATNumber.
type LinkQuote struct {
	Country   string
	VATNumber string
}

// payerInput is a validated LinkPayParams.
type payerInput struct {
	email, name, country, postalCode, vat string
	card                                  till.Card
}

// validatePayer checks what the payer entered at time now, naming the
// fields as the hosted form does (email, name, country, postalCode,
// vatNumber, card.number, card.expMonth, card.expYear, card.cvc).
func validatePayer(in LinkPayParams, now time.Time) (*payerInput, error) {
	var v till.Validator
	out := &payerInput{email: strings.TrimSpace(in.Email), name: strings.TrimSpace(in.Name),
		postalCode: strings.TrimSpace(in.PostalCode)}
	switch {
	case out.email == "":
		v.Add("email", "Enter your email address.")
	case !validEmail(out.email):
		v.Add("email", "Enter an email address such as jane@example.com.")
	}
	switch {
	case out.name == "":
		v.Add("name", "Enter the name on your card.")
	case utf8.RuneCountInString(out.name) > 200 || strings.ContainsFunc(out.name, isControl):
		v.Add("name", "The name can be at most 200 characters, without control characters.")
	}
	if utf8.RuneCountInString(out.postalCode) > 20 || strings.ContainsFunc(out.postalCode, isControl) {
		v.Add("postalCode", "The postal code can be at most 20 characters.")
	}
	out.country, out.vat = validateQuote(&v, LinkQuote{Country: in.Country, VATNumber: in.VATNumber}, true)
	card := in.Card
	card.HolderName = out.name
	out.card = vault.ValidateCard(&v, "card", card, now)
	return out, v.Err()
}

// validateQuote checks a country and an optional EU VAT number, returning
// them normalized.
func validateQuote(v *till.Validator, q LinkQuote, required bool) (country, vat string) {
	if strings.TrimSpace(q.Country) == "" {
		if required {
			v.Add("country", "Choose your country.")
		}
	} else if c, ok := till.NormalizeCountry(q.Country); !ok {
		v.Add("country", "Choose a country from the list.")
	} else {
		country = c
	}
	if strings.TrimSpace(q.VATNumber) == "" {
		return country, ""
	}
	vat = tax.NormalizeVATNumber(q.VATNumber)
	prefix := country
	if prefix == "GR" {
		prefix = "EL"
	}
	switch {
	case country != "" && !tax.IsEU(country):
		v.Add("vatNumber", "A VAT number applies to businesses in EU countries only; leave it empty.")
	case len(vat) > 30 || !validEUVAT(vat):
		v.Add("vatNumber", "Enter an EU VAT number with its country prefix, such as DE123456789.")
	case country != "" && !strings.HasPrefix(vat, prefix):
		v.Add("vatNumber", "The VAT number must be one of %s, the country you chose (it starts with %s).", country, prefix)
	}
	return country, vat
}

// PayView is what the hosted page shows a payer about a payment reached
// through its link token: who is asking for how much, and where the payment
// stands. It carries nothing the payer may not see (no ids, no card data
// beyond brand and last 4).
type PayView struct {
	// MerchantName is the account's branding display name, or its name;
	// BrandColor its branding colour ("#0a2540"), "" for the default.
	MerchantName string
	BrandColor   string
	Kind         till.PaymentKind
	Description  string
	Currency     till.Currency
	// The amounts: for a link that can be paid, those for Country.
	AmountSubtotal int64
	TaxAmount      int64
	AmountTotal    int64
	TaxBehavior    till.TaxBehavior
	TaxBreakdown   []till.TaxLine
	LineItems      []till.LineItem
	CardBrand      string
	CardLast4      string
	Status         till.Status
	Livemode       bool
	// Failure explains a failed payment, or the last failed attempt of a
	// link that waits for its payer again.
	Failure *till.Failure
	// CanAuthenticate reports whether the page may offer the (simulated)
	// issuer challenge: the payment requires action and is in test mode.
	CanAuthenticate bool
	// CanPay reports whether the page may offer the checkout form: a link,
	// pending, whose expiresAt has not come.
	CanPay    bool
	ExpiresAt *time.Time
	// Expired is true once expiresAt has come, even before the worker has
	// moved the payment to expired.
	Expired    bool
	SuccessURL string
	// FailureURL is where the page sends a payer whose card was declined,
	// "" to let them try again on the page.
	FailureURL string
	// Email, Name, Country and PostalCode prefill the form from the link's
	// customer; Country is also the country the amounts are for, and
	// VATNumber the number they assume.
	Email, Name, Country, PostalCode, VATNumber string
	// ReverseCharge reports that the amounts are without VAT: the buyer
	// accounts for it (SPEC §7).
	ReverseCharge bool
}

// PayPage returns what the hosted page shows for the payment whose link
// token is token, in whatever status it is. A link that can be paid is
// priced for q (the link's customer's country or the account's origin
// country when q.Country is empty); an invalid q returns the view priced as
// without q, together with a validation error naming country or vatNumber.
// It returns a resource_missing error when no payment has that token.
func (s *Service) PayPage(ctx context.Context, token string, q LinkQuote) (*PayView, error) {
	if !validLinkToken(token) {
		return nil, linkNotFound()
	}
	var out *PayView
	var quoteErr error
	err := s.store.View(ctx, func(tx till.Tx) error {
		p, err := linkPayment(ctx, tx, token)
		if err != nil {
			return err
		}
		a, err := tx.Account(ctx, p.AccountID)
		if err != nil {
			return err
		}
		cur, ok := till.LookupCurrency(p.Currency)
		if !ok {
			cur = till.Currency{Code: p.Currency, Exponent: 2}
		}
		now := s.now(a, p.Livemode)
		v := &PayView{
			MerchantName: a.Branding.DisplayName, BrandColor: a.Branding.Color, Kind: p.Kind, Description: p.Description,
			Currency: cur, AmountSubtotal: p.AmountSubtotal, TaxAmount: p.TaxAmount, AmountTotal: p.AmountTotal,
			TaxBehavior: p.TaxBehavior, TaxBreakdown: p.TaxBreakdown, LineItems: p.LineItems,
			Status: p.Status, Livemode: p.Livemode, Failure: p.Failure, ExpiresAt: p.ExpiresAt, SuccessURL: p.SuccessURL, FailureURL: p.FailureURL,
			CanAuthenticate: p.Status == till.StatusRequiresAction && !p.Livemode && p.Provider == till.ProcessorSimulator,
		}
		if v.MerchantName == "" {
			v.MerchantName = a.Name
		}
		v.Expired = p.Kind == till.KindLink && p.ExpiresAt != nil && !now.Before(*p.ExpiresAt)
		v.CanPay = p.Kind == till.KindLink && p.Status == till.StatusPending && !v.Expired
		scope := scopeOf(p)
		if p.PaymentMethodID != "" {
			pm, err := tx.PaymentMethod(ctx, scope, p.PaymentMethodID)
			switch {
			case err == nil:
				v.CardBrand, v.CardLast4 = pm.Card.Brand, pm.Card.Last4
			case !isNotFound(err):
				return err
			}
		}
		if !v.CanPay {
			out = v
			return nil
		}
		cust := &till.Customer{}
		if p.CustomerID != "" {
			if cust, err = tx.Customer(ctx, scope, p.CustomerID); err != nil {
				return err
			}
			v.Email, v.Name, v.PostalCode = cust.Email, cust.Name, cust.Address.PostalCode
		}
		var val till.Validator
		country, vat := validateQuote(&val, q, false)
		if quoteErr = val.Err(); quoteErr != nil {
			country, vat = "", ""
		}
		if country == "" {
			country = cust.Address.Country
		}
		if country == "" {
			country = a.OriginCountry
		}
		priced := *p
		priced.TaxCountry, priced.LineItems = country, append([]till.LineItem(nil), p.LineItems...)
		if err := computeTax(a, withPayerVAT(cust, vat), &priced, now); err != nil {
			return err
		}
		v.Country, v.VATNumber = country, vat
		v.AmountSubtotal, v.TaxAmount, v.AmountTotal = priced.AmountSubtotal, priced.TaxAmount, priced.AmountTotal
		v.TaxBreakdown, v.LineItems = priced.TaxBreakdown, priced.LineItems
		for _, t := range priced.TaxBreakdown {
			if t.Reason == till.TaxReasonReverseCharge {
				v.ReverseCharge = true
			}
		}
		out = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, quoteErr
}

// withPayerVAT returns cust with the payer's EU VAT number vat among its
// tax ids (a copy when vat is added): the customer the hosted page prices
// for, and the one paying saves. A customer with maxTaxIDs keeps its own.
func withPayerVAT(cust *till.Customer, vat string) *till.Customer {
	if vat == "" || hasTaxID(cust, vat) || len(cust.TaxIDs) >= maxTaxIDs {
		return cust
	}
	c := *cust
	c.TaxIDs = append(append([]till.TaxID(nil), cust.TaxIDs...), till.TaxID{Type: "eu_vat", Value: vat})
	return &c
}

// hasTaxID reports whether cust has the EU VAT number vat.
func hasTaxID(cust *till.Customer, vat string) bool {
	for _, t := range cust.TaxIDs {
		if t.Type == "eu_vat" && t.Value == vat {
			return true
		}
	}
	return false
}

// PayLink pays the link whose token is token with what its payer entered
// (SPEC §6): the card is verified with the processor, then in one unit of
// work the customer is found by email (or the link's own customer is used)
// or created, the card is vaulted on it (its default when it has none),
// the tax is computed for the payer's country and VAT number, and the link
// moves to processing with a new attempt; then the card is charged
// on-session and the answer settled like any charge's: succeeded (invoice,
// receipt, payment_link.paid), requires_action (the issuer's challenge on
// the same page), or a decline, which returns the link to pending with the
// failure and detaches the card again.
//
// Only one attempt can start at a time: the move out of pending is checked
// against the payment's version, so a second submission (another tab) gets
// state_conflict and never charges. It returns a validation error naming
// the form's fields, a card_declined error when the card fails
// verification (nothing is recorded then), state_conflict unless the link
// is pending and unexpired, and otherwise the payment after the charge.
func (s *Service) PayLink(ctx context.Context, token string, in LinkPayParams) (*till.Payment, error) {
	if !validLinkToken(token) {
		return nil, linkNotFound()
	}
	var a *till.Account
	var p *till.Payment
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		if p, err = linkPayment(ctx, tx, token); err != nil {
			return err
		}
		a, err = tx.Account(ctx, p.AccountID)
		return err
	})
	if err != nil {
		return nil, err
	}
	now := s.now(a, p.Livemode)
	if err := payable(p, now); err != nil {
		return nil, err
	}
	req, err := validatePayer(in, now)
	if err != nil {
		return nil, err
	}
	c := &Caller{Account: a, Livemode: p.Livemode}
	card, err := s.cardForVault(ctx, c, &req.card, "card")
	if err != nil {
		return nil, err
	}
	pm, err := s.sealCard(c, s.ids.NewID(till.PrefixPaymentMethod), "", card, now)
	if err != nil {
		return nil, err
	}
	scope := c.Scope()
	var attemptID string
	err = s.store.Update(ctx, func(tx till.Tx) error {
		cur, err := linkPayment(ctx, tx, token)
		if err != nil {
			return err
		}
		a, err := tx.Account(ctx, scope.AccountID)
		if err != nil {
			return err
		}
		now := s.now(a, scope.Livemode)
		if err := payable(cur, now); err != nil {
			return err
		}
		cust, err := s.linkCustomer(ctx, tx, cur, req, now)
		if err != nil {
			return err
		}
		pm.CustomerID = cust.ID
		if err := tx.CreatePaymentMethod(ctx, pm); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, scope, till.EventPaymentMethodAttached, "payment_method", pm.ID, pm.Version, pm, now); err != nil {
			return err
		}
		if cust.DefaultPaymentMethodID == "" {
			from := cust.Version
			cust.DefaultPaymentMethodID = pm.ID
			cust.Version++
			cust.UpdatedAt = now
			if err := tx.UpdateCustomer(ctx, cust, from); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, scope, till.EventCustomerUpdated, "customer", cust.ID, cust.Version, cust, now); err != nil {
				return err
			}
		}
		from := cur.Version
		cur.CustomerID, cur.PaymentMethodID, cur.Provider = cust.ID, pm.ID, pm.Provider
		cur.TaxCountry, cur.ReceiptEmail, cur.Failure = req.country, req.email, nil
		if err := computeTax(a, cust, cur, now); err != nil {
			return err
		}
		if in.ExpectedTotal != 0 && cur.AmountTotal != in.ExpectedTotal {
			cc, _ := till.LookupCurrency(cur.Currency)
			return till.ParamError(till.EValidation, "total", "With tax for %s the total is %s %s, not the %s %s shown; check it and pay again.",
				req.country, till.FormatAmount(cur.AmountTotal, cc), cc.Code, till.FormatAmount(in.ExpectedTotal, cc), cc.Code)
		}
		var att *till.Attempt
		if err := s.movePayment(ctx, tx, scope, cur, till.StatusProcessing, now, func() error {
			att = s.addAttempt(cur, till.AttemptCharge, cur.AmountTotal, now)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.UpdatePayment(ctx, cur, from); err != nil {
			return err
		}
		attemptID = att.ID
		p = cur
		return s.leaseReconcile(ctx, tx, cur)
	})
	if err != nil {
		return nil, err
	}
	// The attempt is committed under its reference: a payer who goes away
	// must not leave its outcome unknown.
	ctx = context.WithoutCancel(ctx)
	out, err := s.execute(ctx, scope, p.ID, attemptID, nil)
	s.obs.ChargeFinished(statusOf(out))
	if till.ErrorCode(err) == till.ECardDeclined {
		err = nil // the payment shows the decline or the challenge
	}
	return out, err
}

// statusOf is p's status, "error" without a payment.
func statusOf(p *till.Payment) till.Status {
	if p == nil {
		return "error"
	}
	return p.Status
}

// payable returns nil when link p can be paid at now, otherwise the
// state_conflict that says why.
func payable(p *till.Payment, now time.Time) error {
	switch {
	case p.Kind != till.KindLink:
		return till.Conflict("This payment is not a payment link.")
	case p.Status != till.StatusPending:
		return till.Conflict("This payment link is %s; it cannot be paid now.", p.Status)
	case p.ExpiresAt != nil && !now.Before(*p.ExpiresAt):
		return till.Conflict("This payment link has expired.")
	}
	return nil
}

// linkCustomer returns the customer a link's payer pays as: the link's own,
// or the account's customer with the payer's email, or a new one. A
// customer's name, address and tax ids already set are kept; what is
// missing is filled in from the form (a customer.updated event), and the
// payer's VAT number joins its tax ids.
func (s *Service) linkCustomer(ctx context.Context, tx till.Tx, p *till.Payment, req *payerInput, now time.Time) (*till.Customer, error) {
	scope := scopeOf(p)
	var cust *till.Customer
	if p.CustomerID != "" {
		c, err := tx.Customer(ctx, scope, p.CustomerID)
		if err != nil {
			return nil, err
		}
		if c.Deleted {
			return nil, till.Conflict("The customer this payment link was made for was deleted; it cannot be paid.")
		}
		cust = c
	} else {
		found, _, err := tx.ListCustomers(ctx, scope, till.CustomerFilter{Page: till.Page{Limit: 1}, Email: req.email})
		if err != nil {
			return nil, err
		}
		if len(found) > 0 {
			cust = found[0]
		}
	}
	if cust == nil {
		cust = &till.Customer{ID: s.ids.NewID(till.PrefixCustomer), AccountID: scope.AccountID, Livemode: scope.Livemode,
			Email: req.email, Name: req.name, Address: till.Address{Country: req.country, PostalCode: req.postalCode},
			TaxIDs: []till.TaxID{}, Metadata: till.Metadata{}, Version: 1, CreatedAt: now, UpdatedAt: now}
		if req.vat != "" {
			cust.TaxIDs = append(cust.TaxIDs, till.TaxID{Type: "eu_vat", Value: req.vat})
		}
		if err := tx.CreateCustomer(ctx, cust); err != nil {
			return nil, err
		}
		return cust, s.emit(ctx, tx, scope, till.EventCustomerCreated, "customer", cust.ID, cust.Version, cust, now)
	}
	from := cust.Version
	changed := false
	if cust.Email == "" {
		cust.Email, changed = req.email, true
	}
	if cust.Name == "" {
		cust.Name, changed = req.name, true
	}
	if cust.Address.Country == "" {
		cust.Address.Country, changed = req.country, true
		if cust.Address.PostalCode == "" {
			cust.Address.PostalCode = req.postalCode
		}
	}
	if with := withPayerVAT(cust, req.vat); with != cust {
		cust.TaxIDs, changed = with.TaxIDs, true
	}
	if !changed {
		return cust, nil
	}
	cust.Version++
	cust.UpdatedAt = now
	if err := tx.UpdateCustomer(ctx, cust, from); err != nil {
		return nil, err
	}
	return cust, s.emit(ctx, tx, scope, till.EventCustomerUpdated, "customer", cust.ID, cust.Version, cust, now)
}
