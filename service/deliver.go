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
	// Concurrency is how many deliveries are sent at once (default 64).
	Concurrency int
	// PerEndpoint is how many of them may go to one endpoint at once
	// (default 8), so a slow or dead endpoint ties up at most that many
	// sends and never delays the others. A process holds at most
	// heldPerSlot × PerEndpoint claimed deliveries of one endpoint.
	PerEndpoint int
	// Poll is how long the runner waits when nothing is due and nothing
	// woke it (default 100 ms).
	Poll time.Duration
}

const (
	// deferBusy is how far a claimed delivery that this process cannot
	// send soon (its endpoint already has as many deliveries held as it
	// may, or it waited half its lease) is put back.
	deferBusy = 2 * time.Second
	// heldPerSlot bounds the deliveries to one endpoint that a process
	// holds (claimed and waiting for a slot, being sent, or being
	// recorded) to heldPerSlot × PerEndpoint, so that deliveries wait for
	// a slot in memory, under their lease, instead of going back to the
	// store, while one endpoint cannot take every lease.
	heldPerSlot = 32
	// claimGap is the least time between two claims while deliveries are
	// held: under a stream of events, each claim takes what came due
	// meanwhile instead of one task per event. An idle runner claims at
	// once.
	claimGap = 5 * time.Millisecond
	// startedPerSlot bounds the deliveries started (being prepared,
	// prepared, or being sent) to startedPerSlot times the send slots, of
	// one endpoint and in all: the reads before a send may wait for a
	// connection longer than the send takes.
	startedPerSlot = 4
	// maxRecordBatch bounds the deliveries recorded in one unit of work.
	maxRecordBatch = 64
	// maxSteps bounds the units of work (recording and claiming) the
	// runner has in flight at once.
	maxSteps = 4
)

// wakeDeliveries tells this process's delivery runner that a delivery was
// queued. It never blocks; a runner of another process finds the delivery
// when it next polls.
func (s *Service) wakeDeliveries() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// delivery is one claimed delivery task on its way through the runner.
type delivery struct {
	t *till.Task
	// Set once it was sent: the event and URL it went to and the result.
	ev  *till.Event
	url string
	res till.WebhookResult
	// drop is set when the endpoint was deleted or disabled since the
	// delivery was queued: the task is deleted unsent.
	drop bool
	// err is set when the delivery could not be prepared (the store
	// failed): the task keeps its lease and is claimed again when it runs
	// out.
	err error
	// id is the delivery log entry's id, chosen before recording so that
	// a unit of work run again writes the same entry.
	id string
}

// endpointQueue is what the runner holds of one endpoint.
type endpointQueue struct {
	waiting []*till.Task // claimed, not yet started
	// active counts the deliveries started: being prepared, prepared and
	// waiting for a send slot, or being sent.
	active int
	// slots holds a token for each send in progress to the endpoint.
	slots chan struct{}
	held  int // waiting + active + sent and not yet recorded
}

// deliveryRunner is the state of one RunDeliveries.
type deliveryRunner struct {
	s       *Service
	opts    DeliveryOptions
	bg      context.Context
	kinds   []string
	maxHeld int // in all
	maxEP   int // per endpoint

	mu       sync.Mutex
	eps      map[string]*endpointQueue
	held     int
	active   int
	stopping bool // no more deliveries start
	// crowded is set while an endpoint is full, crowdedOK when the last
	// claim then was mostly of other endpoints' deliveries; see claimLimit.
	crowded, crowdedOK bool
	// slots holds a token for each send in progress.
	slots chan struct{}

	reads map[string]*readGroup // by endpoint id: the read deliveries to it may still join

	sends   sync.WaitGroup
	results chan *delivery // sent deliveries, to be recorded
}

// readGroup reads, in one View, an endpoint and the events of the
// deliveries to it that asked for them before the View's first statement:
// what each delivery gets is as fresh as a read of its own begun when it
// asked, and concurrent deliveries to one endpoint (which wait for a read
// connection together under load) share one read.
type readGroup struct {
	scope    till.Scope
	eventIDs []string
	started  bool // no more deliveries join
	done     chan struct{}
	// Set when done is closed: the endpoint (nil when not found), the
	// events found, and the store's error.
	ep     *till.WebhookEndpoint
	events map[string]*till.Event
	err    error
}

// RunDeliveries delivers queued webhook events until ctx is canceled. Every
// process may run it: deliveries are tasks claimed under leases, so each is
// made by one process at a time, and one whose process dies mid-delivery is
// made again when its lease runs out (at least once).
//
// Claimed deliveries wait in memory, under their lease, for a slot of their
// endpoint: at most opts.PerEndpoint are sent at once to one endpoint and
// opts.Concurrency in all, and a delivery that waited half its lease is put
// back unsent. A slot is free as soon as its send returns. The deliveries
// sent meanwhile are recorded (log entry, task deleted or rescheduled,
// endpoint health) in one unit of work, which also claims the next ones. On
// return, the deliveries in flight have been sent and recorded, and those
// still waiting are put back.
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
	r := &deliveryRunner{s: s, opts: opts, bg: till.Background(context.WithoutCancel(ctx)),
		kinds: []string{taskWebhook, taskWebhookResend}, maxEP: heldPerSlot * opts.PerEndpoint, eps: map[string]*endpointQueue{},
		reads: map[string]*readGroup{}, slots: make(chan struct{}, opts.Concurrency)}
	// One endpoint may take at most half of what a runner holds.
	r.maxHeld = max(2*opts.Concurrency, 2*r.maxEP)
	// At most maxHeld deliveries are held, so a send never waits to hand
	// over its result.
	r.results = make(chan *delivery, r.maxHeld)
	pending := r.run(ctx)
	r.putBack(r.takeWaiting(), false)
	r.sends.Wait()
	for {
		pending = r.drain(pending)
		if len(pending) == 0 {
			return
		}
		r.step(pending, 0)
		pending = pending[:0]
	}
}

// stepResult is what a step run by run came to.
type stepResult struct {
	recorded []*delivery
	limit    int
	tasks    []*till.Task
}

// run claims, dispatches and records until ctx is canceled, and returns the
// deliveries sent but not yet recorded. Up to maxSteps steps are in flight
// at once, at most one of them claiming: a claim's limit is computed from
// the room when it starts, and room only grows until it ends.
func (r *deliveryRunner) run(ctx context.Context) []*delivery {
	timer := time.NewTimer(r.opts.Poll)
	defer timer.Stop()
	var pending []*delivery // sent, not yet recorded
	var lastClaim time.Time
	done := make(chan stepResult, maxSteps)
	steps, claiming := 0, false
	finish := func(res stepResult) {
		steps--
		r.mu.Lock()
		for _, d := range res.recorded {
			r.release(d.t.Ref2)
		}
		r.mu.Unlock()
		over := r.accept(res.tasks)
		if res.limit > 0 {
			r.mu.Lock()
			if r.crowded {
				r.crowdedOK = 2*over < len(res.tasks)
			}
			r.mu.Unlock()
		}
		r.dispatch()
	}
	defer func() {
		// Stopping: the steps in flight end, and what they claimed waits
		// to be put back.
		r.mu.Lock()
		r.stopping = true
		r.mu.Unlock()
		for steps > 0 {
			finish(<-done)
		}
	}()
	// claim says whether to claim: at the start, after a wake or a poll,
	// after a claim that filled its limit (more may be due), or once room
	// is freed after a claim that had none. polled allows the claim that
	// finds other endpoints' deliveries while one endpoint is full.
	claim, starved, polled := true, false, true
	for ctx.Err() == nil {
		select {
		case <-r.s.wake:
			claim = true
		default:
		}
		pending = r.drain(pending)
		wait, gapWait := r.opts.Poll, false
		if steps < maxSteps {
			limit := 0
			if claim && !claiming {
				limit = r.claimLimit(pending, polled)
				switch {
				case limit <= 0:
					// No room: claim again once deliveries are recorded.
					limit, claim, starved = 0, false, true
				case time.Since(lastClaim) < claimGap && r.holding():
					wait, gapWait = claimGap-time.Since(lastClaim), true
					limit = 0
				}
			}
			if len(pending) > 0 || limit > 0 {
				batch := pending
				pending = make([]*delivery, 0, maxRecordBatch)
				steps++
				if limit > 0 {
					claiming, lastClaim, polled = true, time.Now(), false
				}
				go func() { done <- stepResult{recorded: batch, limit: limit, tasks: r.step(batch, limit)} }()
				continue
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-r.s.wake:
			claim = true
		case d := <-r.results:
			pending = append(pending, d)
			claim = claim || starved
		case res := <-done:
			finish(res)
			if res.limit > 0 {
				claiming = false
				claim = len(res.tasks) == res.limit
				starved = claim
			} else {
				claim = claim || starved
			}
		case <-timer.C:
			claim, polled = true, polled || !gapWait
		}
	}
	return pending
}

// drain adds to pending the sent deliveries waiting to be recorded, up to
// maxRecordBatch in all.
func (r *deliveryRunner) drain(pending []*delivery) []*delivery {
	for len(pending) < maxRecordBatch {
		select {
		case d := <-r.results:
			pending = append(pending, d)
		default:
			return pending
		}
	}
	return pending
}

// step records the pending deliveries and claims up to limit more, in one
// unit of work. When that fails, it records each delivery in its own unit,
// so that one that cannot be recorded does not hold back the others, and
// claims in another; a delivery that is not recorded keeps its lease and is
// made again when the lease runs out.
func (r *deliveryRunner) step(pending []*delivery, limit int) []*till.Task {
	s := r.s
	todo := make([]*delivery, 0, len(pending))
	for _, d := range pending {
		if d.err != nil {
			s.log.Error("webhook delivery not made; it will be made again", "task", d.t.ID, "event", d.t.Ref, "endpoint", d.t.Ref2, "err", d.err)
			continue
		}
		if !d.drop && d.id == "" {
			d.id = s.ids.NewID(till.PrefixDelivery)
		}
		todo = append(todo, d)
	}
	if len(todo) == 0 && limit == 0 {
		return nil
	}
	claim := func(tx till.Tx) (tasks []*till.Task, err error) {
		if limit <= 0 {
			return nil, nil
		}
		return tx.ClaimTasks(r.bg, till.ClaimRequest{Kinds: r.kinds, Now: s.clock.Now(), Limit: limit, Owner: s.instance, Lease: s.lease})
	}
	var tasks []*till.Task
	err := s.store.Update(r.bg, func(tx till.Tx) (err error) {
		u := newRecordUnit()
		for _, d := range todo {
			if err := s.recordDelivery(r.bg, tx, u, d); err != nil {
				return err
			}
		}
		tasks, err = claim(tx)
		return err
	})
	if err == nil {
		return tasks
	}
	if len(todo) == 1 && limit <= 0 {
		d := todo[0]
		s.log.Error("webhook delivery not recorded; it will be made again", "task", d.t.ID, "event", d.t.Ref, "endpoint", d.t.Ref2, "err", err)
		return nil
	}
	for _, d := range todo {
		if err := s.store.Update(r.bg, func(tx till.Tx) error { return s.recordDelivery(r.bg, tx, newRecordUnit(), d) }); err != nil {
			s.log.Error("webhook delivery not recorded; it will be made again", "task", d.t.ID, "event", d.t.Ref, "endpoint", d.t.Ref2, "err", err)
		}
	}
	if limit <= 0 {
		return nil
	}
	if err := s.store.Update(r.bg, func(tx till.Tx) (err error) {
		tasks, err = claim(tx)
		return err
	}); err != nil {
		s.log.Error("claiming webhook deliveries failed", "err", err)
		return nil
	}
	return tasks
}

// holding reports whether the runner holds any delivery.
func (r *deliveryRunner) holding() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held > 0
}

// claimLimit is how many deliveries may be claimed once pending is
// recorded: no more than the room left in all, and no more than the room of
// the fullest endpoint, so that a claim of deliveries to one endpoint need
// not put any back.
//
// While an endpoint is full (a dead endpoint, or one slower than its
// events come) that rule would stop all claims, and the deliveries to other
// endpoints would wait for it. Then the limit is the room of the fullest
// endpoint that is not full, and the full endpoint's deliveries claimed are
// put back: at once when the last such claim was mostly of other endpoints'
// deliveries, else only on a poll and at most PerEndpoint, so that a full
// endpoint's backlog is not claimed and put back over and over.
func (r *deliveryRunner) claimLimit(pending []*delivery, polled bool) int {
	done := map[string]int{}
	for _, d := range pending {
		done[d.t.Ref2]++
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	room := r.maxHeld - r.held + len(pending)
	fullest, open := 0, 0
	for id, q := range r.eps {
		held := q.held - done[id]
		fullest = max(fullest, held)
		if held < r.maxEP {
			open = max(open, held)
		}
	}
	r.crowded = fullest >= r.maxEP && room > 0
	if !r.crowded {
		return min(room, r.maxEP-fullest)
	}
	limit := min(room, r.maxEP-open)
	if !r.crowdedOK {
		if !polled {
			return 0
		}
		limit = min(limit, r.opts.PerEndpoint)
	}
	return limit
}

// accept queues claimed tasks by endpoint; those beyond an endpoint's room
// are put back, and it returns how many.
func (r *deliveryRunner) accept(tasks []*till.Task) (putBack int) {
	var over []*till.Task
	r.mu.Lock()
	for _, t := range tasks {
		q := r.eps[t.Ref2]
		if q == nil {
			q = &endpointQueue{slots: make(chan struct{}, r.opts.PerEndpoint)}
			r.eps[t.Ref2] = q
		}
		if q.held >= r.maxEP {
			over = append(over, t)
			continue
		}
		q.waiting = append(q.waiting, t)
		q.held++
		r.held++
	}
	for id, q := range r.eps {
		if q.held == 0 {
			delete(r.eps, id)
		}
	}
	r.mu.Unlock()
	r.putBack(over, true)
	return len(over)
}

// dispatch starts waiting deliveries: up to startedPerSlot × PerEndpoint
// per endpoint and startedPerSlot × Concurrency in all, so that while
// PerEndpoint of them are sent the next ones are prepared (read and
// rendered, the reads shared, see readGroup) and take a send slot the
// moment one is free. A delivery that has waited half its lease is put back
// rather than started, so that no send starts on a lease about to run out.
func (r *deliveryRunner) dispatch() {
	now := r.s.clock.Now()
	var stale []*till.Task
	r.mu.Lock()
	if r.stopping {
		r.mu.Unlock()
		return
	}
	for id, q := range r.eps {
		for len(q.waiting) > 0 && q.active < startedPerSlot*r.opts.PerEndpoint && r.active < startedPerSlot*r.opts.Concurrency {
			t := q.waiting[0]
			q.waiting[0] = nil
			q.waiting = q.waiting[1:]
			if t.LeaseUntil.Sub(now) < r.s.lease/2 {
				stale = append(stale, t)
				r.release(id)
				continue
			}
			q.active++
			r.active++
			r.sends.Go(func() {
				d := r.deliver(q, t)
				r.mu.Lock()
				q.active--
				r.active--
				if d == nil {
					r.release(t.Ref2)
				}
				r.mu.Unlock()
				if d == nil {
					r.putBack([]*till.Task{t}, true)
				} else {
					r.results <- d
				}
				// The freed slot takes the next waiting delivery at once,
				// without waiting for the runner's loop (which may be in
				// the middle of a unit of work).
				r.dispatch()
			})
		}
	}
	r.mu.Unlock()
	r.putBack(stale, true)
}

// maxPreparedAge is the oldest a delivery's reads may be when it is sent;
// one that waited longer for a send slot reads the event and the endpoint
// again.
const maxPreparedAge = 250 * time.Millisecond

// deliver prepares t, waits for a send slot of its endpoint q and of the
// runner, and sends it. It returns nil, for t to be put back unsent, when
// by then less than half of t's lease is left.
func (r *deliveryRunner) deliver(q *endpointQueue, t *till.Task) *delivery {
	p := r.prepare(t)
	if p.done() {
		return p.d
	}
	q.slots <- struct{}{}
	r.slots <- struct{}{}
	defer func() {
		<-r.slots
		<-q.slots
	}()
	now := r.s.clock.Now()
	if t.LeaseUntil.Sub(now) < r.s.lease/2 {
		return nil
	}
	if now.Sub(p.at) > maxPreparedAge {
		if p = r.prepare(t); p.done() {
			return p.d
		}
	}
	s := r.s
	d := p.d
	d.res = s.webhooks.Send(r.bg, till.WebhookRequest{URL: d.url, Livemode: p.livemode, MessageID: d.ev.ID,
		Body: p.body, Secrets: p.secrets, Timestamp: s.clock.Now(), Header: p.header})
	s.obs.WebhookDelivered(d.res.Delivered(), d.res.Latency)
	return d
}

// release forgets one held delivery of endpoint id; r.mu is held.
func (r *deliveryRunner) release(id string) {
	q := r.eps[id]
	if q == nil {
		return
	}
	q.held--
	r.held--
	if q.held == 0 {
		delete(r.eps, id)
	}
}

// takeWaiting stops the runner from starting deliveries, removes every
// waiting delivery and returns them.
func (r *deliveryRunner) takeWaiting() []*till.Task {
	var out []*till.Task
	r.mu.Lock()
	r.stopping = true
	for id, q := range r.eps {
		for _, t := range q.waiting {
			out = append(out, t)
			q.held--
			r.held--
		}
		q.waiting = nil
		if q.held == 0 {
			delete(r.eps, id)
		}
	}
	r.mu.Unlock()
	return out
}

// putBack returns claimed deliveries unmade, in one unit of work: after
// deferBusy when later is set, else due at once (the runner is stopping).
// When the store fails, their leases run out instead.
func (r *deliveryRunner) putBack(tasks []*till.Task, later bool) {
	if len(tasks) == 0 {
		return
	}
	s := r.s
	now := s.clock.Now()
	err := s.store.Update(r.bg, func(tx till.Tx) error {
		for _, t := range tasks {
			back := *t
			if later {
				back.RunAt = now.Add(deferBusy)
			}
			if err := tx.RescheduleTask(r.bg, &back); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("putting back webhook deliveries failed; their leases will expire", "deliveries", len(tasks), "err", err)
	}
}

// read returns the event and the endpoint of t, read after it was asked
// for (see readGroup); nil for one that is not found.
func (r *deliveryRunner) read(t *till.Task) (*till.Event, *till.WebhookEndpoint, error) {
	r.mu.Lock()
	g := r.reads[t.Ref2]
	lead := g == nil
	if lead {
		g = &readGroup{scope: till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}, done: make(chan struct{})}
		r.reads[t.Ref2] = g
	}
	g.eventIDs = append(g.eventIDs, t.Ref)
	r.mu.Unlock()
	if lead {
		r.runRead(t.Ref2, g)
	} else {
		<-g.done
	}
	return g.events[t.Ref], g.ep, g.err
}

// runRead runs the View of g, the read of endpoint id.
func (r *deliveryRunner) runRead(id string, g *readGroup) {
	defer close(g.done)
	ctx := r.bg
	g.err = r.s.store.View(ctx, func(tx till.Tx) error {
		// From here on the reads are newer than every delivery's asking
		// that joined; later ones start a group of their own.
		r.mu.Lock()
		if !g.started {
			g.started = true
			if r.reads[id] == g {
				delete(r.reads, id)
			}
		}
		ids := g.eventIDs
		r.mu.Unlock()
		g.ep, g.events = nil, make(map[string]*till.Event, len(ids))
		ep, err := tx.WebhookEndpoint(ctx, g.scope, id)
		if e, ok := till.AsError(err); ok && e.Code == till.ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		g.ep = ep
		for _, eid := range ids {
			ev, err := tx.Event(ctx, g.scope, eid)
			if e, ok := till.AsError(err); ok && e.Code == till.ENotFound {
				continue
			}
			if err != nil {
				return err
			}
			g.events[eid] = ev
		}
		return nil
	})
	if g.err != nil {
		// When the View failed before fn ran, the group is still open:
		// close it, so that later deliveries read for themselves.
		r.mu.Lock()
		if r.reads[id] == g {
			delete(r.reads, id)
		}
		r.mu.Unlock()
	}
}

// prepared is a delivery ready to be sent, or one that will not be.
type prepared struct {
	d        *delivery
	at       time.Time // when its reads were asked for
	body     []byte
	secrets  []string
	livemode bool
	// header signs body in the endpoint's dialect; nil for Till's own
	// format, signed when sent.
	header map[string][]string
}

// done reports whether the delivery is not to be sent: dropped or failed.
func (p *prepared) done() bool { return p.d.drop || p.d.err != nil }

// prepare reads t's event and endpoint (see readGroup), renders the event
// and opens the endpoint's secrets.
func (r *deliveryRunner) prepare(t *till.Task) *prepared {
	s := r.s
	p := &prepared{d: &delivery{t: t}, at: s.clock.Now()}
	ev, ep, err := r.read(t)
	if err != nil {
		p.d.err = err
		return p
	}
	if ev == nil || ep == nil || ep.Deleted || !ep.Enabled || !s.deliverable(ep, ev) {
		// Deleted or disabled since the delivery was queued, or an event
		// its dialect has no name for: it is dropped.
		p.d.drop = true
		return p
	}
	p.d.ev, p.d.url, p.livemode = ev, ep.URL, ep.Livemode
	if p.secrets, err = s.endpointSecrets(r.bg, ep); err != nil {
		p.d.err = err
		return p
	}
	if p.body, p.header, err = s.renderDelivery(r.bg, ev, ep, p.secrets, s.clock.Now()); err != nil {
		p.d.err = fmt.Errorf("render event %s: %w", ev.ID, err)
	}
	return p
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

// recordUnit holds what one unit of work recording deliveries has read, so
// that deliveries of one account and endpoint recorded together read it
// once.
type recordUnit struct {
	accounts map[string]*till.Account
	// healthy holds, by scope, the ids of the enabled endpoints without a
	// failure streak, as read in this unit (nil until read).
	healthy map[till.Scope]map[string]bool
}

func newRecordUnit() *recordUnit {
	return &recordUnit{accounts: map[string]*till.Account{}, healthy: map[till.Scope]map[string]bool{}}
}

// recordDelivery writes the delivery log entry of one attempt and decides
// what follows: done on a 2xx (or after a resend's one try), else a retry
// after webhookBackoff — the last one at the end of the event's retry
// window (till.WebhookRetryFor, account clock) — or none once the window is
// over. It keeps the endpoint's health: a success clears FailingSince, a
// failure starts it, and an endpoint failing for till.WebhookDisableAfter is
// disabled, with an event. A dropped delivery's task is deleted.
func (s *Service) recordDelivery(ctx context.Context, tx till.Tx, u *recordUnit, dl *delivery) error {
	t := dl.t
	if dl.drop {
		return tx.DeleteTask(ctx, t.ID, s.instance)
	}
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	resend := t.Kind == taskWebhookResend
	a := u.accounts[t.AccountID]
	if a == nil {
		var err error
		if a, err = tx.Account(ctx, t.AccountID); err != nil {
			return err
		}
		u.accounts[t.AccountID] = a
	}
	now := s.now(a, t.Livemode)
	res := dl.res
	d := &till.WebhookDelivery{ID: dl.id, AccountID: t.AccountID, Livemode: t.Livemode, EventID: dl.ev.ID, EndpointID: t.Ref2,
		URL: dl.url, Attempt: t.Attempts + 1, Resend: resend, Succeeded: res.Delivered(), StatusCode: res.StatusCode,
		Error: res.Error, ResponseExcerpt: res.Excerpt, Latency: res.Latency, CreatedAt: now}
	// The last try is at the end of the window, however the backoff
	// falls.
	wait := min(webhookBackoff(d.Attempt, rand.Float64()), dl.ev.CreatedAt.Add(till.WebhookRetryFor).Sub(now))
	var err error
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
	return s.endpointHealth(ctx, tx, u, scope, t.Ref2, d, now)
}

// endpointHealth updates an endpoint after a delivery d to it. A success to
// an enabled endpoint without a failure streak changes nothing; that is
// seen from the scope's enabled endpoints, read without locking them, so
// that the deliveries of all processes to a healthy endpoint do not queue on
// its row. Every other case reads the endpoint as the unit's own (on
// PostgreSQL, locked until the unit ends) and updates it.
func (s *Service) endpointHealth(ctx context.Context, tx till.Tx, u *recordUnit, scope till.Scope, id string, d *till.WebhookDelivery, now time.Time) error {
	if d.Succeeded {
		healthy := u.healthy[scope]
		if healthy == nil {
			eps, err := tx.EnabledWebhookEndpoints(ctx, scope)
			if err != nil {
				return err
			}
			healthy = make(map[string]bool, len(eps))
			for _, ep := range eps {
				if ep.Enabled && !ep.Deleted && ep.FailingSince == nil {
					healthy[ep.ID] = true
				}
			}
			u.healthy[scope] = healthy
		}
		if healthy[id] {
			return nil
		}
	}
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
	// What this unit read of the scope's endpoints is stale now.
	delete(u.healthy, scope)
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
