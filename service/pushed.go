package service

import (
	"context"
	"errors"
	"strings"

	"github.com/tillpay/till"
)

// errEventSignature is the answer to a pushed event Till cannot verify. It
// says the same for an unknown account, an account without the processor's
// webhook secret and a bad signature, so that it tells a caller without
// the secret nothing.
func errEventSignature(name string) error {
	return till.Errorf(till.EValidation, "The event's signature does not verify with the %s webhook secret of the account (processor.webhookSecret of PATCH /v1/account).", name)
}

// ReceiveProcessorEvent applies an event that processor name pushed for
// account accountID (Stripe's webhooks, at POST /hooks/stripe/{accountId}).
// The payload must verify with the webhook secret of the account's
// processor of one mode, and report that mode. Then, through the same
// entry points the simulator's outcomes take:
//
//   - a charge's outcome settles its attempt if it is still processing, or
//     completes a payment that requires action once the payer has
//     authenticated at the processor; a succeeded or canceled intent also
//     settles a capture or release under way;
//   - a refund's outcome settles the refund if it is still pending; "the
//     charge was refunded" asks the processor about every pending refund of
//     the payment;
//   - a chargeback disputes the payment.
//
// Everything is applied by status, so a replayed event, or one overtaken
// by a later one, changes nothing. An event about an object Till did not
// make is ignored. It returns the event as parsed; a validation error for
// a signature that does not verify; a state_conflict error for a dispute
// that arrived before its charge settled (the processor sends it again).
func (s *Service) ReceiveProcessorEvent(ctx context.Context, name, accountID string, payload []byte, header string) (*till.ProcessorEvent, error) {
	var a *till.Account
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		a, err = tx.Account(ctx, accountID)
		return err
	})
	if isNotFound(err) {
		return nil, errEventSignature(name)
	}
	if err != nil {
		return nil, err
	}
	var ev *till.ProcessorEvent
	var livemode bool
	for _, live := range []bool{false, true} {
		ps := a.Processor(live)
		if ps.Name != name || ps.SealedWebhookSecret == nil {
			continue
		}
		proc, err := s.proc(ctx, a, live)
		if err != nil {
			return nil, err
		}
		recv, ok := proc.(till.EventReceiver)
		if !ok {
			continue
		}
		secret, err := s.open(ctx, ps.SealedWebhookSecret, ps.WebhookDataKeyID, processorAAD(a.ID, live, "webhookSecret"))
		if err != nil {
			return nil, err
		}
		e, err := recv.ParseEvent(ctx, payload, header, string(secret))
		clear(secret)
		if errors.Is(err, till.ErrEventSignature) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if e.Livemode != live {
			return nil, till.Errorf(till.EValidation, "The event is a %s-mode event, signed with the webhook secret of the other mode.", modeName(e.Livemode))
		}
		ev, livemode = e, live
		break
	}
	if ev == nil {
		return nil, errEventSignature(name)
	}
	scope := till.Scope{AccountID: a.ID, Livemode: livemode}
	switch ev.Kind {
	case till.EventCharge:
		err = s.pushedCharge(ctx, scope, ev)
	case till.EventRefund:
		err = s.pushedRefund(ctx, scope, ev)
	case till.EventRefunded:
		err = s.pushedRefunded(ctx, scope, ev)
	case till.EventDispute:
		err = s.pushedDispute(ctx, scope, ev)
	}
	s.log.Info("processor event", "processor", name, "account", a.ID, "livemode", livemode, "event", ev.ID, "type", ev.Type,
		"kind", ev.Kind, "reference", ev.Reference, "err", err)
	return ev, err
}

func modeName(livemode bool) string {
	if livemode {
		return "live"
	}
	return "test"
}

// pushedPayment reads the payment and attempt that a charge reference
// ("pay_…:att_…") names, or nil for a reference that names none of scope's.
func (s *Service) pushedPayment(ctx context.Context, scope till.Scope, reference string) (*till.Payment, *till.Attempt, error) {
	paymentID, attemptID, ok := strings.Cut(reference, ":")
	if !ok || !strings.HasPrefix(paymentID, till.PrefixPayment) {
		return nil, nil, nil
	}
	var p *till.Payment
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		p, err = tx.Payment(ctx, scope, paymentID)
		return err
	})
	if isNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	att := p.Attempt(attemptID)
	if att == nil {
		return nil, nil, nil
	}
	return p, att, nil
}

// pushedCharge applies a charge's outcome pushed by the processor.
func (s *Service) pushedCharge(ctx context.Context, scope till.Scope, ev *till.ProcessorEvent) error {
	p, att, err := s.pushedPayment(ctx, scope, ev.Reference)
	if err != nil || p == nil || ev.Result == nil {
		return err
	}
	res := ev.Result
	switch {
	case att.Outcome == till.OutcomeProcessing:
		_, err := s.settle(ctx, scope, p.ID, att.ID, res, nil, nil)
		return ignoreCardError(err)
	case att.Outcome == till.OutcomeRequiresAction:
		if res.Outcome == till.ProcessorRequiresAction {
			return nil
		}
		return s.completeAction(ctx, scope, p.ID, att.ID, res)
	}
	// The charge settled before; the intent's later states are those of a
	// capture or a release under way.
	last := p.LastAttempt()
	if last == nil || last.Outcome != till.OutcomeProcessing {
		return nil
	}
	done := &till.ProcessorResult{Outcome: till.ProcessorSucceeded, ProviderRef: res.ProviderRef, Amount: res.Amount}
	switch {
	case last.Kind == till.AttemptCapture && res.Outcome == till.ProcessorSucceeded,
		last.Kind == till.AttemptRelease && ev.Voided:
		_, err := s.settle(ctx, scope, p.ID, last.ID, done, nil, nil)
		return ignoreCardError(err)
	}
	return nil
}

// completeAction settles a payment that requires action with the outcome
// its processor reached after the payer authenticated there: in one unit
// of work the payment goes back to processing (payment.processing) and the
// outcome is applied to the same attempt. A payment that no longer waits on
// that attempt is left as it is. A pending outcome leaves the payment
// processing with a reconcile task.
func (s *Service) completeAction(ctx context.Context, scope till.Scope, paymentID, attemptID string, res *till.ProcessorResult) error {
	return s.store.Update(ctx, func(tx till.Tx) error {
		a, err := tx.Account(ctx, scope.AccountID)
		if err != nil {
			return err
		}
		p, err := tx.Payment(ctx, scope, paymentID)
		if err != nil {
			return err
		}
		att := p.Attempt(attemptID)
		if p.Status != till.StatusRequiresAction || att == nil || att.Outcome != till.OutcomeRequiresAction || p.LastAttempt() != att {
			return nil
		}
		from := p.Version
		now := s.now(a, scope.Livemode)
		if err := s.movePayment(ctx, tx, scope, p, till.StatusProcessing, now, func() error {
			p.NextAction = nil
			att.Outcome, att.Code, att.DeclineCode, att.Message = till.OutcomeProcessing, "", "", ""
			if p.Kind == till.KindCharge {
				// A charge's expiresAt was its time to authenticate.
				p.ExpiresAt = nil
				return tx.DeleteTasks(ctx, taskPaymentExpiry, p.ID)
			}
			return nil
		}); err != nil {
			return err
		}
		pre := &loaded{last: &lastSteps{}}
		if err := s.applyResult(ctx, tx, a, p, att, res, now, pre); err != nil {
			return err
		}
		if att.Outcome == till.OutcomeProcessing {
			if err := s.requeueReconcile(ctx, tx, taskReconcile, scope, p.ID, att.ID); err != nil {
				return err
			}
		}
		if err := tx.UpdatePayment(ctx, p, from); err != nil {
			return err
		}
		return pre.last.run()
	})
}

// pushedRefund applies a refund's outcome pushed by the processor.
func (s *Service) pushedRefund(ctx context.Context, scope till.Scope, ev *till.ProcessorEvent) error {
	refundID, _, ok := strings.Cut(ev.Reference, ":")
	if !ok || !strings.HasPrefix(refundID, till.PrefixRefund) || ev.Result == nil {
		return nil
	}
	var r *till.Refund
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		r, err = tx.Refund(ctx, scope, refundID)
		return err
	})
	if isNotFound(err) || err == nil && (r.Attempt.Reference != ev.Reference || r.Status != till.RefundPending) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.settleRefund(ctx, scope, r.ID, ev.Result, nil, nil)
	return err
}

// pushedRefunded asks the processor about every pending refund of the
// payment whose charge it says was refunded, and settles each.
func (s *Service) pushedRefunded(ctx context.Context, scope till.Scope, ev *till.ProcessorEvent) error {
	p, _, err := s.pushedPayment(ctx, scope, ev.Reference)
	if err != nil || p == nil {
		return err
	}
	var refunds []*till.Refund
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		refunds, err = tx.ListRefunds(ctx, scope, p.ID)
		return err
	}); err != nil {
		return err
	}
	pending := 0
	for _, r := range refunds {
		if r.Status != till.RefundPending {
			continue
		}
		pending++
		res, err := s.lookupOrResendRefund(ctx, scope, r)
		if err != nil {
			return err
		}
		if _, err := s.settleRefund(ctx, scope, r.ID, res, nil, nil); err != nil {
			return err
		}
	}
	if pending == 0 && p.AmountRefunded < p.AmountCaptured {
		s.log.Warn("the processor reports a refund Till did not make; refund through Till so that its ledger, credit note and events follow",
			"payment", p.ID, "event", ev.ID)
	}
	return nil
}

// pushedDispute records a chargeback pushed by the processor.
func (s *Service) pushedDispute(ctx context.Context, scope till.Scope, ev *till.ProcessorEvent) error {
	p, att, err := s.pushedPayment(ctx, scope, ev.Reference)
	if err != nil || p == nil {
		if p == nil && err == nil {
			s.log.Warn("dispute on a charge that is no payment's attempt; ignored", "account", scope.AccountID, "event", ev.ID, "reference", ev.Reference)
		}
		return err
	}
	amount := ev.Amount
	if ev.Currency != p.Currency {
		// A dispute in another currency than the charge's: what the
		// merchant holds of the payment goes back.
		amount = p.AmountCaptured
	}
	_, disputed, err := s.disputePayment(ctx, scope, p.ID, att.ID, amount, "")
	if disputed {
		s.log.Info("payment disputed", "payment", p.ID, "dispute", ev.DisputeRef, "reason", ev.Reason, "amount", ev.Amount, "currency", ev.Currency)
	}
	return err
}
