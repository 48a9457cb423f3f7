package service

import (
	"context"
	"errors"
	"time"

	"github.com/tillpay/till"
)

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
			// A new charge starts in processing without an event (its
			// first status), so the processor's "pending" announces it. A
			// payment that moved into processing (a scheduled charge or a
			// retry that ran, an on-session authentication) had its
			// payment.processing with that transition: no second one.
			if att.Kind == till.AttemptCharge && len(p.StatusHistory) == 1 {
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
		// The payer authenticates where the processor says, or on Till's
		// page (the simulator's challenge).
		url := s.baseURL + "/pay/" + p.LinkToken
		if res.NextActionURL != "" {
			url = res.NextActionURL
		}
		p.NextAction = &till.NextAction{Type: "authenticate", URL: url}
		to = till.StatusRequiresAction
		if p.Kind == till.KindCharge {
			// The payer has ActionLifetime to authenticate; a link keeps
			// its own expiresAt.
			expires := now.Add(ActionLifetime)
			p.ExpiresAt = &expires
		}
	case till.ProcessorDeclined:
		code, msg := declineOf(res)
		att.Outcome, att.Code, att.DeclineCode, att.Message = till.OutcomeFailed, string(till.ECardDeclined), code, msg
		p.Failure = &till.Failure{Code: string(till.ECardDeclined), DeclineCode: code, Message: msg}
		if err := s.movePayment(ctx, tx, scope, p, till.StatusFailed, now, nil); err != nil {
			return err
		}
		if p.Kind == till.KindLink {
			return s.reopenLink(ctx, tx, p, now)
		}
		return s.maybeRetry(ctx, tx, a, p, res.SoftDecline || till.SoftDecline(code), now)
	default:
		return errors.New("service: unknown processor outcome " + string(res.Outcome))
	}
	err := s.movePayment(ctx, tx, scope, p, to, now, func() error {
		switch to {
		case till.StatusSucceeded:
			if err := s.onCaptured(ctx, tx, a, p, now, pre); err != nil {
				return err
			}
		case till.StatusAuthorized:
			if err := s.scheduleHoldExpiry(ctx, tx, a, p, now); err != nil {
				return err
			}
		case till.StatusRequiresAction:
			if p.Kind == till.KindCharge {
				return s.scheduleExpiry(ctx, tx, a, p)
			}
		}
		if to == till.StatusSucceeded || to == till.StatusAuthorized {
			return s.watchDisputes(ctx, tx, a, p)
		}
		return nil
	})
	if err != nil || to != till.StatusSucceeded || p.Kind != till.KindLink {
		return err
	}
	// A paid link: its expiry is moot, and the link's own event follows the
	// payment's.
	if err := tx.DeleteTasks(ctx, taskPaymentExpiry, p.ID); err != nil {
		return err
	}
	// Every event of an object has a version of its own.
	p.Version++
	return s.emit(ctx, tx, scope, till.EventPaymentLinkPaid, "payment", p.ID, p.Version, p, now)
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
