package service

import (
	"context"
	"time"

	"github.com/tillpay/till"
)

// HoldLifetime is how long an authorization stays capturable; a hold not
// captured by then is released (SPEC §5: authorized → canceled).
const HoldLifetime = 7 * 24 * time.Hour

// taskHoldExpiry releases a hold at the end of its lifetime.
const taskHoldExpiry = "hold.expire"

// Capture captures an authorized payment (a hold made with capture:false).
// amount is in the charge's terms (net for exclusive tax, gross for
// inclusive); omitted, everything is captured. A partial capture releases the
// rest, and tax, invoice and ledger follow the captured amount.
func (s *Service) Capture(ctx context.Context, c *Caller, idem *Idem, id string, in CaptureParams) (*till.Payment, error) {
	if in.Amount != nil && *in.Amount < 1 {
		return nil, till.ParamError(till.EAmountTooSmall, "amount", "amount must be at least 1")
	}
	return s.holdOperation(ctx, c, idem, id, till.AttemptCapture, func(tx till.Tx, a *till.Account, p *till.Payment, now time.Time) (int64, error) {
		plan, err := capturePlan(ctx, tx, a, p, in.Amount, now)
		if err != nil {
			return 0, err
		}
		p.CapturePlan = plan
		return plan.Total, nil
	})
}

// Release voids an authorized payment's hold.
func (s *Service) Release(ctx context.Context, c *Caller, idem *Idem, id string) (*till.Payment, error) {
	return s.holdOperation(ctx, c, idem, id, till.AttemptRelease, func(tx till.Tx, a *till.Account, p *till.Payment, now time.Time) (int64, error) {
		return p.AmountTotal, nil
	})
}

// capturePlan computes what capturing amount of p leaves: the full
// authorization as it is, or a partial amount with its tax computed anew.
func capturePlan(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment, amount *int64, now time.Time) (*till.CapturePlan, error) {
	full := &till.CapturePlan{Amount: p.Amount, Subtotal: p.AmountSubtotal, Tax: p.TaxAmount, Total: p.AmountTotal,
		TaxBreakdown: p.TaxBreakdown, LineItems: p.LineItems}
	if amount == nil || *amount == p.Amount {
		return full, nil
	}
	if *amount > p.Amount {
		return nil, till.ParamError(till.EValidation, "amount", "amount can be at most the authorized %d", p.Amount)
	}
	codes := map[string]bool{}
	for _, li := range p.LineItems {
		codes[li.TaxCode] = true
	}
	if len(codes) > 1 {
		return nil, till.ParamError(till.EValidation, "amount",
			"a partial capture of a payment whose line items are taxed differently is not supported; capture in full and refund the difference")
	}
	cust, err := tx.Customer(ctx, scopeOf(p), p.CustomerID)
	if err != nil {
		return nil, err
	}
	part := *p
	part.Amount = *amount
	part.LineItems = nil
	if len(p.LineItems) > 0 {
		part.LineItems = []till.LineItem{{Description: p.Description, Quantity: 1, UnitAmount: *amount, Amount: *amount, TaxCode: p.LineItems[0].TaxCode}}
	}
	if err := computeTax(a, cust, &part, now); err != nil {
		return nil, err
	}
	return &till.CapturePlan{Amount: part.Amount, Subtotal: part.AmountSubtotal, Tax: part.TaxAmount, Total: part.AmountTotal,
		TaxBreakdown: part.TaxBreakdown, LineItems: part.LineItems}, nil
}

// holdOperation runs a capture or release: one unit of work records the
// attempt (prepare returns the amount it moves), the processor is called,
// and the answer is settled.
func (s *Service) holdOperation(ctx context.Context, c *Caller, idem *Idem, id string, kind till.AttemptKind,
	prepare func(tx till.Tx, a *till.Account, p *till.Payment, now time.Time) (int64, error)) (*till.Payment, error) {
	scope := c.Scope()
	var out *till.Payment
	var resultErr error
	err := s.idempotent(ctx, c, idem, holdOp(kind), &out, func() error {
		var attemptID string
		err := s.store.Update(ctx, func(tx till.Tx) error {
			a, err := tx.Account(ctx, scope.AccountID)
			if err != nil {
				return err
			}
			p, err := tx.Payment(ctx, scope, id)
			if err != nil {
				return err
			}
			if p.Status != till.StatusAuthorized {
				return till.Conflict("Only an authorized payment (a hold) can be %s; this one is %s.", pastTense(kind), p.Status)
			}
			if last := p.LastAttempt(); last != nil && last.Outcome == till.OutcomeProcessing {
				return till.Conflict("A %s of this payment is already under way.", last.Kind)
			}
			from := p.Version
			now := s.now(a, scope.Livemode)
			amount, err := prepare(tx, a, p, now)
			if err != nil {
				return err
			}
			att := s.addAttempt(p, kind, amount, now)
			attemptID = att.ID
			p.Version++
			p.UpdatedAt = now
			if err := tx.UpdatePayment(ctx, p, from); err != nil {
				return err
			}
			if err := s.leaseReconcile(ctx, tx, p); err != nil {
				return err
			}
			return s.claimKey(ctx, tx, scope, idem, holdOp(kind), p.ID)
		})
		if err != nil {
			return err
		}
		a, p, _, err := s.loadForCall(ctx, scope, id)
		if err != nil {
			return err
		}
		s.at(string(kind) + ".before-call")
		res, callErr := s.callHold(ctx, a, p, p.Attempt(attemptID), s.now(a, scope.Livemode))
		s.at(string(kind) + ".after-call")
		out, resultErr = s.settle(ctx, scope, id, attemptID, res, callErr, idem)
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

func pastTense(k till.AttemptKind) string {
	if k == till.AttemptRelease {
		return "released"
	}
	return "captured"
}

// chargeAttempt returns the payment's successful (or authorized) charge
// attempt, whose reference the processor's capture, release and refund
// calls name.
func chargeAttempt(p *till.Payment) *till.Attempt {
	for i := len(p.Attempts) - 1; i >= 0; i-- {
		a := &p.Attempts[i]
		if a.Kind == till.AttemptCharge && (a.Outcome == till.OutcomeSucceeded || a.Outcome == till.OutcomeAuthorized) {
			return a
		}
	}
	return nil
}

// callHold sends a capture or release attempt to the processor. An error
// result means the outcome is unknown.
func (s *Service) callHold(ctx context.Context, a *till.Account, p *till.Payment, att *till.Attempt, now time.Time) (*till.ProcessorResult, error) {
	proc, err := s.proc(ctx, a, p.Livemode)
	if err != nil {
		return nil, err
	}
	charge := chargeAttempt(p)
	if charge == nil {
		return failedResult(till.Conflict("The payment has no authorization to act on.")), nil
	}
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	var res *till.ProcessorResult
	if att.Kind == till.AttemptCapture {
		res, err = proc.Capture(cctx, till.CaptureRequest{Reference: att.Reference, ChargeReference: charge.Reference,
			ProviderRef: charge.ProviderRef, Amount: att.Amount, Currency: p.Currency, At: now})
	} else {
		res, err = proc.Release(cctx, till.ReleaseRequest{Reference: att.Reference, ChargeReference: charge.Reference,
			ProviderRef: charge.ProviderRef, At: now})
	}
	if err != nil {
		if _, ok := till.AsError(err); ok {
			return failedResult(err), nil
		}
		return nil, err
	}
	return res, nil
}

// applyCapture records the processor's answer to a capture: the plan's
// amounts become the payment's, which is now succeeded, invoiced and booked.
// A refused capture leaves the hold as it was.
func (s *Service) applyCapture(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment, att *till.Attempt, res *till.ProcessorResult, now time.Time, pre *loaded) error {
	plan := p.CapturePlan
	p.CapturePlan = nil
	if res.Outcome != till.ProcessorSucceeded || plan == nil {
		code, msg := declineOf(res)
		att.Outcome, att.Code, att.DeclineCode, att.Message = till.OutcomeFailed, string(till.ECardDeclined), code, msg
		p.Version++
		return nil
	}
	att.Outcome, att.Code = till.OutcomeSucceeded, ""
	p.Amount, p.AmountSubtotal, p.TaxAmount, p.AmountTotal = plan.Amount, plan.Subtotal, plan.Tax, plan.Total
	p.TaxBreakdown, p.LineItems = plan.TaxBreakdown, plan.LineItems
	p.AmountCaptured = plan.Total
	p.ExpiresAt = nil
	return s.movePayment(ctx, tx, scopeOf(p), p, till.StatusSucceeded, now, func() error {
		if err := tx.DeleteTasks(ctx, taskHoldExpiry, p.ID); err != nil {
			return err
		}
		return s.onCaptured(ctx, tx, a, p, now, pre)
	})
}

// applyRelease records the processor's answer to a release: the hold is
// canceled and nothing is captured.
func (s *Service) applyRelease(ctx context.Context, tx till.Tx, p *till.Payment, att *till.Attempt, res *till.ProcessorResult, now time.Time) error {
	if res.Outcome != till.ProcessorSucceeded {
		code, msg := declineOf(res)
		att.Outcome, att.Code, att.DeclineCode, att.Message = till.OutcomeFailed, string(till.ECardDeclined), code, msg
		p.Version++
		return nil
	}
	att.Outcome, att.Code = till.OutcomeSucceeded, ""
	p.AmountCaptured = 0
	p.ExpiresAt = nil
	return s.movePayment(ctx, tx, scopeOf(p), p, till.StatusCanceled, now, func() error {
		return tx.DeleteTasks(ctx, taskHoldExpiry, p.ID)
	})
}

// scheduleHoldExpiry queues the release of a new hold at the end of its
// lifetime, in the account's clock.
func (s *Service) scheduleHoldExpiry(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment, now time.Time) error {
	return s.queueAt(ctx, tx, a, p, taskHoldExpiry, now.Add(HoldLifetime))
}

// expireHold releases a hold nobody captured in time.
func (s *Service) expireHold(ctx context.Context, t *till.Task) error {
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	var p *till.Payment
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		p, err = tx.Payment(ctx, scope, t.Ref)
		return err
	}); err != nil {
		return err
	}
	if p.Status == till.StatusAuthorized {
		if last := p.LastAttempt(); last == nil || last.Outcome != till.OutcomeProcessing {
			c := &Caller{Account: &till.Account{ID: scope.AccountID}, Livemode: scope.Livemode}
			if _, err := s.Release(ctx, c, nil, p.ID); err != nil && till.ErrorCode(err) != till.EConflict {
				return ignoreCardError(err)
			}
		}
	}
	return s.store.Update(ctx, func(tx till.Tx) error { return tx.DeleteTask(ctx, t.ID, "") })
}

// holdOp is the operation of a capture or a release.
func holdOp(kind till.AttemptKind) Operation {
	if kind == till.AttemptRelease {
		return OpRelease
	}
	return OpCapture
}
