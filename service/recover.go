package service

import (
	"context"
	"fmt"

	"github.com/tillpay/till"
)

// resume finishes a multi-step request whose process died before it stored
// its outcome: by the operation recorded with the key, it takes over the
// key's lease and the reconcile task of the object the request works on (a
// payment for charges, captures and releases; a refund for refunds), asks
// the processor what happened to the attempt (re-sending it under the same
// reference if the processor never saw it), settles, and stores the
// outcome.
func (s *Service) resume(ctx context.Context, c *Caller, idem *Idem, found *till.IdempotencyRecord) error {
	scope := c.Scope()
	reconcileKind := taskReconcile
	switch Operation(found.Operation) {
	case OpCharge, OpLinkCharge, OpCapture, OpRelease:
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
