package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// Task kinds of disputes.
//
// A processor that reports chargebacks only when asked (the simulator: a
// disputeSource) is polled per account and mode by taskDisputeWatch tasks.
// Each succeeded or authorized charge adds one, due disputePollMin later (a
// new row: the charge's unit of work touches no row that other charges
// write). A watch that runs takes over every watch of its scope, lists the
// chargebacks due, queues one taskDispute task per disputed payment and
// leaves a single watch behind for the next poll, sooner while disputes come
// in and backing off while none do. The taskDispute task marks the dispute
// reported at the processor (idempotent) and then, in one unit of work,
// moves the payment to disputed, emits payment.disputed and removes itself.
// A crash at any point leaves a task that runs again, and the status check
// in that unit of work makes the change happen once.
const (
	taskDisputeWatch = "processor.disputes"
	taskDispute      = "payment.dispute"
)

// How often a scope's disputes are polled: disputePollMin after a charge or
// a poll that found disputes, doubling to disputePollMax while polls find
// none.
const (
	disputePollMin = 30 * time.Second
	disputePollMax = 15 * time.Minute
)

// disputeSource is a processor that keeps the chargebacks it raised until
// they are reported (the simulator). Processors that push disputes (Stripe's
// webhooks) do not implement it.
type disputeSource interface {
	// DueDisputes returns the charge records of scope sc whose chargeback
	// has arrived by at and has not been reported yet.
	DueDisputes(ctx context.Context, sc till.Scope, at time.Time) ([]*till.ProcessorRecord, error)
	// MarkDisputeReported records that the chargeback of the charge has been
	// reported and returns the dispute record; it is idempotent.
	MarkDisputeReported(ctx context.Context, chargeReference string, at time.Time) (*till.ProcessorRecord, error)
}

// disputeSourceOf returns the account's processor of a mode if it is a
// disputeSource, or nil. Building a processor touches nothing outside
// memory, so it may run inside a unit of work.
func (s *Service) disputeSourceOf(ctx context.Context, a *till.Account, livemode bool) disputeSource {
	proc, err := s.proc(ctx, a, livemode)
	if err != nil {
		return nil
	}
	src, _ := proc.(disputeSource)
	return src
}

// disputeWatchRef is the Ref of the dispute watch tasks of a scope.
func disputeWatchRef(sc till.Scope) string {
	if sc.Livemode {
		return sc.AccountID + ":live"
	}
	return sc.AccountID + ":test"
}

// watchDisputes adds, in the unit of work where p's charge succeeded or was
// authorized, a dispute watch of p's scope due disputePollMin later. It does
// nothing for other statuses or for processors that are no disputeSource.
func (s *Service) watchDisputes(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment) error {
	if p.Status != till.StatusSucceeded && p.Status != till.StatusAuthorized {
		return nil
	}
	if s.disputeSourceOf(ctx, a, p.Livemode) == nil {
		return nil
	}
	// One pending watch row per account and mode serves every charge made
	// until the next poll: its id is fixed, so a charge that finds it
	// already there adds nothing (and touches no shared row).
	scope := scopeOf(p)
	now := s.clock.Now()
	err := tx.CreateTask(ctx, &till.Task{
		ID: "task_dw_" + disputeWatchRef(scope), Kind: taskDisputeWatch, AccountID: scope.AccountID, Livemode: scope.Livemode,
		Ref: disputeWatchRef(scope), RunAt: now.Add(disputePollMin), CreatedAt: now,
	})
	if errors.Is(err, till.ErrDuplicate) {
		return nil
	}
	return err
}

// createDisputeWatch adds a dispute watch of scope that runs after wait.
func (s *Service) createDisputeWatch(ctx context.Context, tx till.Tx, scope till.Scope, wait time.Duration) (*till.Task, error) {
	now := s.clock.Now()
	t := &till.Task{
		ID: s.ids.NewID(till.PrefixTask), Kind: taskDisputeWatch, AccountID: scope.AccountID, Livemode: scope.Livemode,
		Ref: disputeWatchRef(scope), RunAt: now.Add(wait), CreatedAt: now,
	}
	return t, tx.CreateTask(ctx, t)
}

// nextDisputePoll is the wait before the scope of watch t is polled again:
// the shortest when its poll found disputes, otherwise twice t's own wait,
// within bounds.
func nextDisputePoll(t *till.Task, found bool) time.Duration {
	if found {
		return disputePollMin
	}
	return min(max(2*t.RunAt.Sub(t.CreatedAt), disputePollMin), disputePollMax)
}

// pollDisputes runs a dispute watch. It first replaces every watch of the
// scope (those of the charges made so far, which this poll serves) with one
// safety net that runs if this poll dies; then it asks the processor for the
// chargebacks due as of the account's clock and, in one unit of work, queues
// a taskDispute task for each disputed payment and replaces the safety net
// with the next poll. Watches added by charges during the poll stay.
func (s *Service) pollDisputes(ctx context.Context, t *till.Task) error {
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	var a *till.Account
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		a, err = tx.Account(ctx, scope.AccountID)
		return err
	}); err != nil {
		return err
	}
	src := s.disputeSourceOf(ctx, a, scope.Livemode)
	if src == nil {
		// The account moved to a processor that pushes its disputes.
		return s.store.Update(ctx, func(tx till.Tx) error { return tx.DeleteTasks(ctx, taskDisputeWatch, t.Ref) })
	}
	var net *till.Task
	if err := s.store.Update(ctx, func(tx till.Tx) (err error) {
		if err := tx.DeleteTasks(ctx, taskDisputeWatch, t.Ref); err != nil {
			return err
		}
		net, err = s.createDisputeWatch(ctx, tx, scope, s.lease)
		return err
	}); err != nil {
		return err
	}
	due, err := src.DueDisputes(ctx, scope, s.now(a, scope.Livemode))
	if err != nil {
		return err
	}
	type dispute struct{ paymentID, chargeRef string }
	var queue []dispute
	for _, rec := range due {
		paymentID, _, ok := strings.Cut(rec.Reference, ":")
		if !ok || paymentID == "" {
			s.log.Warn("dispute on a charge that is no payment's attempt; ignored", "account", scope.AccountID, "reference", rec.Reference)
			continue
		}
		queue = append(queue, dispute{paymentID, rec.Reference})
	}
	next := nextDisputePoll(t, len(due) > 0)
	return s.store.Update(ctx, func(tx till.Tx) error {
		now := s.clock.Now()
		for _, d := range queue {
			// One pending report per payment, whoever queued it before.
			if err := tx.DeleteTasks(ctx, taskDispute, d.paymentID); err != nil {
				return err
			}
			if err := tx.CreateTask(ctx, &till.Task{
				ID: s.ids.NewID(till.PrefixTask), Kind: taskDispute, AccountID: scope.AccountID, Livemode: scope.Livemode,
				Ref: d.paymentID, Ref2: d.chargeRef, RunAt: now, CreatedAt: now,
			}); err != nil {
				return err
			}
		}
		if err := tx.DeleteTask(ctx, net.ID, ""); err != nil {
			return err
		}
		_, err := s.createDisputeWatch(ctx, tx, scope, next)
		return err
	})
}

// reportDispute records the chargeback of the charge t.Ref2 on payment
// t.Ref. The processor is told first that the dispute is reported, which it
// answers the same way however often it is asked; then one unit of work
// moves the payment to disputed, records it in statusHistory, emits
// payment.disputed and removes the task. A payment already disputed is left
// as it is. A payment that cannot be disputed yet (its charge still settling)
// fails the task, which is retried with backoff.
func (s *Service) reportDispute(ctx context.Context, t *till.Task) error {
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	chargeRef := t.Ref2
	var a *till.Account
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		a, err = tx.Account(ctx, scope.AccountID)
		return err
	}); err != nil {
		return err
	}
	drop := func(why string) error {
		s.log.Warn("dispute report dropped", "payment", t.Ref, "reference", chargeRef, "why", why)
		return s.store.Update(ctx, func(tx till.Tx) error { return tx.DeleteTask(ctx, t.ID, "") })
	}
	src := s.disputeSourceOf(ctx, a, scope.Livemode)
	if src == nil {
		return drop("the account's processor no longer reports disputes")
	}
	_, attemptID, _ := strings.Cut(chargeRef, ":")
	rec, err := src.MarkDisputeReported(ctx, chargeRef, s.now(a, scope.Livemode))
	switch till.ErrorCode(err) {
	case "":
	case till.ENotFound, till.EConflict:
		return drop(publicMessage(err))
	default:
		return err
	}
	dropped, disputed, err := s.disputePayment(ctx, scope, t.Ref, attemptID, rec.Amount, t.ID)
	switch {
	case err != nil:
	case dropped != "":
		s.log.Warn("dispute report dropped", "payment", t.Ref, "reference", chargeRef, "why", dropped)
	case disputed:
		s.log.Info("payment disputed", "payment", t.Ref, "dispute", rec.ProviderRef, "amount", rec.Amount, "currency", rec.Currency)
	}
	return err
}

// disputePayment records, in one unit of work, a chargeback of amount on
// the charge attemptID of payment paymentID: the payment moves to disputed
// (payment.disputed), the ledger takes back what the merchant still holds
// of it, and task taskID (if not "") is removed. A payment already disputed
// is left as it is (disputed false); an unknown payment or attempt removes
// the task and returns why in dropped. A payment whose charge has not
// settled yet cannot be disputed: a state_conflict error.
func (s *Service) disputePayment(ctx context.Context, scope till.Scope, paymentID, attemptID string, amount int64, taskID string) (dropped string, disputed bool, err error) {
	err = s.store.Update(ctx, func(tx till.Tx) error {
		dropped, disputed = "", false
		done := func() error {
			if taskID == "" {
				return nil
			}
			return tx.DeleteTask(ctx, taskID, "")
		}
		a, err := tx.Account(ctx, scope.AccountID)
		if err != nil {
			return err
		}
		p, err := tx.Payment(ctx, scope, paymentID)
		if isNotFound(err) || err == nil && p.Attempt(attemptID) == nil {
			dropped = "no such payment attempt"
			return done()
		}
		if err != nil {
			return err
		}
		if p.Status == till.StatusDisputed {
			return done()
		}
		if !till.CanTransition(p.Status, till.StatusDisputed) {
			return till.Conflict("Payment %s is %s; a chargeback is recorded once its charge has settled.", p.ID, p.Status)
		}
		from := p.Version
		now := s.now(a, scope.Livemode)
		if err := s.movePayment(ctx, tx, scope, p, till.StatusDisputed, now, nil); err != nil {
			return err
		}
		// The chargeback takes back what the merchant still holds of the
		// payment (the processor disputes the captured amount; what was
		// refunded already went back).
		if err := s.postDispute(ctx, tx, p, min(amount, p.AmountCaptured-p.AmountRefunded), now); err != nil {
			return err
		}
		if err := tx.UpdatePayment(ctx, p, from); err != nil {
			return err
		}
		disputed = true
		return done()
	})
	return dropped, disputed, err
}
