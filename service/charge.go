package service

import (
	"context"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// Task kinds of charges.
const (
	taskReconcile = till.TaskReconcileAttempt
	taskScheduled = "charge.scheduled"
)

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
	return s.charge(ctx, c, idem, req)
}

// charge is Charge after validation (PayOrders and subscription renewals
// charge this way too).
func (s *Service) charge(ctx context.Context, c *Caller, idem *Idem, req *chargeInput) (*till.Payment, error) {
	return s.chargeOnce(ctx, c, idem, OpCharge, func() (*loaded, string, error) {
		l, err := s.startCharge(ctx, c, idem, req)
		if err != nil || l.p.Status == till.StatusScheduled {
			return l, "", err
		}
		return l, l.p.LastAttempt().ID, nil
	})
}

// chargeOnce runs a charge under its Idempotency-Key of operation op: start
// records the attempt and claims the key in its unit of work, returning
// what the processor call needs and the attempt's id ("" when there is no
// call to make: a scheduled charge); then the processor is called once and
// its answer settled. The outcome is counted once, not on a replay. A
// decline returns the payment with its card error.
func (s *Service) chargeOnce(ctx context.Context, c *Caller, idem *Idem, op Operation, start func() (*loaded, string, error)) (*till.Payment, error) {
	var out *till.Payment
	var resultErr error
	err := s.idempotent(ctx, c, idem, op, &out, func() error {
		l, attemptID, err := start()
		if err != nil {
			return err
		}
		if attemptID == "" {
			out = l.p
			return nil
		}
		out, resultErr = s.executeLoaded(ctx, c.Scope(), l, attemptID, idem)
		if out == nil {
			return resultErr
		}
		return nil
	})
	if idem == nil || !idem.Replayed {
		s.obs.ChargeFinished(statusOf(out))
	}
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
		if err != nil || req.catalog == nil {
			return err
		}
		return req.catalog.resolve(ctx, tx, scope, &req.order)
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
		OrderIDs: req.orders, SubscriptionID: req.subscriptionID, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if req.catalog != nil {
		p.CatalogOrder, p.BillingAddress = req.catalog.order, req.catalog.in.BillingAddress
	}
	if err := computeTax(a, cust, p, now); err != nil {
		return nil, err
	}
	if p.AmountTotal > till.MaxAmount {
		return nil, till.ParamError(till.EAmountTooLarge, "amount", "the total with tax can be at most %d", till.MaxAmount)
	}
	if req.scheduledAt != nil {
		if err := p.Start(till.StatusScheduled, now); err != nil {
			return nil, err
		}
	} else {
		if err := p.Start(till.StatusProcessing, now); err != nil {
			return nil, err
		}
		s.addAttempt(p, till.AttemptCharge, p.AmountTotal, now)
	}
	l.p = p
	err = s.store.Update(ctx, func(tx till.Tx) error {
		if req.catalog != nil {
			if err := s.reserveOrder(ctx, tx, scope, p, now); err != nil {
				return err
			}
		}
		if err := tx.CreatePayment(ctx, p); err != nil {
			return err
		}
		if len(req.orders) > 0 {
			if err := s.takeOrders(ctx, tx, p, req.orders, now); err != nil {
				return err
			}
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
