package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tillpay/till"
)

// DeliveryOptions tune RunDeliveries.
type DeliveryOptions struct {
	// Concurrency is how many deliveries are in flight at once (default
	// 64).
	Concurrency int
	// PerEndpoint is how many of them may go to one endpoint (default 8),
	// so a slow or dead endpoint holds at most that many and never delays
	// the others.
	PerEndpoint int
	// Poll is how long the runner waits when nothing is due and nothing
	// woke it (default 100 ms).
	Poll time.Duration
}

// deferBusy is how far a claimed delivery to an endpoint that already has
// PerEndpoint deliveries in flight is put back.
const deferBusy = 2 * time.Second

// wakeDeliveries tells this process's delivery runner that a delivery was
// queued. It never blocks; a runner of another process finds the delivery
// when it next polls.
func (s *Service) wakeDeliveries() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunDeliveries delivers queued webhook events until ctx is canceled. Every
// process may run it: deliveries are tasks claimed under leases, so each is
// made by one process at a time, and one whose process dies mid-delivery is
// made again when its lease runs out (at least once). On return, the
// deliveries in flight have finished.
func (s *Service) RunDeliveries(ctx context.Context, opts DeliveryOptions) {
	if s.webhooks == nil || s.renderEvent == nil {
		panic("service: RunDeliveries needs Config.Webhooks and Config.RenderEvent")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 64
	}
	if opts.PerEndpoint <= 0 {
		opts.PerEndpoint = 8
	}
	opts.PerEndpoint = min(opts.PerEndpoint, opts.Concurrency)
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	bg := till.Background(context.WithoutCancel(ctx))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inFlight int
		perEP    = map[string]int{}
		finished = make(chan struct{}, 1)
	)
	defer wg.Wait()
	kinds := []string{taskWebhook, taskWebhookResend}
	for ctx.Err() == nil {
		mu.Lock()
		free := opts.Concurrency - inFlight
		mu.Unlock()
		started := 0
		claimed := 0
		if free > 0 {
			var tasks []*till.Task
			err := s.store.Update(bg, func(tx till.Tx) (err error) {
				tasks, err = tx.ClaimTasks(bg, till.ClaimRequest{Kinds: kinds, Now: s.clock.Now(), Limit: free, Owner: s.instance, Lease: s.lease})
				return err
			})
			if err != nil && ctx.Err() == nil {
				s.log.Error("claiming webhook deliveries failed", "err", err)
			}
			claimed = len(tasks)
			for _, t := range tasks {
				mu.Lock()
				busy := perEP[t.Ref2] >= opts.PerEndpoint
				if !busy {
					perEP[t.Ref2]++
					inFlight++
				}
				mu.Unlock()
				if busy {
					s.putBack(bg, t)
					continue
				}
				started++
				wg.Go(func() {
					s.deliver(bg, t)
					mu.Lock()
					perEP[t.Ref2]--
					if perEP[t.Ref2] == 0 {
						delete(perEP, t.Ref2)
					}
					inFlight--
					mu.Unlock()
					select {
					case finished <- struct{}{}:
					default:
					}
				})
			}
		}
		// Claim again at once only when a full batch started; otherwise
		// wait for new work, a free slot or the poll.
		if free > 0 && claimed == free && started > 0 {
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-finished:
		case <-time.After(opts.Poll):
		}
	}
}

// putBack returns a claimed delivery unmade, to be claimed again after
// deferBusy.
func (s *Service) putBack(ctx context.Context, t *till.Task) {
	t.RunAt = s.clock.Now().Add(deferBusy)
	if err := s.store.Update(ctx, func(tx till.Tx) error { return tx.RescheduleTask(ctx, t) }); err != nil {
		s.log.Error("putting back a webhook delivery failed; its lease will expire", "task", t.ID, "err", err)
	}
}

// deliver makes one delivery of a claimed task and records it. When the
// store fails, the task keeps its lease and is claimed again once the lease
// runs out.
func (s *Service) deliver(ctx context.Context, t *till.Task) {
	if err := s.deliverTask(ctx, t); err != nil {
		s.log.Error("webhook delivery not recorded; it will be made again", "task", t.ID, "event", t.Ref, "endpoint", t.Ref2, "err", err)
	}
}

func (s *Service) deliverTask(ctx context.Context, t *till.Task) error {
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	var ev *till.Event
	var ep *till.WebhookEndpoint
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		if ev, err = tx.Event(ctx, scope, t.Ref); err != nil {
			return err
		}
		ep, err = tx.WebhookEndpoint(ctx, scope, t.Ref2)
		return err
	})
	if e, ok := till.AsError(err); ok && e.Code == till.ENotFound || err == nil && (ep.Deleted || !ep.Enabled) {
		// Deleted or disabled since the delivery was queued: it is dropped.
		return s.store.Update(ctx, func(tx till.Tx) error { return tx.DeleteTask(ctx, t.ID, s.instance) })
	}
	if err != nil {
		return err
	}
	body, err := s.renderEvent(ev)
	if err != nil {
		return fmt.Errorf("render event %s: %w", ev.ID, err)
	}
	secrets, err := s.endpointSecrets(ctx, ep)
	if err != nil {
		return err
	}
	res := s.webhooks.Send(ctx, till.WebhookRequest{URL: ep.URL, Livemode: ep.Livemode, MessageID: ev.ID,
		Body: body, Secrets: secrets, Timestamp: s.clock.Now()})
	s.obs.WebhookDelivered(res.Delivered(), res.Latency)
	return s.recordDelivery(ctx, t, ev, ep.URL, res)
}

// endpointSecrets opens the secrets that sign a delivery to ep: the current
// one, and a rolled one still in its overlap window.
func (s *Service) endpointSecrets(ctx context.Context, ep *till.WebhookEndpoint) ([]string, error) {
	cur, err := s.open(ctx, ep.SealedSecret, ep.DataKeyID, []byte(ep.ID))
	if err != nil {
		return nil, fmt.Errorf("open the secret of %s: %w", ep.ID, err)
	}
	out := []string{string(cur)}
	if ep.PreviousSecretExpiresAt != nil && s.clock.Now().Before(*ep.PreviousSecretExpiresAt) {
		prev, err := s.open(ctx, ep.SealedPreviousSecret, ep.PreviousDataKeyID, []byte(ep.ID))
		if err != nil {
			return nil, fmt.Errorf("open the previous secret of %s: %w", ep.ID, err)
		}
		out = append(out, string(prev))
	}
	return out, nil
}

// recordDelivery writes the delivery log entry of one attempt and decides
// what follows, in one unit of work: done on a 2xx (or after a resend's
// one try), else a retry after webhookBackoff — the last one at the end of
// the event's retry window (till.WebhookRetryFor, account clock) — or none
// once the window is over. It keeps
// the endpoint's health: a success clears FailingSince, a failure starts it,
// and an endpoint failing for till.WebhookDisableAfter is disabled, with an
// event.
func (s *Service) recordDelivery(ctx context.Context, t *till.Task, ev *till.Event, url string, res till.WebhookResult) error {
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	resend := t.Kind == taskWebhookResend
	id := s.ids.NewID(till.PrefixDelivery)
	return s.store.Update(ctx, func(tx till.Tx) error {
		a, err := tx.Account(ctx, t.AccountID)
		if err != nil {
			return err
		}
		now := s.now(a, t.Livemode)
		d := &till.WebhookDelivery{ID: id, AccountID: t.AccountID, Livemode: t.Livemode, EventID: ev.ID, EndpointID: t.Ref2,
			URL: url, Attempt: t.Attempts + 1, Resend: resend, Succeeded: res.Delivered(), StatusCode: res.StatusCode,
			Error: res.Error, ResponseExcerpt: res.Excerpt, Latency: res.Latency, CreatedAt: now}
		// The last try is at the end of the window, however the backoff
		// falls.
		wait := min(webhookBackoff(d.Attempt, rand.Float64()), ev.CreatedAt.Add(till.WebhookRetryFor).Sub(now))
		if d.Succeeded || resend {
			err = tx.DeleteTask(ctx, t.ID, s.instance)
		} else if wait > 0 {
			next := now.Add(wait)
			d.NextRetryAt = &next
			retry := *t
			retry.Attempts, retry.RunAt, retry.LastError = d.Attempt, s.clock.Now().Add(wait), failureText(res)
			err = tx.RescheduleTask(ctx, &retry)
		} else {
			err = tx.DeleteTask(ctx, t.ID, s.instance)
		}
		if err != nil {
			return err
		}
		if err := tx.CreateWebhookDelivery(ctx, d); err != nil {
			return err
		}
		return s.endpointHealth(ctx, tx, scope, t.Ref2, d, now)
	})
}

// endpointHealth updates an endpoint after a delivery d to it.
func (s *Service) endpointHealth(ctx context.Context, tx till.Tx, scope till.Scope, id string, d *till.WebhookDelivery, now time.Time) error {
	ep, err := tx.WebhookEndpoint(ctx, scope, id)
	if err != nil || ep.Deleted {
		return err
	}
	from := ep.Version
	disable := false
	switch {
	case d.Succeeded && ep.FailingSince != nil:
		ep.FailingSince = nil
	case !d.Succeeded && !d.Resend && ep.Enabled && ep.FailingSince == nil:
		ep.FailingSince = &now
	case !d.Succeeded && !d.Resend && ep.Enabled && now.Sub(*ep.FailingSince) >= till.WebhookDisableAfter:
		disable = true
		ep.Enabled, ep.DisabledReason = false, "failing"
		ep.UpdatedAt = now
	default:
		return nil
	}
	ep.Version++
	if err := tx.UpdateWebhookEndpoint(ctx, ep, from); err != nil {
		return err
	}
	if !disable {
		return nil
	}
	s.log.Warn("webhook endpoint disabled: every delivery failed for three days", "endpoint", ep.ID, "url", ep.URL)
	return s.emit(ctx, tx, scope, till.EventWebhookEndpointDisabled, "webhook_endpoint", ep.ID, ep.Version, ep, now)
}

// failureText is a failed delivery's reason, as a task's last error.
func failureText(res till.WebhookResult) string {
	if res.Error != "" {
		return res.Error
	}
	return fmt.Sprintf("HTTP %d", res.StatusCode)
}
