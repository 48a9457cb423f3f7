package service

import (
	"context"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// Payment returns a payment of the caller: for a customer session, only one
// of its customer (another is resource_missing).
func (s *Service) Payment(ctx context.Context, c *Caller, id string) (*till.Payment, error) {
	var p *till.Payment
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		p, err = tx.Payment(ctx, c.Scope(), id)
		return err
	})
	if err == nil && !c.sees(p.CustomerID) {
		return nil, till.NotFound("payment", id)
	}
	return p, err
}

// ListPayments lists the caller's payments, newest first: for a customer
// session, only its customer's.
func (s *Service) ListPayments(ctx context.Context, c *Caller, f till.PaymentFilter) ([]*till.Payment, bool, error) {
	var out []*till.Payment
	var more bool
	if c.CustomerID != "" {
		if f.CustomerID != "" && f.CustomerID != c.CustomerID {
			return nil, false, nil
		}
		f.CustomerID = c.CustomerID
	}
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		out, more, err = tx.ListPayments(ctx, c.Scope(), f)
		return err
	})
	return out, more, err
}

// UpdatePayment applies a PATCH: metadata and the billing address at any
// time; scheduledAt, paymentMethodId and active only while the payment
// waits (scheduled or retry_scheduled). A customer session changes only
// its own payments.
func (s *Service) UpdatePayment(ctx context.Context, c *Caller, idem *Idem, id string, in PaymentUpdateParams) (*till.Payment, error) {
	var v till.Validator
	till.ValidateMetadata(&v, "metadata", in.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *till.Payment
	err := s.idempotent(ctx, c, idem, OpPaymentUpdate, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			a, err := tx.Account(ctx, c.Account.ID)
			if err != nil {
				return err
			}
			p, err := tx.Payment(ctx, c.Scope(), id)
			if err == nil && !c.sees(p.CustomerID) {
				err = till.NotFound("payment", id)
			}
			if err != nil {
				return err
			}
			from := p.Version
			now := s.now(a, c.Livemode)
			// Its own validator: a unit run again must not repeat details.
			var v till.Validator
			if in.BillingAddress != nil {
				addr := validateAddress(&v, "billingAddress", in.BillingAddress)
				p.BillingAddress = &addr
			}
			waiting := p.Status == till.StatusScheduled || p.Status == till.StatusRetryScheduled
			if (in.ScheduledAt != nil || in.PaymentMethodID != nil || in.Active != nil) && !waiting {
				return till.Conflict("scheduledAt, paymentMethodId and active can only change while a payment is scheduled or retry_scheduled; this one is %s.", p.Status)
			}
			if in.ScheduledAt != nil {
				at := in.ScheduledAt.UTC()
				if !at.After(now) {
					v.Add("scheduledAt", "scheduledAt must be in the future")
				}
				p.ScheduledAt = &at
			}
			if in.PaymentMethodID != nil {
				pmID := strings.TrimSpace(*in.PaymentMethodID)
				pm, err := tx.PaymentMethod(ctx, c.Scope(), pmID)
				if err != nil || pm.DetachedAt != nil || pm.CustomerID != p.CustomerID || !strings.HasPrefix(pmID, till.PrefixPaymentMethod) {
					v.Add("paymentMethodId", "no attached payment method %s on this payment's customer", pmID)
				} else {
					p.PaymentMethodID, p.Provider = pm.ID, pm.Provider
				}
			}
			if in.Active != nil {
				p.Active = *in.Active
			}
			if err := v.Err(); err != nil {
				return err
			}
			if in.Metadata != nil {
				p.Metadata = till.MergeMetadata(p.Metadata, in.Metadata)
				if n := len(p.Metadata); n > till.MaxMetadataKeys {
					// The patch alone was checked; the merged result must
					// keep to the limit too.
					return till.ParamError(till.EValidation, "metadata", "metadata can have at most %d keys; with this update it would have %d", till.MaxMetadataKeys, n)
				}
			}
			p.Version++
			p.UpdatedAt = now
			if err := tx.UpdatePayment(ctx, p, from); err != nil {
				return err
			}
			if waiting {
				if err := tx.DeleteTasks(ctx, taskScheduled, p.ID); err != nil {
					return err
				}
				if p.Active {
					if err := s.scheduleTask(ctx, tx, a, p); err != nil {
						return err
					}
				}
			}
			out = p
			return s.remember(ctx, tx, c, idem, OpPaymentUpdate, p, p.ID)
		})
	})
	return out, err
}

// scheduleTask queues the run of a waiting payment at its scheduledAt, which
// is in the account's clock: a test clock ahead of the wall clock makes the
// task due sooner in real time.
func (s *Service) scheduleTask(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment) error {
	return s.queueAt(ctx, tx, a, p, taskScheduled, *p.ScheduledAt)
}

// queueAt queues a task of kind about p at time at of the account's clock:
// in test mode a test clock ahead of the wall clock makes it due sooner in
// real time.
func (s *Service) queueAt(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment, kind string, at time.Time) error {
	if !p.Livemode {
		at = at.Add(-a.TestClockOffset)
	}
	return tx.CreateTask(ctx, &till.Task{ID: s.ids.NewID(till.PrefixTask), Kind: kind, AccountID: p.AccountID,
		Livemode: p.Livemode, Ref: p.ID, RunAt: at, CreatedAt: s.clock.Now()})
}

// maybeRetry plans the next try of a failed off-session charge after a soft
// decline, per the account's retry policy (SPEC §11). Hard declines and
// exhausted policies leave the payment failed. A catalogue charge is never
// retried: its failure gave its stock back (releaseOrder).
func (s *Service) maybeRetry(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment, soft bool, now time.Time) error {
	if !soft || p.Kind != till.KindCharge || !a.RetryPolicy.Enabled || p.CatalogOrder != nil {
		return nil
	}
	tries := 0
	for _, att := range p.Attempts {
		if att.Kind == till.AttemptCharge {
			tries++
		}
	}
	if tries > len(a.RetryPolicy.DelaysDays) {
		return nil
	}
	at := now.Add(time.Duration(a.RetryPolicy.DelaysDays[tries-1]) * 24 * time.Hour)
	p.ScheduledAt = &at
	if err := s.movePayment(ctx, tx, scopeOf(p), p, till.StatusRetryScheduled, now, nil); err != nil {
		return err
	}
	return s.scheduleTask(ctx, tx, a, p)
}

// runScheduled starts a scheduled charge or a planned retry whose time has
// come: tax is computed again at the time of the charge, the payment moves
// to processing with a new attempt, and the processor is called.
func (s *Service) runScheduled(ctx context.Context, t *till.Task) error {
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	var attemptID string
	err := s.store.Update(ctx, func(tx till.Tx) error {
		attemptID = ""
		if err := tx.DeleteTask(ctx, t.ID, ""); err != nil {
			return err
		}
		a, err := tx.Account(ctx, scope.AccountID)
		if err != nil {
			return err
		}
		p, err := tx.Payment(ctx, scope, t.Ref)
		if err != nil {
			return err
		}
		if (p.Status != till.StatusScheduled && p.Status != till.StatusRetryScheduled) || !p.Active {
			return nil
		}
		from := p.Version
		now := s.now(a, scope.Livemode)
		if err := s.movePayment(ctx, tx, scope, p, till.StatusProcessing, now, nil); err != nil {
			return err
		}
		cust, _, targetErr := s.chargeTarget(ctx, tx, scope, p.CustomerID, p.PaymentMethodID)
		if targetErr == nil && p.Status == till.StatusProcessing && len(p.Attempts) == 0 {
			// A first run: the tax is that of the day of the charge.
			targetErr = computeTax(a, cust, p, now)
		}
		att := s.addAttempt(p, till.AttemptCharge, p.AmountTotal, now)
		if targetErr != nil {
			msg := "The payment could not be charged: " + publicMessage(targetErr)
			att.Outcome, att.Code, att.Message = till.OutcomeFailed, "payment_method_unavailable", msg
			p.Failure = &till.Failure{Code: "payment_method_unavailable", Message: msg}
			if err := s.movePayment(ctx, tx, scope, p, till.StatusFailed, now, nil); err != nil {
				return err
			}
			return tx.UpdatePayment(ctx, p, from)
		}
		if err := tx.UpdatePayment(ctx, p, from); err != nil {
			return err
		}
		attemptID = att.ID
		return s.leaseReconcile(ctx, tx, p)
	})
	if err != nil || attemptID == "" {
		return err
	}
	_, err = s.execute(ctx, scope, t.Ref, attemptID, nil)
	return ignoreCardError(err)
}

// publicMessage is the caller-safe message of err.
func publicMessage(err error) string {
	if e, ok := till.AsError(err); ok && e.Code != till.EInternal {
		return e.Message
	}
	return "an internal error occurred"
}

// recordKeeper is a processor that shows its own records (the simulator).
type recordKeeper interface {
	Records(ctx context.Context, sc till.Scope, reference, parent string) ([]*till.ProcessorRecord, error)
}

// ProcessorRecords returns the simulator's own record of what it did for a
// reference, or for every attempt of a payment (test mode only).
func (s *Service) ProcessorRecords(ctx context.Context, c *Caller, reference, paymentID string) ([]*till.ProcessorRecord, error) {
	if c.Livemode {
		return nil, till.Errorf(till.ELiveForbidden, "The simulator's records exist only in test mode.")
	}
	if (reference == "") == (paymentID == "") {
		return nil, till.ParamError(till.EValidation, "reference", "pass exactly one of reference or paymentId")
	}
	refs := []string{reference}
	if paymentID != "" {
		p, err := s.Payment(ctx, c, paymentID)
		if err != nil {
			return nil, err
		}
		refs = refs[:0]
		for _, a := range p.Attempts {
			refs = append(refs, a.Reference)
		}
		refunds, err := s.ListRefunds(ctx, c, paymentID)
		if err != nil {
			return nil, err
		}
		for _, r := range refunds {
			refs = append(refs, r.Attempt.Reference)
		}
	}
	proc, err := s.proc(ctx, c.Account, false)
	if err != nil {
		return nil, err
	}
	keeper, ok := proc.(recordKeeper)
	if !ok {
		return nil, till.Errorf(till.EConflict, "The test-mode processor %s keeps no records Till can show.", proc.Name())
	}
	out := []*till.ProcessorRecord{}
	seen := map[string]bool{}
	for _, ref := range refs {
		for _, q := range [][2]string{{ref, ""}, {"", ref}} {
			recs, err := keeper.Records(ctx, c.Scope(), q[0], q[1])
			if err != nil {
				return nil, err
			}
			for _, r := range recs {
				if !seen[r.Reference] {
					seen[r.Reference] = true
					out = append(out, r)
				}
			}
		}
	}
	return out, nil
}
