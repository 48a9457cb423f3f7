package service

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/tillpay/till"
)

// taskRenew charges a subscription's renewal when it falls due: Ref is the
// subscription, Ref2 the renewal's number.
const taskRenew = "subscription.renew"

// SubscriptionParams is the body of POST /v1/subscriptions.
type SubscriptionParams struct {
	CustomerID      string
	PaymentMethodID string
	Currency        string
	Items           []LineItemParams
	Description     string
	Metadata        till.Metadata
	Interval        string
	// IntervalCount is the number of intervals between payments; nil is 1.
	IntervalCount *int64
	// StartDate is the first payment date on the account's clock; nil is
	// now.
	StartDate *time.Time
}

// SubscriptionUpdateParams changes a subscription; nil fields stay.
type SubscriptionUpdateParams struct {
	// PaymentMethodID charges the renewals from now on with another of the
	// customer's methods ("" is the customer's default).
	PaymentMethodID *string
	Metadata        till.Metadata
}

// SubscriptionView is a subscription with the status its current payment
// gives it.
type SubscriptionView struct {
	Subscription *till.Subscription
	Status       till.SubscriptionStatus
}

// subscriptionView reads a subscription's current payment for its status.
func subscriptionView(ctx context.Context, tx till.Tx, sub *till.Subscription) (*SubscriptionView, error) {
	var ps till.Status
	if sub.CurrentPaymentID != "" {
		p, err := tx.Payment(ctx, till.Scope{AccountID: sub.AccountID, Livemode: sub.Livemode}, sub.CurrentPaymentID)
		if err != nil {
			return nil, err
		}
		ps = p.Status
	}
	return &SubscriptionView{Subscription: sub, Status: till.SubscriptionStatusOf(sub, ps)}, nil
}

// readSubscription reads a subscription the caller may see.
func readSubscription(ctx context.Context, tx till.Tx, c *Caller, id string) (*till.Subscription, error) {
	sub, err := tx.Subscription(ctx, c.Scope(), id)
	if err == nil && !c.sees(sub.CustomerID) {
		err = till.NotFound("subscription", id)
	}
	return sub, err
}

// subscriptionMethod checks that pmID ("" for the default) is a method of
// customer cust that can be charged.
func subscriptionMethod(ctx context.Context, tx till.Tx, scope till.Scope, cust *till.Customer, pmID string) error {
	if pmID == "" {
		return nil
	}
	pm, err := tx.PaymentMethod(ctx, scope, pmID)
	if err != nil || pm.DetachedAt != nil || pm.CustomerID != cust.ID {
		return paramNotFound("payment method", pmID, "paymentMethodId")
	}
	return nil
}

// CreateSubscription starts charging a customer the items every
// intervalCount intervals from startDate (on the account's clock): each
// renewal is an off-session charge made when it falls due, retried on a
// soft decline by the account's retry policy (SPEC §11). It returns
// resource_missing for an unknown customer or payment method.
func (s *Service) CreateSubscription(ctx context.Context, c *Caller, idem *Idem, in SubscriptionParams) (*SubscriptionView, error) {
	var v till.Validator
	custID, cur, desc := validateSale(&v, in.CustomerID, in.Currency, in.Description, in.Metadata)
	items, amount := validateLines(&v, "items", in.Items)
	interval := till.Interval(in.Interval)
	if !interval.Valid() {
		v.Add("interval", "interval must be day, week, month or year")
	}
	count := int64(1)
	if in.IntervalCount != nil {
		count = *in.IntervalCount
		if count < 1 || count > 365 {
			v.Add("intervalCount", "intervalCount must be between 1 and 365")
		}
	}
	now := s.now(c.Account, c.Livemode)
	anchor := now
	if in.StartDate != nil {
		anchor = in.StartDate.UTC()
		if anchor.Before(now.Add(-time.Minute)) || anchor.After(now.AddDate(2, 0, 0)) {
			v.Add("startDate", "startDate must be from now to two years ahead (omit it to start now)")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	anchor = anchor.Truncate(time.Microsecond)
	var out *SubscriptionView
	err := s.idempotent(ctx, c, idem, OpSubscriptionMake, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			cust, err := saleCustomer(ctx, tx, c, custID)
			if err != nil {
				return err
			}
			if err := subscriptionMethod(ctx, tx, c.Scope(), cust, in.PaymentMethodID); err != nil {
				return err
			}
			a, err := tx.Account(ctx, c.Account.ID)
			if err != nil {
				return err
			}
			sub := &till.Subscription{ID: s.ids.NewID(till.PrefixSubscription), AccountID: a.ID, Livemode: c.Livemode, CustomerID: cust.ID,
				PaymentMethodID: in.PaymentMethodID, Currency: cur.Code, Items: items, Amount: amount, Description: desc,
				Metadata: till.MergeMetadata(nil, in.Metadata), Interval: interval, IntervalCount: int(count), Anchor: anchor,
				NextPaymentDate: anchor, PaymentIDs: []string{}, Version: 1, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateSubscription(ctx, sub); err != nil {
				return err
			}
			if err := s.queueRenewal(ctx, tx, a, sub); err != nil {
				return err
			}
			out = &SubscriptionView{Subscription: sub, Status: till.SubscriptionActive}
			return s.remember(ctx, tx, c, idem, OpSubscriptionMake, out, sub.ID)
		})
	})
	return out, err
}

// queueRenewal queues the charge of sub's next renewal at its
// NextPaymentDate, on the account's clock.
func (s *Service) queueRenewal(ctx context.Context, tx till.Tx, a *till.Account, sub *till.Subscription) error {
	at := sub.NextPaymentDate
	if !sub.Livemode {
		at = at.Add(-a.TestClockOffset)
	}
	return tx.CreateTask(ctx, &till.Task{ID: s.ids.NewID(till.PrefixTask), Kind: taskRenew, AccountID: sub.AccountID, Livemode: sub.Livemode,
		Ref: sub.ID, Ref2: strconv.Itoa(sub.Renewals), RunAt: at, CreatedAt: s.clock.Now()})
}

// renew runs renewal t.Ref2 of subscription t.Ref when it falls due. The
// renewal's charge is the scheduled one made when the renewal before it
// ran (NextPaymentID), which the scheduler charges by itself; without one
// (the first renewal, or a clock that jumped past its date) it is charged
// now. Then the next renewal is made a scheduled charge at its date — so
// it can be seen, moved (payment_date) or paused (active) before it runs —
// and, in one unit of work, the subscription records both and queues the
// next run. Every charge is made under an idempotency key of its own (the
// subscription and the renewal's number), so a task run twice makes each
// payment once. A declined renewal follows the retry policy; the next is
// made all the same.
func (s *Service) renew(ctx context.Context, t *till.Task) error {
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	var a *till.Account
	var sub *till.Subscription
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		if a, err = tx.Account(ctx, scope.AccountID); err != nil {
			return err
		}
		sub, err = tx.Subscription(ctx, scope, t.Ref)
		return err
	}); err != nil {
		return err
	}
	if sub.CanceledAt != nil || strconv.Itoa(sub.Renewals) != t.Ref2 {
		return s.store.Update(ctx, func(tx till.Tx) error { return tx.DeleteTask(ctx, t.ID, "") })
	}
	caller := &Caller{Account: a, Livemode: scope.Livemode}
	n := sub.Renewals
	curID := sub.NextPaymentID
	if curID == "" {
		p, err := s.renewalCharge(ctx, caller, a, sub, n, nil)
		if p == nil {
			return err
		}
		curID = p.ID
	}
	nextDate := sub.Interval.Renewal(sub.Anchor, sub.IntervalCount, n+1)
	nextID := ""
	if nextDate.After(s.now(a, scope.Livemode).Add(time.Minute)) {
		p, err := s.renewalCharge(ctx, caller, a, sub, n+1, &nextDate)
		if p == nil {
			return err
		}
		nextID = p.ID
	}
	return s.store.Update(ctx, func(tx till.Tx) error {
		cur, err := tx.Subscription(ctx, scope, sub.ID)
		if err != nil {
			return err
		}
		if strconv.Itoa(cur.Renewals) != t.Ref2 {
			return tx.DeleteTask(ctx, t.ID, "")
		}
		a, err := tx.Account(ctx, scope.AccountID)
		if err != nil {
			return err
		}
		from := cur.Version
		cur.CurrentPaymentID, cur.NextPaymentID = curID, nextID
		cur.PaymentIDs = append(cur.PaymentIDs, curID)
		cur.Renewals++
		cur.NextPaymentDate = nextDate
		cur.UpdatedAt = s.now(a, scope.Livemode)
		cur.Version++
		if err := tx.UpdateSubscription(ctx, cur, from); err != nil {
			return err
		}
		if err := tx.DeleteTask(ctx, t.ID, ""); err != nil {
			return err
		}
		if cur.CanceledAt != nil {
			return nil
		}
		return s.queueRenewal(ctx, tx, a, cur)
	})
}

// renewalCharge charges renewal n of sub (now, or scheduled at at), under
// the renewal's own idempotency key. A declined charge is returned with
// its error, which is the decline's: the payment exists. A charge that
// cannot be made (the customer or its method gone) returns no payment and
// the error; the task retries with backoff, logged.
func (s *Service) renewalCharge(ctx context.Context, c *Caller, a *till.Account, sub *till.Subscription, n int, at *time.Time) (*till.Payment, error) {
	lines := make([]LineItemParams, len(sub.Items))
	for i, it := range sub.Items {
		lines[i] = LineItemParams{Description: it.Description, Quantity: &it.Quantity, UnitAmount: &it.UnitAmount}
	}
	desc := sub.Description
	if desc == "" {
		desc = "Subscription " + sub.ID
	}
	amount := sub.Amount
	req, err := validateCharge(ChargeParams{CustomerID: sub.CustomerID, PaymentMethodID: sub.PaymentMethodID, Amount: &amount,
		Currency: sub.Currency, Description: desc, LineItems: lines, Metadata: sub.Metadata, ScheduledAt: at}, s.now(a, sub.Livemode))
	if err != nil {
		return nil, err
	}
	req.subscriptionID = sub.ID
	key := sub.ID + ":" + strconv.Itoa(n)
	p, err := s.charge(ctx, c, &Idem{API: "subscription", Key: key, Fingerprint: key}, req)
	if p == nil {
		if err == nil {
			err = errors.New("service: renewal made no payment")
		}
		s.log.Warn("subscription renewal refused", "subscription", sub.ID, "renewal", n, "err", err)
	}
	return p, err
}

// Subscription returns a subscription of the caller (a customer session:
// its own).
func (s *Service) Subscription(ctx context.Context, c *Caller, id string) (*SubscriptionView, error) {
	var out *SubscriptionView
	err := s.store.View(ctx, func(tx till.Tx) error {
		sub, err := readSubscription(ctx, tx, c, id)
		if err != nil {
			return err
		}
		out, err = subscriptionView(ctx, tx, sub)
		return err
	})
	return out, err
}

// ListSubscriptions lists the caller's subscriptions, newest first (a
// customer session: its own).
func (s *Service) ListSubscriptions(ctx context.Context, c *Caller, f till.SubscriptionFilter) ([]*SubscriptionView, bool, error) {
	if c.CustomerID != "" {
		if f.CustomerID != "" && f.CustomerID != c.CustomerID {
			return nil, false, nil
		}
		f.CustomerID = c.CustomerID
	}
	var out []*SubscriptionView
	var more bool
	err := s.store.View(ctx, func(tx till.Tx) error {
		subs, m, err := tx.ListSubscriptions(ctx, c.Scope(), f)
		if err != nil {
			return err
		}
		out, more = make([]*SubscriptionView, 0, len(subs)), m
		for _, sub := range subs {
			sv, err := subscriptionView(ctx, tx, sub)
			if err != nil {
				return err
			}
			out = append(out, sv)
		}
		return nil
	})
	return out, more, err
}

// UpdateSubscription changes the method that pays the renewals from now
// on, and the metadata. A canceled subscription is a state_conflict.
func (s *Service) UpdateSubscription(ctx context.Context, c *Caller, idem *Idem, id string, in SubscriptionUpdateParams) (*SubscriptionView, error) {
	var v till.Validator
	till.ValidateMetadata(&v, "metadata", in.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *SubscriptionView
	err := s.idempotent(ctx, c, idem, OpSubscriptionEdit, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			sub, err := readSubscription(ctx, tx, c, id)
			if err != nil {
				return err
			}
			if sub.CanceledAt != nil {
				return till.Conflict("Subscription %s is canceled.", sub.ID)
			}
			from := sub.Version
			if in.PaymentMethodID != nil {
				cust, err := tx.Customer(ctx, c.Scope(), sub.CustomerID)
				if err != nil {
					return err
				}
				if err := subscriptionMethod(ctx, tx, c.Scope(), cust, *in.PaymentMethodID); err != nil {
					return err
				}
				sub.PaymentMethodID = *in.PaymentMethodID
				if err := s.rechargeNext(ctx, tx, c.Scope(), sub, cust); err != nil {
					return err
				}
			}
			sub.Metadata = till.MergeMetadata(sub.Metadata, in.Metadata)
			sub.UpdatedAt = s.now(c.Account, c.Livemode)
			sub.Version++
			if err := tx.UpdateSubscription(ctx, sub, from); err != nil {
				return err
			}
			if out, err = subscriptionView(ctx, tx, sub); err != nil {
				return err
			}
			return s.remember(ctx, tx, c, idem, OpSubscriptionEdit, out, sub.ID)
		})
	})
	return out, err
}

// CancelSubscription stops the renewals: the next is not charged, and a
// renewal still waiting (scheduled or planned for a retry) is canceled.
// Canceling a canceled subscription changes nothing.
func (s *Service) CancelSubscription(ctx context.Context, c *Caller, idem *Idem, id string) (*SubscriptionView, error) {
	var out *SubscriptionView
	err := s.idempotent(ctx, c, idem, OpSubscriptionStop, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			sub, err := readSubscription(ctx, tx, c, id)
			if err != nil {
				return err
			}
			if sub.CanceledAt == nil {
				from := sub.Version
				now := s.now(c.Account, c.Livemode)
				sub.CanceledAt, sub.UpdatedAt = &now, now
				sub.Version++
				if err := tx.UpdateSubscription(ctx, sub, from); err != nil {
					return err
				}
				if err := tx.DeleteTasks(ctx, taskRenew, sub.ID); err != nil {
					return err
				}
				for _, id := range []string{sub.CurrentPaymentID, sub.NextPaymentID} {
					if err := s.cancelWaitingRenewal(ctx, tx, c.Scope(), id, now); err != nil {
						return err
					}
				}
			}
			if out, err = subscriptionView(ctx, tx, sub); err != nil {
				return err
			}
			return s.remember(ctx, tx, c, idem, OpSubscriptionStop, out, sub.ID)
		})
	})
	return out, err
}

// cancelWaitingRenewal cancels a renewal (payment id, "" for none) of a
// canceled subscription when it waits for a retry or its scheduled time.
func (s *Service) cancelWaitingRenewal(ctx context.Context, tx till.Tx, scope till.Scope, id string, now time.Time) error {
	if id == "" {
		return nil
	}
	p, err := tx.Payment(ctx, scope, id)
	if err != nil {
		return err
	}
	if p.Status != till.StatusRetryScheduled && p.Status != till.StatusScheduled {
		return nil
	}
	from := p.Version
	if err := s.movePayment(ctx, tx, scope, p, till.StatusCanceled, now, func() error {
		return tx.DeleteTasks(ctx, taskScheduled, p.ID)
	}); err != nil {
		return err
	}
	return tx.UpdatePayment(ctx, p, from)
}

// rechargeNext moves the scheduled charge of sub's next renewal, if it has
// not run, to sub's payment method (the customer's default for "").
func (s *Service) rechargeNext(ctx context.Context, tx till.Tx, scope till.Scope, sub *till.Subscription, cust *till.Customer) error {
	if sub.NextPaymentID == "" {
		return nil
	}
	p, err := tx.Payment(ctx, scope, sub.NextPaymentID)
	if err != nil || p.Status != till.StatusScheduled {
		return err
	}
	pmID := sub.PaymentMethodID
	if pmID == "" {
		pmID = cust.DefaultPaymentMethodID
	}
	if pmID == "" || pmID == p.PaymentMethodID {
		return nil
	}
	pm, err := tx.PaymentMethod(ctx, scope, pmID)
	if err != nil {
		return err
	}
	from := p.Version
	p.PaymentMethodID, p.Provider = pm.ID, pm.Provider
	p.UpdatedAt = sub.UpdatedAt
	p.Version++
	return tx.UpdatePayment(ctx, p, from)
}
