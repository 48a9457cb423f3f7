package service

import (
	"context"
	"strings"

	"github.com/tillpay/till"
)

// Purchases (the CHIP dialect, SPEC §13) are payment links with what a
// purchases API adds: the hold a paid link may place instead of capturing,
// the customer found or created from the client's details when the request
// names none, the merchant's off-session charge of a pending link with a
// saved method (a recurring token), and the detach of the method a paid
// link saved. Everything else (capture, release, refund, cancel) is the
// core's own use cases.

// Operations of purchases.
const (
	OpPurchaseCreate  Operation = "purchase.create"
	OpLinkCharge      Operation = "payment_link.charge"
	OpRecurringDetach Operation = "purchase.delete_recurring_token"
)

// purchaseClientPath is the field a purchase's client details are named by.
const purchaseClientPath = "client"

// PurchaseParams is a request to create a purchase: a payment link
// (PaymentLinkParams) and the choices a purchase has beyond it.
type PurchaseParams struct {
	Link PaymentLinkParams
	// Hold, when true, makes paying the link authorize the amount instead
	// of capturing it: the payment becomes authorized, to be captured or
	// released (SPEC §5).
	Hold bool
	// Client, when Link.CustomerID is empty, describes the customer the
	// purchase is for: the account's customer with Client.Email, or a new
	// one created with these details in the purchase's unit of work.
	// Validation errors name its fields under "client".
	Client *CustomerParams
	// SendReceipt sends the receipt email when the link is paid.
	SendReceipt bool
}

// CreatePurchase creates a payment link (see CreatePaymentLink) that holds
// instead of capturing when in.Hold is set, for the customer named by
// in.Link.CustomerID or found or created from in.Client. Without
// in.Link.Amount the amount is the sum of the line items. It returns a
// validation error when neither or both of customer and client are given
// or a field is wrong.
func (s *Service) CreatePurchase(ctx context.Context, c *Caller, idem *Idem, in PurchaseParams) (*till.Payment, error) {
	if in.Link.Amount == nil {
		in.Link.Amount = linesSum(in.Link.LineItems)
	}
	req, err := validateLink(in.Link, s.now(c.Account, c.Livemode))
	var v till.Validator
	if e, ok := till.AsError(err); ok {
		for _, f := range e.Fields {
			v.AddCode(e.Code, f.Field, "%s", f.Message)
		}
	} else if err != nil {
		return nil, err
	}
	opt := linkOptions{capture: !in.Hold, sendReceipt: in.SendReceipt}
	switch {
	case in.Client != nil && strings.TrimSpace(in.Link.CustomerID) != "":
		v.Add(purchaseClientPath, "give either the client's details or the id of a customer, not both")
	case in.Client == nil && strings.TrimSpace(in.Link.CustomerID) == "":
		v.Add(purchaseClientPath, "give the client's details (at least an email) or the id of a customer")
	case in.Client != nil:
		opt.client = s.newClient(&v, c, *in.Client)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.createLink(ctx, c, idem, OpPurchaseCreate, req, opt)
}

// linesSum returns the sum of quantity × unitAmount of items, nil when an
// item lacks either or one is out of the bounds validateLineItems enforces
// (which then names it).
func linesSum(items []LineItemParams) *int64 {
	if len(items) == 0 {
		return nil
	}
	var sum int64
	for _, it := range items {
		if it.Quantity == nil || it.UnitAmount == nil || *it.Quantity < 1 || *it.Quantity > 1_000_000 ||
			*it.UnitAmount < 0 || *it.UnitAmount > till.MaxAmount {
			return nil
		}
		// Each line is at most 1e6 × MaxAmount and the sum is stopped past
		// MaxAmount, so nothing overflows.
		sum += *it.Quantity * *it.UnitAmount
		if sum > till.MaxAmount {
			sum = till.MaxAmount + 1
		}
	}
	return &sum
}

// newClient validates a purchase's client details, which need an email, and
// returns the customer they would create, recording problems under
// "client.".
func (s *Service) newClient(v *till.Validator, c *Caller, in CustomerParams) *till.Customer {
	var cv till.Validator
	cust := &till.Customer{ID: s.ids.NewID(till.PrefixCustomer), AccountID: c.Account.ID, Livemode: c.Livemode,
		Metadata: till.MergeMetadata(nil, in.Metadata), TaxIDs: []till.TaxID{}, Version: 1}
	taxIDs := in.TaxIDs
	if taxIDs == nil {
		taxIDs = []till.TaxID{}
	}
	if strings.TrimSpace(in.Email) == "" {
		cv.Add("email", "email is required")
	}
	validateCustomerFields(&cv, cust, &in.Email, &in.Name, &in.Phone, &in.Locale, &in.Address, &taxIDs, in.Metadata)
	if e, ok := till.AsError(cv.Err()); ok {
		for _, f := range e.Fields {
			v.AddCode(e.Code, purchaseClientPath+"."+f.Field, "%s", f.Message)
		}
	}
	return cust
}

// clientCustomer returns the account's customer with the email of client,
// the newest one, or client itself, reporting true, when there is none.
func (s *Service) clientCustomer(ctx context.Context, tx till.Tx, scope till.Scope, client *till.Customer) (*till.Customer, bool, error) {
	found, _, err := tx.ListCustomers(ctx, scope, till.CustomerFilter{Page: till.Page{Limit: 1}, Email: client.Email})
	if err != nil {
		return nil, false, err
	}
	if len(found) > 0 {
		return found[0], false, nil
	}
	return client, true, nil
}

// ChargeLinkParams names the saved method a pending link is charged with.
type ChargeLinkParams struct {
	// PaymentMethodID is a saved method of the account.
	PaymentMethodID string
	// PaymentID, used when PaymentMethodID names no method of the account,
	// is a payment whose method is charged again: a link paid on its
	// hosted page, whose card was saved (CHIP names a recurring token by
	// the purchase that saved it).
	PaymentID string
}

// ChargeLink pays the pending link id with a saved method, off-session, as
// Charge charges a customer (SPEC §4), with the same guarantees: in one
// unit of work the link moves to processing with a new off-session attempt
// under its idempotent reference, the reconcile task and the claimed
// Idempotency-Key; then the processor is called once and its answer
// settled. The method must be attached and belong to the link's customer;
// a link without a customer becomes the method's customer's. Tax is
// computed again for that customer.
//
// A decline returns the link to pending, keeping the saved method attached
// (only a card entered on the hosted page for an attempt that failed is
// detached), together with a card_declined error naming the payment; a
// pending or unknown outcome returns the payment in processing, settled
// later by the reconciler. It returns resource_missing for an unknown link
// or method, a validation error on paymentMethodId for another customer's
// method, and state_conflict unless the link is pending and unexpired (two
// requests at once charge once: the second gets state_conflict).
func (s *Service) ChargeLink(ctx context.Context, c *Caller, idem *Idem, id string, in ChargeLinkParams) (*till.Payment, error) {
	return s.chargeOnce(ctx, c, idem, OpLinkCharge, func() (*loaded, string, error) {
		return s.startLinkCharge(ctx, c, idem, id, in)
	})
}

// startLinkCharge is the first unit of work of ChargeLink: the attempt,
// its reconcile task and the claimed key, committed before the processor
// call. It returns what the call needs and the attempt's id.
func (s *Service) startLinkCharge(ctx context.Context, c *Caller, idem *Idem, id string, in ChargeLinkParams) (*loaded, string, error) {
	scope := c.Scope()
	l := &loaded{}
	err := s.store.View(ctx, func(tx till.Tx) error {
		var err error
		if l.a, err = tx.Account(ctx, scope.AccountID); err != nil {
			return err
		}
		if err := s.checkProcessor(ctx, l.a, scope.Livemode); err != nil {
			return err
		}
		if l.p, err = tx.Payment(ctx, scope, id); err != nil {
			return err
		}
		if err := payable(l.p, s.now(l.a, scope.Livemode)); err != nil {
			return err
		}
		if l.pm, err = savedMethod(ctx, tx, scope, in); err != nil {
			return err
		}
		customerID := l.p.CustomerID
		if customerID == "" {
			customerID = l.pm.CustomerID
		}
		l.cust, l.pm, err = s.chargeTarget(ctx, tx, scope, customerID, l.pm.ID)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	var attemptID string
	err = s.store.Update(ctx, func(tx till.Tx) error {
		p, err := tx.Payment(ctx, scope, id)
		if err != nil {
			return err
		}
		now := s.now(l.a, scope.Livemode)
		if err := payable(p, now); err != nil {
			return err
		}
		from := p.Version
		p.CustomerID, p.PaymentMethodID, p.Provider, p.Failure = l.cust.ID, l.pm.ID, l.pm.Provider, nil
		if err := computeTax(l.a, l.cust, p, now); err != nil {
			return err
		}
		if err := s.movePayment(ctx, tx, scope, p, till.StatusProcessing, now, func() error {
			att := s.addAttempt(p, till.AttemptCharge, p.AmountTotal, now)
			att.OffSession = true
			attemptID = att.ID
			return nil
		}); err != nil {
			return err
		}
		if err := tx.UpdatePayment(ctx, p, from); err != nil {
			return err
		}
		l.p = p
		if err := s.leaseReconcile(ctx, tx, p); err != nil {
			return err
		}
		return s.claimKey(ctx, tx, scope, idem, OpLinkCharge, p.ID)
	})
	if err != nil {
		return nil, "", err
	}
	return l, attemptID, nil
}

// savedMethod finds the method ChargeLinkParams names.
func savedMethod(ctx context.Context, tx till.Tx, scope till.Scope, in ChargeLinkParams) (*till.PaymentMethod, error) {
	pm, err := tx.PaymentMethod(ctx, scope, in.PaymentMethodID)
	if err == nil && pm.DetachedAt == nil {
		return pm, nil
	}
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if in.PaymentID != "" {
		paid, err := tx.Payment(ctx, scope, in.PaymentID)
		switch {
		case err == nil && paid.PaymentMethodID != "" && savedOn(paid):
			return tx.PaymentMethod(ctx, scope, paid.PaymentMethodID)
		case err != nil && !isNotFound(err):
			return nil, err
		}
	}
	return nil, paramNotFound("payment method", in.PaymentMethodID, "paymentMethodId")
}

// savedOn reports whether p is a link whose payer saved its method on the
// hosted page: it was taken (succeeded, authorized or refunded since) by an
// attempt that was not off-session.
func savedOn(p *till.Payment) bool {
	if p.Kind != till.KindLink || p.PaymentMethodID == "" {
		return false
	}
	switch p.Status {
	case till.StatusPending, till.StatusProcessing, till.StatusRequiresAction, till.StatusFailed, till.StatusExpired:
		return false
	case till.StatusCanceled:
		if len(p.StatusHistory) < 2 || p.StatusHistory[len(p.StatusHistory)-2].Status != till.StatusAuthorized {
			return false
		}
	}
	a := lastCharge(p)
	return a != nil && !a.OffSession && (a.Outcome == till.OutcomeSucceeded || a.Outcome == till.OutcomeAuthorized)
}

// Purchase is a payment link with what the purchases API shows beside it.
type Purchase struct {
	Payment *till.Payment
	// Customer is the link's customer, nil when it has none yet.
	Customer *till.Customer
	// SavedMethodID is the method the payer saved on the link's hosted
	// page, while it is attached; "" otherwise.
	SavedMethodID string
	// ChargedWithID is the saved method an off-session charge (ChargeLink)
	// took the payment with; "" otherwise.
	ChargedWithID string
}

// PurchaseOf returns what the purchases API shows of payment p of the
// caller: p with its customer and saved methods.
func (s *Service) PurchaseOf(ctx context.Context, c *Caller, p *till.Payment) (*Purchase, error) {
	out := &Purchase{Payment: p}
	if att := lastCharge(p); att != nil && att.OffSession && (att.Outcome == till.OutcomeSucceeded || att.Outcome == till.OutcomeAuthorized) {
		out.ChargedWithID = p.PaymentMethodID
	}
	err := s.store.View(ctx, func(tx till.Tx) error {
		if p.CustomerID != "" {
			cust, err := tx.Customer(ctx, c.Scope(), p.CustomerID)
			if err != nil {
				return err
			}
			out.Customer = cust
		}
		if !savedOn(p) {
			return nil
		}
		pm, err := tx.PaymentMethod(ctx, c.Scope(), p.PaymentMethodID)
		if err == nil && pm.DetachedAt == nil {
			out.SavedMethodID = pm.ID
		}
		if isNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Purchase returns payment id of the caller as PurchaseOf shows it. A
// payment that is not a link is not found.
func (s *Service) Purchase(ctx context.Context, c *Caller, id string) (*Purchase, error) {
	p, err := s.Payment(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if p.Kind != till.KindLink {
		return nil, till.NotFound("purchase", id)
	}
	return s.PurchaseOf(ctx, c, p)
}

// lastCharge returns p's newest charge attempt, or nil.
func lastCharge(p *till.Payment) *till.Attempt {
	for i := len(p.Attempts) - 1; i >= 0; i-- {
		if p.Attempts[i].Kind == till.AttemptCharge {
			return &p.Attempts[i]
		}
	}
	return nil
}

// DetachSavedMethod detaches the method the payer of link id saved on its
// hosted page (SavedMethod) and returns the link. It returns
// resource_missing for an unknown payment and state_conflict when the link
// has no saved method attached.
func (s *Service) DetachSavedMethod(ctx context.Context, c *Caller, idem *Idem, id string) (*till.Payment, error) {
	var out *till.Payment
	err := s.idempotent(ctx, c, idem, OpRecurringDetach, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			p, err := tx.Payment(ctx, c.Scope(), id)
			if err != nil {
				return err
			}
			if !savedOn(p) {
				return till.Conflict("Payment %s saved no payment method on its page.", p.ID)
			}
			pm, err := tx.PaymentMethod(ctx, c.Scope(), p.PaymentMethodID)
			if err != nil {
				return err
			}
			if pm.DetachedAt != nil {
				return till.Conflict("The payment method payment %s saved was detached already.", p.ID)
			}
			if err := s.detachMethod(ctx, tx, c.Scope(), pm, s.now(c.Account, c.Livemode)); err != nil {
				return err
			}
			out = p
			return s.remember(ctx, tx, c, idem, OpRecurringDetach, p, p.ID)
		})
	})
	return out, err
}
