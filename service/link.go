package service

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// Payment links (SPEC §6): a payment of kind link waits, pending, for its
// payer on the hosted page at its url. The payer's card is vaulted when
// they confirm, on a customer found by email or created, and charged
// on-session; a declined attempt returns the link to pending (the card is
// detached again) so the payer can try another card.

// Lifetimes of payments that wait for someone.
const (
	// LinkLifetime is how long a payment link waits without expiresAt.
	LinkLifetime = 24 * time.Hour
	// MaxLinkLifetime is the longest expiresAt allowed ahead.
	MaxLinkLifetime = 30 * 24 * time.Hour
	// ActionLifetime is how long an off-session charge that requires
	// action waits for its payer before it expires.
	ActionLifetime = 24 * time.Hour
)

// taskPaymentExpiry expires a link or a payment that requires action at its
// expiresAt.
const taskPaymentExpiry = "payment.expire"

// PaymentLinkParams is a request to create a payment link.
type PaymentLinkParams struct {
	Amount      *int64
	Currency    string
	Description string
	CustomerID  string
	ExpiresAt   *time.Time
	SuccessURL  string
	// FailureURL is where the hosted page sends a payer whose card was
	// declined; empty, the page lets them try again.
	FailureURL  string
	Metadata    till.Metadata
	TaxBehavior string
	LineItems   []LineItemParams
}

// linkInput is a validated link request.
type linkInput struct {
	order
	customerID string
	expiresAt  time.Time
	successURL string
	failureURL string
}

// validateLink checks a link request at time now (the account's clock).
func validateLink(in PaymentLinkParams, now time.Time) (*linkInput, error) {
	var v till.Validator
	out := &linkInput{expiresAt: now.Add(LinkLifetime)}
	validateOrder(&v, orderParams{amount: in.Amount, currency: in.Currency, description: in.Description, metadata: in.Metadata,
		taxBehavior: in.TaxBehavior, lineItems: in.LineItems}, &out.order)
	out.customerID = strings.TrimSpace(in.CustomerID)
	if len(out.customerID) > 255 {
		v.Add("customerId", "customerId is too long")
	}
	if in.ExpiresAt != nil {
		at := in.ExpiresAt.UTC()
		switch {
		case !at.After(now):
			v.Add("expiresAt", "expiresAt must be in the future")
		case at.After(now.Add(MaxLinkLifetime)):
			v.Add("expiresAt", "expiresAt can be at most 30 days ahead")
		}
		out.expiresAt = at
	}
	out.successURL = validateReturnURL(&v, "successUrl", in.SuccessURL)
	out.failureURL = validateReturnURL(&v, "failureUrl", in.FailureURL)
	return out, v.Err()
}

// validateReturnURL checks a URL the hosted page sends the payer to,
// recording problems under field; empty is no URL.
func validateReturnURL(v *till.Validator, field, raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	switch {
	case len(raw) > 2048:
		v.Add(field, "%s can be at most 2048 characters", field)
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil:
		v.Add(field, "%s must be an absolute http or https URL without credentials, such as https://shop.example/thanks", field)
	}
	return raw
}

// CreatePaymentLink creates a payment of kind link, pending, with the url of
// its hosted page, expiring at expiresAt (24 hours by default). Its tax is
// that of the customer's country when customerId is given, otherwise of the
// account's origin country; the hosted page computes it again for the
// country the payer chooses.
func (s *Service) CreatePaymentLink(ctx context.Context, c *Caller, idem *Idem, in PaymentLinkParams) (*till.Payment, error) {
	req, err := validateLink(in, s.now(c.Account, c.Livemode))
	if err != nil {
		return nil, err
	}
	return s.createLink(ctx, c, idem, OpLinkCreate, req, linkOptions{capture: true, sendReceipt: true})
}

// linkOptions are the choices a link's creator has beyond PaymentLinkParams
// (CreatePurchase makes them).
type linkOptions struct {
	// capture false places a hold when the link is paid (authorize only).
	capture bool
	// sendReceipt false sends no receipt email when the link is paid.
	sendReceipt bool
	// client, when the request names no customer, is the customer the link
	// is for: the account's customer with its email, or it created.
	client *till.Customer
}

// createLink records a validated link request in one unit of work, with
// the Idempotency-Key of operation op.
func (s *Service) createLink(ctx context.Context, c *Caller, idem *Idem, op Operation, req *linkInput, opt linkOptions) (*till.Payment, error) {
	var out *till.Payment
	// The stored response holds the link's url, a bearer of the right to
	// pay: sealed like a secret.
	err := s.idempotent(ctx, c, sealed(idem), op, &out, func() error {
		scope := c.Scope()
		var a *till.Account
		cust := &till.Customer{}
		newClient := false
		err := s.store.View(ctx, func(tx till.Tx) error {
			var err error
			if a, err = tx.Account(ctx, scope.AccountID); err != nil {
				return err
			}
			if err := s.checkProcessor(ctx, a, scope.Livemode); err != nil {
				return err
			}
			proc, err := s.proc(ctx, a, scope.Livemode)
			if err != nil {
				return err
			}
			if _, keeps := proc.(till.MethodKeeper); keeps {
				return till.Conflict("A payment link's page takes the card itself, and this account's processor (%s) takes no card numbers from Till; use the processor's own hosted page for this mode.", proc.Name())
			}
			if req.customerID != "" {
				cust, err = tx.Customer(ctx, scope, req.customerID)
				if err != nil || cust.Deleted {
					return paramNotFound("customer", req.customerID, "customerId")
				}
			} else if opt.client != nil {
				cust, newClient, err = s.clientCustomer(ctx, tx, scope, opt.client)
			}
			return err
		})
		if err != nil {
			return err
		}
		now := s.now(a, scope.Livemode)
		behavior := req.behavior
		if behavior == "" {
			behavior = a.DefaultTaxBehavior
		}
		token := till.RandomString(32)
		expires := req.expiresAt
		p := &till.Payment{
			ID: s.ids.NewID(till.PrefixPayment), AccountID: scope.AccountID, Livemode: scope.Livemode,
			CustomerID: cust.ID, Kind: till.KindLink, Currency: req.currency.Code, Amount: req.amount,
			Description: req.description, Metadata: req.metadata, TaxBehavior: behavior, LineItems: req.lines,
			Capture: opt.capture, Active: true, SendReceipt: opt.sendReceipt, LinkToken: token, URL: s.baseURL + "/pay/" + token,
			SuccessURL: req.successURL, FailureURL: req.failureURL, ExpiresAt: &expires, Version: 1, CreatedAt: now, UpdatedAt: now,
		}
		if err := computeTax(a, cust, p, now); err != nil {
			return err
		}
		if p.AmountTotal > till.MaxAmount {
			return till.ParamError(till.EAmountTooLarge, "amount", "the total with tax can be at most %d", till.MaxAmount)
		}
		if err := p.Start(till.StatusPending, now); err != nil {
			return err
		}
		return s.store.Update(ctx, func(tx till.Tx) error {
			if newClient {
				cust.CreatedAt, cust.UpdatedAt = now, now
				if err := tx.CreateCustomer(ctx, cust); err != nil {
					return err
				}
				if err := s.emit(ctx, tx, scope, till.EventCustomerCreated, "customer", cust.ID, cust.Version, cust, now); err != nil {
					return err
				}
			}
			if err := tx.CreatePayment(ctx, p); err != nil {
				return err
			}
			if err := s.scheduleExpiry(ctx, tx, a, p); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, scope, till.EventPaymentCreated, "payment", p.ID, p.Version, p, now); err != nil {
				return err
			}
			out = p
			return s.remember(ctx, tx, c, idem, op, p, p.ID)
		})
	})
	return out, err
}

// scheduleExpiry queues the expiry of p at its expiresAt, in the account's
// clock.
func (s *Service) scheduleExpiry(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment) error {
	return s.queueAt(ctx, tx, a, p, taskPaymentExpiry, *p.ExpiresAt)
}

// CancelPayment cancels a payment nobody is paying: a pending link, a
// scheduled charge, a planned retry or a payment that requires action
// (SPEC §5). Canceling a canceled payment changes nothing and returns it.
// linkOnly is POST /v1/payment-links/{id}/cancel, which refuses charges.
func (s *Service) CancelPayment(ctx context.Context, c *Caller, idem *Idem, id string, linkOnly bool) (*till.Payment, error) {
	op := OpPaymentCancel
	if linkOnly {
		op = OpLinkCancel
	}
	var out *till.Payment
	err := s.idempotent(ctx, c, idem, op, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			a, err := tx.Account(ctx, c.Account.ID)
			if err != nil {
				return err
			}
			p, err := tx.Payment(ctx, c.Scope(), id)
			if err != nil {
				return err
			}
			if linkOnly && p.Kind != till.KindLink {
				return till.Conflict("Payment %s is a charge, not a payment link; a scheduled charge or a planned retry is canceled with POST /v1/payments/%s/cancel.", p.ID, p.ID)
			}
			switch p.Status {
			case till.StatusCanceled:
				out = p
				return s.remember(ctx, tx, c, idem, op, p, p.ID)
			case till.StatusPending, till.StatusScheduled, till.StatusRetryScheduled, till.StatusRequiresAction:
			case till.StatusAuthorized:
				return till.Conflict("Payment %s is a hold; release it with POST /v1/payments/%s/release.", p.ID, p.ID)
			default:
				if linkOnly {
					return till.Conflict("This payment link is %s; only a link that nobody has paid or is paying can be canceled.", p.Status)
				}
				return till.Conflict("This payment is %s; only a pending link, a scheduled charge, a planned retry or a payment that requires action can be canceled.", p.Status)
			}
			from := p.Version
			now := s.now(a, c.Livemode)
			if err := s.endWaiting(ctx, tx, p, till.StatusCanceled, now); err != nil {
				return err
			}
			if err := tx.UpdatePayment(ctx, p, from); err != nil {
				return err
			}
			out = p
			return s.remember(ctx, tx, c, idem, op, p, p.ID)
		})
	})
	return out, err
}

// endWaiting moves a waiting payment (pending, scheduled, retry_scheduled
// or requires_action) to canceled or expired: its planned runs and expiry
// are dropped, and a link's card saved for an attempt that did not succeed
// is detached.
func (s *Service) endWaiting(ctx context.Context, tx till.Tx, p *till.Payment, to till.Status, now time.Time) error {
	return s.movePayment(ctx, tx, scopeOf(p), p, to, now, func() error {
		p.NextAction = nil
		for _, kind := range []string{taskScheduled, taskPaymentExpiry} {
			if err := tx.DeleteTasks(ctx, kind, p.ID); err != nil {
				return err
			}
		}
		return s.dropLinkMethod(ctx, tx, p, now)
	})
}

// dropLinkMethod detaches the card a link's payer saved for an attempt that
// did not succeed: a card is kept only for a paid link. A customer whose
// default it was has none again. A saved method the merchant charged the
// link with off-session (ChargeLink) stays attached: the link only lets it
// go.
func (s *Service) dropLinkMethod(ctx context.Context, tx till.Tx, p *till.Payment, now time.Time) error {
	if p.Kind != till.KindLink || p.PaymentMethodID == "" {
		return nil
	}
	if att := lastCharge(p); att != nil && att.OffSession {
		p.PaymentMethodID = ""
		return nil
	}
	scope := scopeOf(p)
	pm, err := tx.PaymentMethod(ctx, scope, p.PaymentMethodID)
	if err != nil {
		return err
	}
	p.PaymentMethodID = ""
	if pm.DetachedAt != nil {
		return nil
	}
	return s.detachMethod(ctx, tx, scope, pm, now)
}

// reopenLink returns a link whose attempt failed to pending, so its payer
// can try again (SPEC §5); the failure stays on the payment for the page to
// show until the next attempt.
func (s *Service) reopenLink(ctx context.Context, tx till.Tx, p *till.Payment, now time.Time) error {
	return s.movePayment(ctx, tx, scopeOf(p), p, till.StatusPending, now, func() error {
		p.NextAction = nil
		return s.dropLinkMethod(ctx, tx, p, now)
	})
}

// expirePayment ends a link or a payment that requires action whose
// expiresAt has come. A link being charged right now is looked at again a
// minute later: its attempt decides first.
func (s *Service) expirePayment(ctx context.Context, t *till.Task) error {
	scope := till.Scope{AccountID: t.AccountID, Livemode: t.Livemode}
	return s.store.Update(ctx, func(tx till.Tx) error {
		if err := tx.DeleteTask(ctx, t.ID, ""); err != nil {
			return err
		}
		a, err := tx.Account(ctx, scope.AccountID)
		if err != nil {
			return err
		}
		p, err := tx.Payment(ctx, scope, t.Ref)
		if err != nil {
			return err
		}
		now := s.now(a, scope.Livemode)
		switch {
		case p.ExpiresAt == nil:
			return nil
		case p.Status == till.StatusProcessing && p.Kind == till.KindLink:
			return tx.CreateTask(ctx, &till.Task{ID: s.ids.NewID(till.PrefixTask), Kind: taskPaymentExpiry,
				AccountID: p.AccountID, Livemode: p.Livemode, Ref: p.ID, RunAt: s.clock.Now().Add(time.Minute), CreatedAt: s.clock.Now()})
		case p.Status != till.StatusPending && p.Status != till.StatusRequiresAction:
			return nil
		case now.Before(*p.ExpiresAt):
			return s.scheduleExpiry(ctx, tx, a, p)
		}
		from := p.Version
		if err := s.endWaiting(ctx, tx, p, till.StatusExpired, now); err != nil {
			return err
		}
		return tx.UpdatePayment(ctx, p, from)
	})
}
