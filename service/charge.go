package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tillpay/till"
	"github.com/tillpay/till/tax"
	"github.com/tillpay/till/vault"
)

// Task kinds of charges.
const (
	taskReconcile = till.TaskReconcileAttempt
	taskScheduled = "charge.scheduled"
)

// chargeInput is a validated charge request.
type chargeInput struct {
	customerID   string
	pmID         string
	amount       int64
	currency     till.Currency
	description  string
	metadata     till.Metadata
	behavior     till.TaxBehavior // "" means the account's default
	taxCountry   string
	capture      bool
	lines        []till.LineItem
	scheduledAt  *time.Time
	receiptEmail string
	sendReceipt  bool
}

// validateCharge checks a charge request without touching the store, naming
// every offending field.
func validateCharge(in ChargeParams, now time.Time) (*chargeInput, error) {
	var v till.Validator
	out := &chargeInput{capture: true, sendReceipt: true, metadata: till.MergeMetadata(nil, in.Metadata)}
	out.customerID = strings.TrimSpace(in.CustomerID)
	if out.customerID == "" {
		v.Add("customerId", "customerId is required")
	} else if len(out.customerID) > 255 {
		v.Add("customerId", "customerId is too long")
	}
	switch {
	case in.Amount == nil:
		v.Add("amount", "amount is required (an integer in the currency's minor unit, e.g. 1000 for 10.00 EUR)")
	case *in.Amount < 1:
		v.AddCode(till.EAmountTooSmall, "amount", "amount must be at least 1 (in the currency's minor unit)")
	case *in.Amount > till.MaxAmount:
		v.AddCode(till.EAmountTooLarge, "amount", "amount can be at most %d", till.MaxAmount)
	default:
		out.amount = *in.Amount
	}
	if strings.TrimSpace(in.Currency) == "" {
		v.Add("currency", "currency is required (an ISO 4217 code such as EUR)")
	} else if c, ok := till.LookupCurrency(in.Currency); !ok {
		v.AddCode(till.ECurrencyUnsupported, "currency", "currency %q is not a supported ISO 4217 currency", in.Currency)
	} else {
		out.currency = c
	}
	out.description = strings.TrimSpace(in.Description)
	switch {
	case out.description == "":
		v.Add("description", "description is required")
	case utf8.RuneCountInString(out.description) > 1000:
		v.Add("description", "description can be at most 1000 characters")
	}
	till.ValidateMetadata(&v, "metadata", in.Metadata)
	out.pmID = strings.TrimSpace(in.PaymentMethodID)
	switch b := till.TaxBehavior(in.TaxBehavior); {
	case b == "":
	case b.Valid():
		out.behavior = b
	default:
		v.Add("taxBehavior", "taxBehavior must be exclusive or inclusive")
	}
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
	out.lines = validateLineItems(&v, in.LineItems, out.amount)
	return out, v.Err()
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

// Charge charges a customer's saved payment method off-session (SPEC §4):
// it computes tax, records the payment and its attempt, calls the processor
// with the attempt's reference and settles the outcome. A decline returns the
// stored failed payment together with a card_declined error naming it. When
// the processor's answer is pending or unknown the payment is returned in
// processing and settled later by the reconciler.
func (s *Service) Charge(ctx context.Context, c *Caller, idem *Idem, in ChargeParams) (*till.Payment, error) {
	req, err := validateCharge(in, s.now(c.Account, c.Livemode))
	if err != nil {
		return nil, err
	}
	var out *till.Payment
	var resultErr error
	err = s.idempotent(ctx, c, idem, OpCharge, &out, func() error {
		l, err := s.startCharge(ctx, c, idem, req)
		if err != nil {
			return err
		}
		if l.p.Status == till.StatusScheduled {
			out = l.p
			return nil
		}
		out, resultErr = s.executeLoaded(ctx, c.Scope(), l, l.p.LastAttempt().ID, idem)
		if out == nil {
			return resultErr
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	return out, resultErr
}

// scopeOf is the tenant of a payment.
func scopeOf(p *till.Payment) till.Scope {
	return till.Scope{AccountID: p.AccountID, Livemode: p.Livemode}
}

// loaded is what a charge reads before its units of work: the account, the
// payment, its customer and payment method. The reads happen in a read-only
// transaction, off the single writer; the units of work that follow use
// these copies and detect a concurrent change by the payment's version.
type loaded struct {
	a    *till.Account
	p    *till.Payment
	cust *till.Customer
	pm   *till.PaymentMethod
	// last collects the unit of work's final steps (document numbers).
	last *lastSteps
}

// startCharge is the first unit of work of a charge: record the payment with
// its attempt (or schedule it) and claim the idempotency key, committed
// before any processor call. The account, customer and method are read and
// the tax computed beforehand, in a read-only transaction.
func (s *Service) startCharge(ctx context.Context, c *Caller, idem *Idem, req *chargeInput) (*loaded, error) {
	scope := c.Scope()
	var l loaded
	err := s.store.View(ctx, func(tx till.Tx) error {
		var err error
		if l.a, err = tx.Account(ctx, scope.AccountID); err != nil {
			return err
		}
		if err := s.checkProcessor(ctx, l.a, scope.Livemode); err != nil {
			return err
		}
		l.cust, l.pm, err = s.chargeTarget(ctx, tx, scope, req.customerID, req.pmID)
		return err
	})
	if err != nil {
		return nil, err
	}
	a, cust, pm := l.a, l.cust, l.pm
	now := s.now(a, scope.Livemode)
	behavior := req.behavior
	if behavior == "" {
		behavior = a.DefaultTaxBehavior
	}
	p := &till.Payment{
		ID: s.ids.NewID(till.PrefixPayment), AccountID: scope.AccountID, Livemode: scope.Livemode,
		CustomerID: cust.ID, PaymentMethodID: pm.ID, Kind: till.KindCharge, Provider: pm.Provider,
		Currency: req.currency.Code, Amount: req.amount, Description: req.description, Metadata: req.metadata,
		TaxBehavior: behavior, TaxCountry: req.taxCountry, LineItems: req.lines, Capture: req.capture, Active: true,
		ReceiptEmail: req.receiptEmail, SendReceipt: req.sendReceipt, ScheduledAt: req.scheduledAt,
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := computeTax(a, cust, p, now); err != nil {
		return nil, err
	}
	if p.AmountTotal > till.MaxAmount {
		return nil, till.ParamError(till.EAmountTooLarge, "amount", "the total with tax can be at most %d", till.MaxAmount)
	}
	if req.scheduledAt != nil {
		p.Status = till.StatusScheduled
		p.StatusHistory = []till.StatusChange{{Status: till.StatusScheduled, At: now}}
	} else {
		p.Status = till.StatusProcessing
		p.StatusHistory = []till.StatusChange{{Status: till.StatusProcessing, At: now}}
		s.addAttempt(p, till.AttemptCharge, p.AmountTotal, now)
	}
	l.p = p
	err = s.store.Update(ctx, func(tx till.Tx) error {
		if err := tx.CreatePayment(ctx, p); err != nil {
			return err
		}
		if p.Status == till.StatusScheduled {
			if err := s.scheduleTask(ctx, tx, a, p); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, scope, till.EventPaymentScheduled, "payment", p.ID, p.Version, p, now); err != nil {
				return err
			}
			return s.remember(ctx, tx, c, idem, OpCharge, p, p.ID)
		}
		if err := s.leaseReconcile(ctx, tx, p); err != nil {
			return err
		}
		return s.claimKey(ctx, tx, scope, idem, OpCharge, p.ID)
	})
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// chargeTarget resolves the customer and the payment method to charge: the
// given one, which must be the customer's, or the customer's default.
func (s *Service) chargeTarget(ctx context.Context, tx till.Tx, scope till.Scope, customerID, pmID string) (*till.Customer, *till.PaymentMethod, error) {
	cust, err := tx.Customer(ctx, scope, customerID)
	if err != nil || cust.Deleted {
		return nil, nil, paramNotFound("customer", customerID, "customerId")
	}
	if pmID == "" {
		pmID = cust.DefaultPaymentMethodID
		if pmID == "" {
			return nil, nil, till.ParamError(till.EValidation, "paymentMethodId",
				"customer %s has no default payment method; pass paymentMethodId or save a card with setDefault", cust.ID)
		}
	}
	pm, err := tx.PaymentMethod(ctx, scope, pmID)
	if err != nil || pm.DetachedAt != nil || !strings.HasPrefix(pm.ID, till.PrefixPaymentMethod) {
		return nil, nil, paramNotFound("payment method", pmID, "paymentMethodId")
	}
	if pm.CustomerID != cust.ID {
		return nil, nil, till.ParamError(till.EValidation, "paymentMethodId",
			"payment method %s does not belong to customer %s", pm.ID, cust.ID)
	}
	return cust, pm, nil
}

func paramNotFound(kind, id, param string) error {
	e := till.NotFound(kind, id)
	e.Param = param
	return e
}

// addAttempt appends a new processor attempt to p. Its reference, which the
// processor sees, is derived from the payment and attempt ids, so whatever the
// processor reports about it later leads back to the payment.
func (s *Service) addAttempt(p *till.Payment, kind till.AttemptKind, amount int64, now time.Time) *till.Attempt {
	id := s.ids.NewID(till.PrefixAttempt)
	p.Attempts = append(p.Attempts, till.Attempt{
		ID: id, Kind: kind, At: now, Provider: p.Provider, Amount: amount, Outcome: till.OutcomeProcessing,
		Reference: p.ID + ":" + id,
	})
	return p.LastAttempt()
}

// leaseReconcile records the safety net of an attempt: a reconcile task,
// leased to this process for as long as its processor call may take, that
// another process (or this one after a restart) runs if the attempt is not
// settled by then.
func (s *Service) leaseReconcile(ctx context.Context, tx till.Tx, p *till.Payment) error {
	return tx.CreateTask(ctx, s.reconcileTask(taskReconcile, scopeOf(p), p.ID, p.LastAttempt().ID, true))
}

// requeueReconcile replaces the reconcile task of kind about ref with one due
// after the reconcile delay: the reconciler looks again at a pending or
// unknown outcome.
func (s *Service) requeueReconcile(ctx context.Context, tx till.Tx, kind string, sc till.Scope, ref, ref2 string) error {
	if err := tx.DeleteTasks(ctx, kind, ref); err != nil {
		return err
	}
	return tx.CreateTask(ctx, s.reconcileTask(kind, sc, ref, ref2, false))
}

// reconcileTask is a reconcile task of kind about ref (a payment or refund of
// scope sc). Leased, it is the safety net written with a new attempt: held by
// this process for as long as the processor call may take, due once that is
// over. Not leased, it is due after the reconcile delay.
func (s *Service) reconcileTask(kind string, sc till.Scope, ref, ref2 string, leased bool) *till.Task {
	now := s.clock.Now()
	t := &till.Task{ID: s.ids.NewID(till.PrefixTask), Kind: kind, AccountID: sc.AccountID, Livemode: sc.Livemode,
		Ref: ref, Ref2: ref2, RunAt: now.Add(s.recAfter), CreatedAt: now}
	if leased {
		t.RunAt, t.LeaseOwner, t.LeaseUntil = now.Add(s.timeout), s.instance, now.Add(s.lease)
	}
	return t
}

// checkProcessor refuses to charge in a mode that has no processor.
func (s *Service) checkProcessor(ctx context.Context, a *till.Account, livemode bool) error {
	if livemode && a.LiveProcessor.Name == "" {
		return till.Errorf(till.ELiveForbidden,
			"Live mode needs a real processor; choose one in the account's processor settings using a live secret key.")
	}
	return nil
}

// source builds what the processor charges for pm, decrypting a vaulted card
// number in memory. The returned func wipes it.
func (s *Service) source(ctx context.Context, pm *till.PaymentMethod) (till.PaymentSource, func(), error) {
	if pm.ProviderRef != "" {
		return till.PaymentSource{ProviderRef: pm.ProviderRef, Fingerprint: pm.Card.Fingerprint}, func() {}, nil
	}
	if pm.SealedPAN == nil {
		return till.PaymentSource{}, func() {}, till.Conflict("Payment method %s was detached; its card data is gone.", pm.ID)
	}
	pan, err := s.open(ctx, pm.SealedPAN, pm.DataKeyID, []byte(pm.ID))
	if err != nil {
		return till.PaymentSource{}, func() {}, err
	}
	card := &till.Card{Number: string(pan), ExpMonth: pm.Card.ExpMonth, ExpYear: pm.Card.ExpYear, HolderName: pm.Card.HolderName}
	return till.PaymentSource{Card: card, Fingerprint: pm.Card.Fingerprint}, func() { vault.Destroy(pan); card.Number = "" }, nil
}

// callContext bounds a processor call by the processor timeout; it is not
// canceled when the client goes away, so a disconnect never leaves an
// outcome unknown.
func (s *Service) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
}

// execute calls the processor for the payment's processing attempt and
// settles the answer. It returns the settled payment and, for a decline or a
// required authentication, the card error.
func (s *Service) execute(ctx context.Context, scope till.Scope, paymentID, attemptID string, idem *Idem) (*till.Payment, error) {
	a, p, pm, err := s.loadForCall(ctx, scope, paymentID)
	if err != nil {
		return nil, err
	}
	return s.executeLoaded(ctx, scope, &loaded{a: a, p: p, pm: pm}, attemptID, idem)
}

// executeLoaded is execute with the payment and what it needs already read.
func (s *Service) executeLoaded(ctx context.Context, scope till.Scope, l *loaded, attemptID string, idem *Idem) (*till.Payment, error) {
	att := l.p.Attempt(attemptID)
	s.at("charge.before-call")
	res, callErr := s.callCharge(ctx, l.a, l.p, l.pm, att, s.now(l.a, scope.Livemode), false)
	s.at("charge.after-call")
	return s.settleLoaded(ctx, scope, l.p.ID, attemptID, res, callErr, idem, l)
}

func (s *Service) loadForCall(ctx context.Context, scope till.Scope, paymentID string) (*till.Account, *till.Payment, *till.PaymentMethod, error) {
	var a *till.Account
	var p *till.Payment
	var pm *till.PaymentMethod
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		if a, err = tx.Account(ctx, scope.AccountID); err != nil {
			return err
		}
		if p, err = tx.Payment(ctx, scope, paymentID); err != nil {
			return err
		}
		pm, err = tx.PaymentMethod(ctx, scope, p.PaymentMethodID)
		return err
	})
	return a, p, pm, err
}

// callCharge sends the attempt to the processor. An error result means the
// outcome is unknown; a processor's refusal of the request itself (a
// *till.Error) is turned into a failed result.
func (s *Service) callCharge(ctx context.Context, a *till.Account, p *till.Payment, pm *till.PaymentMethod, att *till.Attempt, now time.Time, authenticated bool) (*till.ProcessorResult, error) {
	proc, err := s.proc(ctx, a, p.Livemode)
	if err != nil {
		return nil, err
	}
	src, wipe, err := s.source(ctx, pm)
	defer wipe()
	if err != nil {
		return failedResult(err), nil
	}
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	res, err := proc.Charge(cctx, till.ChargeRequest{
		Reference: att.Reference, AccountID: a.ID, Livemode: p.Livemode, Amount: att.Amount, Currency: p.Currency,
		Capture: p.Capture, OffSession: p.Kind == till.KindCharge && !authenticated, Authenticated: authenticated,
		Source: src, Description: p.Description, At: now,
	})
	if err != nil {
		if _, ok := till.AsError(err); ok {
			return failedResult(err), nil
		}
		s.log.Warn("processor call ended without an answer", "payment", p.ID, "attempt", att.ID, "err", err)
		return nil, err
	}
	return res, nil
}

// failedResult turns a processor's refusal of a request into a declined
// result with processing_error.
func failedResult(err error) *till.ProcessorResult {
	msg := "The processor refused the request."
	if e, ok := till.AsError(err); ok && e.Message != "" {
		msg = e.Message
	}
	return &till.ProcessorResult{Outcome: till.ProcessorDeclined, DeclineCode: till.DeclineProcessingError, Message: msg}
}

// settle applies a processor's answer for an attempt in one unit of work:
// the attempt's outcome, the payment's transition with its event, the
// reconcile task (removed when settled, rescheduled when not), and the
// idempotent response. An answer for an attempt that is no longer processing
// (another worker settled it first) changes nothing.
func (s *Service) settle(ctx context.Context, scope till.Scope, paymentID, attemptID string, res *till.ProcessorResult, callErr error, idem *Idem) (*till.Payment, error) {
	return s.settleLoaded(ctx, scope, paymentID, attemptID, res, callErr, idem, nil)
}

// settleLoaded is settle starting from copies read before the processor
// call (l, which may be nil): its unit of work reads nothing unless the
// payment changed meanwhile, in which case the version check fails and the
// unit runs again on fresh reads.
func (s *Service) settleLoaded(ctx context.Context, scope till.Scope, paymentID, attemptID string, res *till.ProcessorResult, callErr error, idem *Idem, l *loaded) (*till.Payment, error) {
	var out *till.Payment
	var cardErr error
	fresh := l == nil
	err := s.store.Update(ctx, func(tx till.Tx) error {
		var a *till.Account
		var p *till.Payment
		pre := &loaded{last: &lastSteps{}}
		if !fresh {
			fresh = true // a second run (after a conflict) reads
			a, p = l.a, l.p
			pre.cust, pre.pm = l.cust, l.pm
		} else {
			var err error
			if a, err = tx.Account(ctx, scope.AccountID); err != nil {
				return err
			}
			if p, err = tx.Payment(ctx, scope, paymentID); err != nil {
				return err
			}
		}
		from := p.Version
		now := s.now(a, scope.Livemode)
		att := p.Attempt(attemptID)
		if att != nil && att.Outcome == till.OutcomeProcessing {
			if err := s.applyResult(ctx, tx, a, p, att, res, now, pre); err != nil {
				return err
			}
			if p.Version != from {
				if err := tx.UpdatePayment(ctx, p, from); err != nil {
					return err
				}
			}
		}
		if att == nil || att.Outcome != till.OutcomeProcessing {
			if err := tx.DeleteTasks(ctx, taskReconcile, p.ID); err != nil {
				return err
			}
		} else if err := s.requeueReconcile(ctx, tx, taskReconcile, scope, p.ID, att.ID); err != nil {
			return err
		}
		cardErr = cardError(p, s.baseURL)
		out = p
		if err := s.completeKey(ctx, tx, scope, idem, p.ID, p, cardErr); err != nil {
			return err
		}
		return pre.last.run()
	})
	if err != nil {
		return nil, err
	}
	return out, cardErr
}

// applyResult records a processor answer on a processing attempt and moves
// the payment accordingly. A nil result (unknown outcome) or a pending one
// leaves both processing.
func (s *Service) applyResult(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment, att *till.Attempt, res *till.ProcessorResult, now time.Time, pre *loaded) error {
	if res == nil {
		return nil
	}
	if res.ProviderRef != "" {
		att.ProviderRef = res.ProviderRef
	}
	scope := scopeOf(p)
	if res.Outcome == till.ProcessorPending {
		if att.Code == "" {
			att.Code = "pending"
			p.Version++
			if att.Kind == till.AttemptCharge {
				return s.emit(ctx, tx, scope, till.EventPaymentProcessing, "payment", p.ID, p.Version, p, now)
			}
		}
		return nil
	}
	settled := now
	att.SettledAt = &settled
	switch att.Kind {
	case till.AttemptCapture:
		return s.applyCapture(ctx, tx, a, p, att, res, now, pre)
	case till.AttemptRelease:
		return s.applyRelease(ctx, tx, p, att, res, now)
	}
	var to till.Status
	switch res.Outcome {
	case till.ProcessorSucceeded:
		att.Outcome, att.Code = till.OutcomeSucceeded, ""
		to = till.StatusSucceeded
		p.AmountCaptured = p.AmountTotal
	case till.ProcessorAuthorized:
		att.Outcome, att.Code = till.OutcomeAuthorized, ""
		to = till.StatusAuthorized
		expires := now.Add(HoldLifetime)
		p.ExpiresAt = &expires
	case till.ProcessorRequiresAction:
		att.Outcome, att.Code, att.DeclineCode = till.OutcomeRequiresAction, string(till.ECardDeclined), till.DeclineAuthenticationRequired
		att.Message = "The card issuer requires the cardholder to authenticate this payment."
		if p.LinkToken == "" {
			p.LinkToken = till.RandomString(32)
		}
		p.NextAction = &till.NextAction{Type: "authenticate", URL: s.baseURL + "/pay/" + p.LinkToken}
		to = till.StatusRequiresAction
	case till.ProcessorDeclined:
		code, msg := declineOf(res)
		att.Outcome, att.Code, att.DeclineCode, att.Message = till.OutcomeFailed, string(till.ECardDeclined), code, msg
		p.Failure = &till.Failure{Code: string(till.ECardDeclined), DeclineCode: code, Message: msg}
		ev, err := p.Transition(till.StatusFailed, now)
		if err != nil {
			return err
		}
		if err := s.emit(ctx, tx, scope, ev, "payment", p.ID, p.Version, p, now); err != nil {
			return err
		}
		return s.maybeRetry(ctx, tx, a, p, res.SoftDecline || till.SoftDecline(code), now)
	default:
		return errors.New("service: unknown processor outcome " + string(res.Outcome))
	}
	ev, err := p.Transition(to, now)
	if err != nil {
		return err
	}
	switch to {
	case till.StatusSucceeded:
		if err := s.onCaptured(ctx, tx, a, p, now, pre); err != nil {
			return err
		}
	case till.StatusAuthorized:
		if err := s.scheduleHoldExpiry(ctx, tx, a, p, now); err != nil {
			return err
		}
	}
	if to == till.StatusSucceeded || to == till.StatusAuthorized {
		if err := s.watchDisputes(ctx, tx, a, p); err != nil {
			return err
		}
	}
	return s.emit(ctx, tx, scope, ev, "payment", p.ID, p.Version, p, now)
}

// declineOf returns a decline's code and payer-safe message.
func declineOf(res *till.ProcessorResult) (code, msg string) {
	code, msg = res.DeclineCode, res.Message
	if code == "" {
		code = till.DeclineGeneric
	}
	if msg == "" {
		msg = DeclineMessage(code)
	}
	return code, msg
}

// onCaptured does what follows money being taken, in the same unit of work:
// the invoice, the ledger entry and the receipt.
// pre may hold the customer and method read earlier.
func (s *Service) onCaptured(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment, now time.Time, pre *loaded) error {
	scope := scopeOf(p)
	cust, pm := pre.cust, pre.pm
	if cust == nil || cust.ID != p.CustomerID {
		var err error
		if cust, err = tx.Customer(ctx, scope, p.CustomerID); err != nil {
			return err
		}
	}
	if pm == nil || pm.ID != p.PaymentMethodID {
		var err error
		if pm, err = tx.PaymentMethod(ctx, scope, p.PaymentMethodID); err != nil {
			return err
		}
	}
	if err := s.issueInvoice(ctx, tx, a, p, now, cust, pm, pre.last); err != nil {
		return err
	}
	if err := s.postCapture(ctx, tx, p, now); err != nil {
		return err
	}
	return s.queuePaymentReceipt(ctx, tx, p, cust, now)
}

// cardError returns the card error a payment's state stands for: a decline
// for a failed payment, authentication_required for one that needs the
// payer. Other states are not errors.
func cardError(p *till.Payment, baseURL string) error {
	if att := p.LastAttempt(); att != nil && att.Kind != till.AttemptCharge && att.Outcome == till.OutcomeFailed {
		return &till.Error{Code: till.ECardDeclined, Message: att.Message,
			Decline: &till.Decline{DeclineCode: att.DeclineCode, PaymentID: p.ID}}
	}
	switch p.Status {
	case till.StatusFailed, till.StatusRetryScheduled:
		f := p.Failure
		if f == nil {
			f = &till.Failure{DeclineCode: till.DeclineGeneric, Message: DeclineMessage(till.DeclineGeneric)}
		}
		return &till.Error{Code: till.ECardDeclined, Message: f.Message, Param: "paymentMethodId",
			Decline: &till.Decline{DeclineCode: f.DeclineCode, PaymentID: p.ID}}
	case till.StatusRequiresAction:
		url := ""
		if p.NextAction != nil {
			url = p.NextAction.URL
		}
		return &till.Error{Code: till.ECardDeclined, Param: "paymentMethodId",
			Message: "The card issuer requires the cardholder to authenticate this payment. Send them to nextActionUrl to complete it on-session.",
			Decline: &till.Decline{DeclineCode: till.DeclineAuthenticationRequired, PaymentID: p.ID, NextActionURL: url}}
	}
	return nil
}

// DeclineMessage is the payer-safe explanation of a decline code.
func DeclineMessage(code string) string {
	switch code {
	case till.DeclineInsufficientFunds:
		return "The card has insufficient funds to complete the purchase."
	case till.DeclineExpiredCard:
		return "The card has expired."
	case till.DeclineIncorrectCVC:
		return "The card's security code is incorrect."
	case till.DeclineLostCard, till.DeclineStolenCard, till.DeclineGeneric:
		return "The card was declined."
	case till.DeclineProcessingError:
		return "An error occurred while processing the card. Try again later."
	case till.DeclineAuthenticationRequired:
		return "The card issuer requires the cardholder to authenticate this payment."
	case till.DeclineTryAgainLater:
		return "The card issuer could not be reached. Try again later."
	case till.DeclineIncorrectNumber:
		return "The card number is incorrect."
	case till.DeclineRefundFailed:
		return "The card issuer refused the refund."
	}
	return "The card was declined."
}

// resume finishes a multi-step request whose process died before it stored
// its outcome: by the operation recorded with the key, it takes over the
// key's lease and the reconcile task of the object the request works on (a
// payment for charges, captures and releases; a refund for refunds), asks the processor what happened to the attempt
// (re-sending it under the same reference if the processor never saw it),
// settles, and stores the response.
func (s *Service) resume(ctx context.Context, c *Caller, idem *Idem, found *till.IdempotencyRecord) error {
	scope := c.Scope()
	reconcileKind := taskReconcile
	switch Operation(found.Operation) {
	case OpCharge, OpCapture, OpRelease:
	case OpRefund:
		reconcileKind = taskRefundReconcile
	default:
		// Every other operation is one unit of work and is stored finished.
		return fmt.Errorf("service: idempotency key %q of operation %q left in progress", idem.Key, found.Operation)
	}
	var rec *till.IdempotencyRecord
	var claimed bool
	err := s.store.Update(ctx, func(tx till.Tx) error {
		var err error
		if rec, err = tx.IdempotencyRecord(ctx, scope, idem.API, idem.Key); err != nil {
			return err
		}
		now := s.clock.Now()
		if rec.State == till.IdemDone || now.Before(rec.LeaseUntil) {
			return nil
		}
		tasks, err := tx.ClaimTasks(ctx, till.ClaimRequest{Kinds: []string{reconcileKind}, Ref: rec.ResourceID, Now: now, Limit: 1, Owner: s.instance, Lease: s.lease})
		if err != nil {
			return err
		}
		claimed = len(tasks) == 1
		rec.LeaseOwner, rec.LeaseUntil, rec.UpdatedAt = s.instance, now.Add(s.lease), now
		return tx.UpdateIdempotencyRecord(ctx, rec)
	})
	if err != nil || rec.State == till.IdemDone {
		return err
	}
	if rec.LeaseOwner != s.instance {
		return inProgress()
	}
	if reconcileKind == taskRefundReconcile {
		return s.resumeRefund(ctx, scope, rec.ResourceID, claimed, idem)
	}
	a, p, pm, err := s.loadForCall(ctx, scope, rec.ResourceID)
	if err != nil {
		return err
	}
	att := p.LastAttempt()
	if att == nil || att.Outcome != till.OutcomeProcessing {
		// Settled meanwhile (by the reconciler): the response is the payment
		// as it stands.
		_, err := s.settle(ctx, scope, p.ID, "", nil, nil, idem)
		return ignoreCardError(err)
	}
	if !claimed {
		return inProgress()
	}
	res, callErr := s.lookupOrResend(ctx, a, p, pm, att)
	_, err = s.settle(ctx, scope, p.ID, att.ID, res, callErr, idem)
	return ignoreCardError(err)
}

// ignoreCardError drops a card error: it is part of the stored response,
// not a failure of the operation.
func ignoreCardError(err error) error {
	if till.ErrorCode(err) == till.ECardDeclined {
		return nil
	}
	return err
}

// lookupOrResend asks the processor what it did with the attempt's
// reference; if it never saw it, the attempt is sent again under the same
// reference, which the processor performs at most once.
func (s *Service) lookupOrResend(ctx context.Context, a *till.Account, p *till.Payment, pm *till.PaymentMethod, att *till.Attempt) (*till.ProcessorResult, error) {
	proc, err := s.proc(ctx, a, p.Livemode)
	if err != nil {
		return nil, err
	}
	now := s.now(a, p.Livemode)
	cctx, cancel := s.callContext(ctx)
	res, err := proc.Lookup(cctx, till.LookupRequest{Reference: att.Reference, At: now})
	cancel()
	if err == nil {
		return res, nil
	}
	if !isNotFound(err) {
		return nil, err
	}
	return s.send(ctx, a, p, pm, att, now)
}

// send sends an attempt to the processor, by its kind.
func (s *Service) send(ctx context.Context, a *till.Account, p *till.Payment, pm *till.PaymentMethod, att *till.Attempt, now time.Time) (*till.ProcessorResult, error) {
	switch att.Kind {
	case till.AttemptCapture, till.AttemptRelease:
		return s.callHold(ctx, a, p, att, now)
	}
	return s.callCharge(ctx, a, p, pm, att, now, authenticatedAttempt(p, att))
}
