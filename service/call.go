package service

import (
	"context"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/vault"
)

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
		Capture: p.Capture, OffSession: (p.Kind == till.KindCharge || att.OffSession) && !authenticated, Authenticated: authenticated,
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
