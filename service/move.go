package service

import (
	"context"
	"time"

	"github.com/tillpay/till"
)

// The status movers: the only code that changes the status of a payment, a
// refund or a receipt (status_test.go enforces it). Each checks the move
// against the object's transition table in the root package, records it
// (a payment's statusHistory), bumps the object's version, runs then — the
// rest of the change that the event must show (the new attempt, the
// invoice) — and writes the event. The unit of work stores the object once,
// at its end, with the version it read.

// movePayment moves p to status to (till.Payment.Transition) and writes the
// transition's event.
func (s *Service) movePayment(ctx context.Context, tx till.Tx, scope till.Scope, p *till.Payment, to till.Status, now time.Time, then func() error) error {
	ev, err := p.Transition(to, now)
	if err != nil {
		return err
	}
	if to == till.StatusFailed || to == till.StatusCanceled || to == till.StatusExpired {
		// A catalogue charge that did not take the money gives back the
		// stock and claims it reserved, with the move.
		if err := s.releaseOrder(ctx, tx, scope, p, now); err != nil {
			return err
		}
	}
	if then != nil {
		if err := then(); err != nil {
			return err
		}
	}
	return s.emit(ctx, tx, scope, ev, "payment", p.ID, p.Version, p, now)
}

// moveRefund moves r to status to (till.Refund.Transition) and writes its
// event.
func (s *Service) moveRefund(ctx context.Context, tx till.Tx, scope till.Scope, r *till.Refund, to till.RefundStatus, now time.Time, then func() error) error {
	ev, err := r.Transition(to, now)
	if err != nil {
		return err
	}
	if then != nil {
		if err := then(); err != nil {
			return err
		}
	}
	return s.emit(ctx, tx, scope, ev, "refund", r.ID, r.Version, r, now)
}

// moveReceipt moves the receipt of a payment or a refund (owner, one of
// *till.Payment or *till.Refund) to status to (till.Receipt.Transition),
// bumps the owner's version and writes the receipt's event about it.
func (s *Service) moveReceipt(ctx context.Context, tx till.Tx, scope till.Scope, owner any, to till.ReceiptStatus, now time.Time) error {
	switch o := owner.(type) {
	case *till.Payment:
		ev, err := o.Receipt.Transition(to, now)
		if err != nil {
			return err
		}
		o.Version++
		return s.emit(ctx, tx, scope, ev, "payment", o.ID, o.Version, o, now)
	case *till.Refund:
		ev, err := o.Receipt.Transition(to, now)
		if err != nil {
			return err
		}
		o.Version++
		return s.emit(ctx, tx, scope, ev, "refund", o.ID, o.Version, o, now)
	}
	panic("service: moveReceipt of a receipt owned by neither a payment nor a refund")
}
