package service

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tillpay/till"
)

// WorkerOptions tune the background workers.
type WorkerOptions struct {
	// Concurrency is how many tasks run at once.
	Concurrency int
	// Poll is how long the workers sleep when no task is due.
	Poll time.Duration
}

// taskHandlers maps each task kind the service runs to its handler.
func (s *Service) taskHandlers() map[string]func(context.Context, *till.Task) error {
	return map[string]func(context.Context, *till.Task) error{
		taskReconcile:       s.reconcile,
		taskScheduled:       s.runScheduled,
		taskDisputeWatch:    s.pollDisputes,
		taskDispute:         s.reportDispute,
		taskHoldExpiry:      s.expireHold,
		taskPaymentExpiry:   s.expirePayment,
		taskRefundReconcile: s.reconcileRefund,
		taskReceipt:         s.sendReceipt,
		taskRenew:           s.renew,
	}
}

// TaskKinds lists every kind of background task the service queues, sorted:
// those RunWorkers runs and the webhook deliveries RunDeliveries runs.
// /metrics reports a queue depth for each, 0 when none is queued.
func TaskKinds() []string {
	kinds := slices.Collect(maps.Keys((*Service)(nil).taskHandlers()))
	kinds = append(kinds, taskWebhook, taskWebhookResend)
	slices.Sort(kinds)
	return kinds
}

// RunWorkers claims and runs due background tasks until ctx is canceled,
// and forgets expired idempotency keys once an hour.
// Every process may run workers: tasks are claimed under leases, so each runs
// in one process at a time, and a task whose process dies is claimed again
// when its lease runs out. On return, the running tasks have finished.
func (s *Service) RunWorkers(ctx context.Context, opts WorkerOptions) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	handlers := s.taskHandlers()
	kinds := make([]string, 0, len(handlers))
	for k := range handlers {
		kinds = append(kinds, k)
	}
	var purged time.Time
	for ctx.Err() == nil {
		purged = s.purgeIdempotencyKeysIfDue(ctx, purged)
		n, err := s.RunDue(ctx, kinds, opts.Concurrency)
		if err != nil && ctx.Err() == nil {
			s.log.Error("claiming background tasks failed", "err", err)
		}
		if n == 0 || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(opts.Poll):
			}
		}
	}
}

// RunDue claims up to limit due tasks of the given kinds and runs them
// concurrently, returning how many it ran. Tests call it to run the workers
// deterministically.
func (s *Service) RunDue(ctx context.Context, kinds []string, limit int) (int, error) {
	// Background work yields to requests in the store (till.Background).
	ctx = till.Background(ctx)
	var tasks []*till.Task
	err := s.store.Update(ctx, func(tx till.Tx) (err error) {
		tasks, err = tx.ClaimTasks(ctx, till.ClaimRequest{Kinds: kinds, Now: s.clock.Now(), Limit: limit, Owner: s.instance, Lease: s.lease})
		return err
	})
	if err != nil {
		return 0, err
	}
	handlers := s.taskHandlers()
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runTask(context.WithoutCancel(ctx), t, handlers[t.Kind])
		}()
	}
	wg.Wait()
	return len(tasks), nil
}

// runTask runs one claimed task. A handler that succeeds has removed or
// rescheduled its task itself; one that fails has it retried with backoff.
func (s *Service) runTask(ctx context.Context, t *till.Task, h func(context.Context, *till.Task) error) {
	var err error
	if h == nil {
		err = errors.New("no handler for task kind " + t.Kind)
	} else {
		err = h(ctx, t)
	}
	if err == nil {
		return
	}
	s.log.Warn("background task failed; retrying later", "task", t.ID, "kind", t.Kind, "ref", t.Ref, "attempt", t.Attempts+1, "err", err)
	t.Attempts++
	t.LastError = publicMessage(err)
	if e, ok := till.AsError(err); !ok || e.Code == till.EInternal {
		t.LastError = err.Error()
	}
	t.RunAt = s.clock.Now().Add(backoff(t.Attempts))
	if uerr := s.store.Update(ctx, func(tx till.Tx) error { return tx.RescheduleTask(ctx, t) }); uerr != nil {
		s.log.Error("rescheduling a failed task failed; its lease will expire", "task", t.ID, "err", uerr)
	}
}

// backoff is the wait before the n-th retry of a task: 1 s doubling to an
// hour.
func backoff(n int) time.Duration {
	if n > 12 {
		return time.Hour
	}
	return min(time.Second<<max(n-1, 0), time.Hour)
}

// reconcile settles an attempt that its request left unsettled (an unknown
// or pending outcome, or a process that died mid-charge) by asking the
// processor; it never charges under a new reference.
func (s *Service) reconcile(ctx context.Context, t *till.Task) error {
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	a, p, pm, err := s.loadForCall(ctx, scope, t.Ref)
	if err != nil {
		return err
	}
	att := p.Attempt(t.Ref2)
	if att == nil || att.Outcome != till.OutcomeProcessing {
		return s.store.Update(ctx, func(tx till.Tx) error { return tx.DeleteTask(ctx, t.ID, "") })
	}
	res, callErr := s.lookupOrResend(ctx, a, p, pm, att)
	if callErr != nil {
		return callErr
	}
	_, err = s.settle(ctx, scope, p.ID, att.ID, res, nil, nil)
	return ignoreCardError(err)
}
