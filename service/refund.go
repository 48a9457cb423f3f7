package service

import (
	"context"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// taskRefundReconcile settles a refund its request left unsettled.
const taskRefundReconcile = "refund.reconcile"

// CreateRefund refunds part or all of a captured payment (SPEC §4). amount
// is gross, in the terms of amountTotal; omitted, it is everything still
// refundable. The refunded tax is the exact proportional share. A refund the
// processor refuses is stored failed with its reason, and leaves the payment,
// the ledger and the credit notes as they were.
//
// Concurrent refunds of one payment are serialized by the payment's version:
// each reserves its amount in the unit of work that records it, before the
// processor is called, so together they can never refund more than was
// captured.
func (s *Service) CreateRefund(ctx context.Context, c *Caller, idem *Idem, paymentID string, in RefundParams) (*till.Refund, error) {
	var v till.Validator
	if in.Amount != nil && *in.Amount < 1 {
		v.AddCode(till.EAmountTooSmall, "amount", "amount must be at least 1")
	}
	reason := strings.TrimSpace(in.Reason)
	if reason != "" && !till.RefundReasons[reason] {
		v.Add("reason", "reason must be requested_by_customer, duplicate or fraudulent")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	scope := c.Scope()
	var out *till.Refund
	err := s.idempotent(ctx, c, idem, OpRefund, &out, func() error {
		r, err := s.startRefund(ctx, c, idem, paymentID, in.Amount, reason)
		if err != nil {
			return err
		}
		a, p, _, err := s.loadForCall(ctx, scope, paymentID)
		if err != nil {
			return err
		}
		s.at("refund.before-call")
		res, callErr := s.callRefund(ctx, a, p, r, s.now(a, scope.Livemode))
		s.at("refund.after-call")
		out, err = s.settleRefund(ctx, scope, r.ID, res, callErr, idem)
		return err
	})
	return out, err
}

// startRefund is the refund's first unit of work: check what can still be
// refunded, reserve the amount on the payment, record the refund (pending)
// with its attempt and reconcile task, and claim the idempotency key.
func (s *Service) startRefund(ctx context.Context, c *Caller, idem *Idem, paymentID string, amount *int64, reason string) (*till.Refund, error) {
	scope := c.Scope()
	var out *till.Refund
	err := s.store.Update(ctx, func(tx till.Tx) error {
		a, err := tx.Account(ctx, scope.AccountID)
		if err != nil {
			return err
		}
		p, err := tx.Payment(ctx, scope, paymentID)
		if err != nil {
			return err
		}
		switch p.Status {
		case till.StatusSucceeded, till.StatusPartiallyRefunded:
		case till.StatusRefunded:
			return till.Conflict("This payment is already fully refunded.")
		default:
			return till.Conflict("Only a succeeded payment can be refunded; this one is %s.", p.Status)
		}
		refundable := p.Refundable()
		if refundable <= 0 {
			return till.Conflict("Nothing is left to refund: %d is refunded and %d is being refunded.", p.AmountRefunded, p.RefundReserved)
		}
		amt := refundable
		if amount != nil {
			amt = *amount
			if amt > refundable {
				return till.ParamError(till.EValidation, "amount",
					"amount %d is more than can still be refunded (%d %s of %d captured)", amt, refundable, p.Currency, p.AmountCaptured)
			}
		}
		now := s.now(a, scope.Livemode)
		from := p.Version
		split := refundSplit(p, amt)
		r := &till.Refund{ID: s.ids.NewID(till.PrefixRefund), AccountID: p.AccountID, Livemode: p.Livemode, PaymentID: p.ID,
			Status: till.RefundPending, Amount: amt, Breakdown: split, Currency: p.Currency, Reason: reason,
			Version: 1, CreatedAt: now, UpdatedAt: now}
		for _, l := range split {
			r.Net += l.TaxableAmount
			r.Tax += l.TaxAmount
		}
		attID := s.ids.NewID(till.PrefixAttempt)
		r.Attempt = till.Attempt{ID: attID, Kind: till.AttemptRefund, At: now, Provider: p.Provider, Amount: amt,
			Outcome: till.OutcomeProcessing, Reference: r.ID + ":" + attID}
		p.RefundReserved += amt
		addBreakdown(p, split, 1)
		p.Version++
		p.UpdatedAt = now
		if err := tx.UpdatePayment(ctx, p, from); err != nil {
			return err
		}
		if err := tx.CreateRefund(ctx, r); err != nil {
			return err
		}
		if err := tx.CreateTask(ctx, s.reconcileTask(taskRefundReconcile, scope, r.ID, p.ID, true)); err != nil {
			return err
		}
		out = r
		return s.claimKey(ctx, tx, scope, idem, OpRefund, r.ID)
	})
	return out, err
}

// callRefund sends a refund's attempt to the processor. An error result
// means the outcome is unknown.
func (s *Service) callRefund(ctx context.Context, a *till.Account, p *till.Payment, r *till.Refund, now time.Time) (*till.ProcessorResult, error) {
	proc, err := s.proc(ctx, a, p.Livemode)
	if err != nil {
		return nil, err
	}
	charge := chargeAttempt(p)
	if charge == nil {
		return failedResult(till.Conflict("The payment has no charge to refund.")), nil
	}
	cctx, cancel := s.callContext(ctx)
	defer cancel()
	res, err := proc.Refund(cctx, till.RefundRequest{Reference: r.Attempt.Reference, ChargeReference: charge.Reference,
		ProviderRef: charge.ProviderRef, Amount: r.Amount, Currency: r.Currency, At: now})
	if err != nil {
		if _, ok := till.AsError(err); ok {
			return failedResult(err), nil
		}
		s.log.Warn("refund call ended without an answer", "refund", r.ID, "err", err)
		return nil, err
	}
	return res, nil
}

// settleRefund applies the processor's answer for a refund in one unit of
// work. Succeeded: the payment's refunded amount and status, the credit
// note, the ledger entry, the refund receipt and the events. Refused: the
// refund fails with its reason and the reservation is released. Pending or
// unknown: the refund stays pending and the reconciler asks again.
func (s *Service) settleRefund(ctx context.Context, scope till.Scope, refundID string, res *till.ProcessorResult, callErr error, idem *Idem) (*till.Refund, error) {
	var out *till.Refund
	err := s.store.Update(ctx, func(tx till.Tx) error {
		a, err := tx.Account(ctx, scope.AccountID)
		if err != nil {
			return err
		}
		r, err := tx.Refund(ctx, scope, refundID)
		if err != nil {
			return err
		}
		out = r
		if r.Status != till.RefundPending {
			if err := tx.DeleteTasks(ctx, taskRefundReconcile, r.ID); err != nil {
				return err
			}
			return s.completeKey(ctx, tx, scope, idem, r.ID, r, nil)
		}
		now := s.now(a, scope.Livemode)
		if res == nil || res.Outcome == till.ProcessorPending {
			if res != nil && res.ProviderRef != "" {
				from := r.Version
				r.Attempt.ProviderRef = res.ProviderRef
				r.Version++
				if err := tx.UpdateRefund(ctx, r, from); err != nil {
					return err
				}
			}
			if err := s.requeueReconcile(ctx, tx, taskRefundReconcile, scope, r.ID, r.PaymentID); err != nil {
				return err
			}
			return s.completeKey(ctx, tx, scope, idem, r.ID, r, nil)
		}
		p, err := tx.Payment(ctx, scope, r.PaymentID)
		if err != nil {
			return err
		}
		var last lastSteps
		pFrom, rFrom := p.Version, r.Version
		settled := now
		r.Attempt.SettledAt = &settled
		if res.ProviderRef != "" {
			r.Attempt.ProviderRef = res.ProviderRef
		}
		p.RefundReserved -= r.Amount
		p.UpdatedAt = now
		if res.Outcome == till.ProcessorSucceeded {
			err := s.moveRefund(ctx, tx, scope, r, till.RefundSucceeded, now, func() error {
				r.Attempt.Outcome = till.OutcomeSucceeded
				p.AmountRefunded += r.Amount
				to := till.StatusPartiallyRefunded
				if p.AmountRefunded >= p.AmountCaptured {
					to = till.StatusRefunded
				}
				// A payment disputed meanwhile keeps its status; the refund
				// is still recorded.
				if till.CanTransition(p.Status, to) {
					if err := s.movePayment(ctx, tx, scope, p, to, now, nil); err != nil {
						return err
					}
				}
				if err := s.issueCreditNote(ctx, tx, a, p, r, now, &last); err != nil {
					return err
				}
				if err := s.postRefund(ctx, tx, p, r, now); err != nil {
					return err
				}
				return s.queueRefundReceipt(ctx, tx, p, r, now)
			})
			if err != nil {
				return err
			}
		} else {
			code, msg := declineOf(res)
			if code == till.DeclineGeneric && res.DeclineCode == "" {
				code = till.DeclineRefundFailed
			}
			err := s.moveRefund(ctx, tx, scope, r, till.RefundFailed, now, func() error {
				r.Attempt.Outcome, r.Attempt.Code, r.Attempt.DeclineCode, r.Attempt.Message = till.OutcomeFailed, "refund_failed", code, msg
				r.Failure = &till.Failure{Code: "refund_failed", DeclineCode: code, Message: msg}
				addBreakdown(p, r.Breakdown, -1)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if p.Version == pFrom {
			p.Version++
		}
		if err := tx.UpdateRefund(ctx, r, rFrom); err != nil {
			return err
		}
		if err := tx.UpdatePayment(ctx, p, pFrom); err != nil {
			return err
		}
		if err := tx.DeleteTasks(ctx, taskRefundReconcile, r.ID); err != nil {
			return err
		}
		if err := s.completeKey(ctx, tx, scope, idem, r.ID, r, nil); err != nil {
			return err
		}
		return last.run()
	})
	return out, err
}

// reconcileRefund settles a refund left pending: it asks the processor about
// the refund's reference, and re-sends it under the same reference if the
// processor never saw it.
func (s *Service) reconcileRefund(ctx context.Context, t *till.Task) error {
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	var r *till.Refund
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		r, err = tx.Refund(ctx, scope, t.Ref)
		return err
	}); err != nil {
		return err
	}
	if r.Status != till.RefundPending {
		return s.store.Update(ctx, func(tx till.Tx) error { return tx.DeleteTask(ctx, t.ID, "") })
	}
	res, err := s.lookupOrResendRefund(ctx, scope, r)
	if err != nil {
		return err
	}
	_, err = s.settleRefund(ctx, scope, r.ID, res, nil, nil)
	return err
}

// lookupOrResendRefund asks the processor what it did with a pending
// refund's reference; if it never saw it, the refund is sent again under the
// same reference, which the processor performs at most once. An error means
// the outcome is still unknown.
func (s *Service) lookupOrResendRefund(ctx context.Context, scope till.Scope, r *till.Refund) (*till.ProcessorResult, error) {
	a, p, _, err := s.loadForCall(ctx, scope, r.PaymentID)
	if err != nil {
		return nil, err
	}
	proc, err := s.proc(ctx, a, p.Livemode)
	if err != nil {
		return nil, err
	}
	now := s.now(a, scope.Livemode)
	cctx, cancel := s.callContext(ctx)
	res, err := proc.Lookup(cctx, till.LookupRequest{Reference: r.Attempt.Reference, At: now})
	cancel()
	if isNotFound(err) {
		return s.callRefund(ctx, a, p, r, now)
	}
	return res, err
}

// resumeRefund finishes a refund request whose process died before it
// stored its response (see resume). claimed says whether this request took
// over the refund's reconcile task; without it another worker is settling
// the refund, and the request is still in progress.
func (s *Service) resumeRefund(ctx context.Context, scope till.Scope, refundID string, claimed bool, idem *Idem) error {
	var r *till.Refund
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		r, err = tx.Refund(ctx, scope, refundID)
		return err
	}); err != nil {
		return err
	}
	if r.Status != till.RefundPending {
		// Settled meanwhile (by the reconciler): the response is the refund
		// as it stands.
		_, err := s.settleRefund(ctx, scope, r.ID, nil, nil, idem)
		return err
	}
	if !claimed {
		return inProgress()
	}
	res, callErr := s.lookupOrResendRefund(ctx, scope, r)
	_, err := s.settleRefund(ctx, scope, r.ID, res, callErr, idem)
	return err
}

// Refund returns a refund of the caller.
func (s *Service) Refund(ctx context.Context, c *Caller, id string) (*till.Refund, error) {
	var r *till.Refund
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		r, err = tx.Refund(ctx, c.Scope(), id)
		return err
	})
	return r, err
}

// ListRefunds returns a payment's refunds, newest first.
func (s *Service) ListRefunds(ctx context.Context, c *Caller, paymentID string) ([]*till.Refund, error) {
	var out []*till.Refund
	err := s.store.View(ctx, func(tx till.Tx) error {
		if _, err := tx.Payment(ctx, c.Scope(), paymentID); err != nil {
			return err
		}
		var err error
		out, err = tx.ListRefunds(ctx, c.Scope(), paymentID)
		return err
	})
	return out, err
}
