package service

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tillpay/till"
)

// maxOrdersPaid bounds the orders one payment pays.
const maxOrdersPaid = 50

// OrderParams is the body of POST /v1/orders.
type OrderParams struct {
	CustomerID  string
	Currency    string
	Lines       []LineItemParams
	Description string
	Metadata    till.Metadata
}

// OrderView is an order with the status its payment gives it.
type OrderView struct {
	Order  *till.Order
	Status till.OrderStatus
}

// PayOrdersParams is the body of POST /v1/orders/pay.
type PayOrdersParams struct {
	OrderIDs        []string
	PaymentMethodID string
	Description     string
	Metadata        till.Metadata
}

// validateLines checks an order's or a subscription's lines (at least one)
// and returns them with their sum.
func validateLines(v *till.Validator, field string, in []LineItemParams) ([]till.OrderLine, int64) {
	if len(in) == 0 {
		v.Add(field, "%s needs at least one line {description, quantity, unitAmount}", field)
		return nil, 0
	}
	for i, l := range in {
		if l.TaxCode != "" {
			v.Add(indexed(field, i)+".taxCode", "taxCode is not taken on %s; the account's rate applies", field)
		}
	}
	items := validateLineItems(v, in, 0)
	lines := make([]till.OrderLine, len(items))
	var sum int64
	for i, it := range items {
		lines[i] = till.OrderLine{Description: it.Description, Quantity: it.Quantity, UnitAmount: it.UnitAmount}
		sum += it.Amount
	}
	if sum > till.MaxAmount {
		v.AddCode(till.EAmountTooLarge, field, "the lines sum to %d; at most %d", sum, till.MaxAmount)
	} else if sum < 1 && v.Err() == nil {
		v.AddCode(till.EAmountTooSmall, field, "the lines sum to 0; at least 1 (in the currency's minor unit)")
	}
	return lines, sum
}

// validateSale checks the fields an order and a subscription share.
func validateSale(v *till.Validator, customerID, currency, description string, metadata till.Metadata) (string, till.Currency, string) {
	customerID = strings.TrimSpace(customerID)
	if customerID == "" {
		v.Add("customerId", "customerId is required")
	}
	var cur till.Currency
	if strings.TrimSpace(currency) == "" {
		v.Add("currency", "currency is required (an ISO 4217 code such as EUR)")
	} else if c, ok := till.LookupCurrency(currency); !ok {
		v.AddCode(till.ECurrencyUnsupported, "currency", "currency %q is not a supported ISO 4217 currency", currency)
	} else {
		cur = c
	}
	description = strings.TrimSpace(description)
	if utf8.RuneCountInString(description) > 1000 {
		v.Add("description", "description can be at most 1000 characters")
	}
	till.ValidateMetadata(v, "metadata", metadata)
	return customerID, cur, description
}

// saleCustomer reads the customer of a new order or subscription: one of
// the caller's, not deleted (a customer session: its own).
func saleCustomer(ctx context.Context, tx till.Tx, c *Caller, id string) (*till.Customer, error) {
	cust, err := tx.Customer(ctx, c.Scope(), id)
	if err == nil && (cust.Deleted || !c.sees(cust.ID)) {
		err = till.NotFound("customer", id)
	}
	if e, ok := till.AsError(err); ok && e.Code == till.ENotFound {
		return nil, paramNotFound("customer", id, "customerId")
	}
	return cust, err
}

// CreateOrder records an order of a customer: lines in one currency, open
// until a payment pays it (PayOrders). It returns resource_missing (param
// customerId) for an unknown customer.
func (s *Service) CreateOrder(ctx context.Context, c *Caller, idem *Idem, in OrderParams) (*OrderView, error) {
	var v till.Validator
	custID, cur, desc := validateSale(&v, in.CustomerID, in.Currency, in.Description, in.Metadata)
	lines, amount := validateLines(&v, "lines", in.Lines)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *OrderView
	err := s.idempotent(ctx, c, idem, OpOrderCreate, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			cust, err := saleCustomer(ctx, tx, c, custID)
			if err != nil {
				return err
			}
			now := s.now(c.Account, c.Livemode)
			o := &till.Order{ID: s.ids.NewID(till.PrefixOrder), AccountID: c.Account.ID, Livemode: c.Livemode, CustomerID: cust.ID,
				Currency: cur.Code, Lines: lines, Amount: amount, Description: desc, Metadata: till.MergeMetadata(nil, in.Metadata),
				Version: 1, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateOrder(ctx, o); err != nil {
				return err
			}
			out = &OrderView{Order: o, Status: till.OrderOpen}
			return s.remember(ctx, tx, c, idem, OpOrderCreate, out, o.ID)
		})
	})
	return out, err
}

// orderView reads an order's payment for its status.
func orderView(ctx context.Context, tx till.Tx, o *till.Order) (*OrderView, error) {
	var ps till.Status
	if o.PaymentID != "" {
		p, err := tx.Payment(ctx, till.Scope{AccountID: o.AccountID, Livemode: o.Livemode}, o.PaymentID)
		if err != nil {
			return nil, err
		}
		ps = p.Status
	}
	return &OrderView{Order: o, Status: till.OrderStatusOf(o, ps)}, nil
}

// readOrder reads an order the caller may see.
func readOrder(ctx context.Context, tx till.Tx, c *Caller, id string) (*till.Order, error) {
	o, err := tx.Order(ctx, c.Scope(), id)
	if err == nil && !c.sees(o.CustomerID) {
		err = till.NotFound("order", id)
	}
	return o, err
}

// Order returns an order of the caller (a customer session: its own).
func (s *Service) Order(ctx context.Context, c *Caller, id string) (*OrderView, error) {
	var out *OrderView
	err := s.store.View(ctx, func(tx till.Tx) error {
		o, err := readOrder(ctx, tx, c, id)
		if err != nil {
			return err
		}
		out, err = orderView(ctx, tx, o)
		return err
	})
	return out, err
}

// ListOrders lists the caller's orders, newest first (a customer session:
// its own).
func (s *Service) ListOrders(ctx context.Context, c *Caller, f till.OrderFilter) ([]*OrderView, bool, error) {
	if c.CustomerID != "" {
		if f.CustomerID != "" && f.CustomerID != c.CustomerID {
			return nil, false, nil
		}
		f.CustomerID = c.CustomerID
	}
	var out []*OrderView
	var more bool
	err := s.store.View(ctx, func(tx till.Tx) error {
		orders, m, err := tx.ListOrders(ctx, c.Scope(), f)
		if err != nil {
			return err
		}
		out, more = make([]*OrderView, 0, len(orders)), m
		for _, o := range orders {
			ov, err := orderView(ctx, tx, o)
			if err != nil {
				return err
			}
			out = append(out, ov)
		}
		return nil
	})
	return out, more, err
}

// CancelOrder cancels an open order; canceling a canceled order changes
// nothing. An order paid or being paid is a state_conflict.
func (s *Service) CancelOrder(ctx context.Context, c *Caller, idem *Idem, id string) (*OrderView, error) {
	var out *OrderView
	err := s.idempotent(ctx, c, idem, OpOrderCancel, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			o, err := readOrder(ctx, tx, c, id)
			if err != nil {
				return err
			}
			ov, err := orderView(ctx, tx, o)
			if err != nil {
				return err
			}
			switch ov.Status {
			case till.OrderOpen:
				from := o.Version
				now := s.now(c.Account, c.Livemode)
				o.CanceledAt, o.UpdatedAt = &now, now
				o.Version++
				if err := tx.UpdateOrder(ctx, o, from); err != nil {
					return err
				}
				ov = &OrderView{Order: o, Status: till.OrderCanceled}
			case till.OrderCanceled:
			default:
				return till.Conflict("Order %s is %s; only an open order can be canceled.", o.ID, ov.Status)
			}
			out = ov
			return s.remember(ctx, tx, c, idem, OpOrderCancel, out, o.ID)
		})
	})
	return out, err
}

// PayOrders charges the customer's saved method (off-session, as Charge
// does, with its guarantees) once for one or several open orders of the
// same customer and currency: the payment's line items are the orders'
// lines, its orderIds the orders. The orders are taken by the payment in
// the unit of work that records it, so two payments never pay one order:
// an order paid, being paid or canceled is a state_conflict, and an
// unknown order resource_missing (param orders). A customer session pays
// only its own orders.
func (s *Service) PayOrders(ctx context.Context, c *Caller, idem *Idem, in PayOrdersParams) (*till.Payment, error) {
	var v till.Validator
	seen := map[string]bool{}
	switch {
	case len(in.OrderIDs) == 0:
		v.Add("orders", "orders is required: the ids of the orders to pay")
	case len(in.OrderIDs) > maxOrdersPaid:
		v.Add("orders", "at most %d orders in one payment", maxOrdersPaid)
	}
	for i, id := range in.OrderIDs {
		if strings.TrimSpace(id) == "" || seen[id] {
			v.Add(indexed("orders", i), "each order once, by id")
		}
		seen[id] = true
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var orders []*till.Order
	err := s.store.View(ctx, func(tx till.Tx) error {
		for _, id := range in.OrderIDs {
			o, err := readOrder(ctx, tx, c, id)
			if isNotFound(err) {
				return paramNotFound("order", id, "orders")
			}
			if err != nil {
				return err
			}
			orders = append(orders, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	first := orders[0]
	var lines []LineItemParams
	var amount int64
	for _, o := range orders {
		if o.CustomerID != first.CustomerID || o.Currency != first.Currency {
			return nil, till.ParamError(till.EValidation, "orders", "the orders of one payment must have one customer and one currency; %s differs from %s", o.ID, first.ID)
		}
		for _, l := range o.Lines {
			lines = append(lines, LineItemParams{Description: l.Description, Quantity: &l.Quantity, UnitAmount: &l.UnitAmount})
		}
		amount += o.Amount
	}
	if len(lines) > 100 {
		return nil, till.ParamError(till.EValidation, "orders", "the orders have %d lines; one payment takes at most 100", len(lines))
	}
	desc := strings.TrimSpace(in.Description)
	if desc == "" {
		desc = "Order " + strings.Join(in.OrderIDs, ", ")
		if len(orders) == 1 && first.Description != "" {
			desc = first.Description
		}
		if utf8.RuneCountInString(desc) > 1000 {
			desc = fmt.Sprintf("%d orders", len(orders))
		}
	}
	req, err := validateCharge(ChargeParams{CustomerID: first.CustomerID, Amount: &amount, Currency: first.Currency, Description: desc,
		Metadata: in.Metadata, PaymentMethodID: in.PaymentMethodID, LineItems: lines}, s.now(c.Account, c.Livemode))
	if err != nil {
		return nil, err
	}
	req.orders = in.OrderIDs
	return s.charge(ctx, c, idem, req)
}

// takeOrders gives the orders of a new payment p to it, in the unit of
// work that records p: each must be the payment's customer's, in its
// currency, not canceled, and not paid or being paid by another payment.
func (s *Service) takeOrders(ctx context.Context, tx till.Tx, p *till.Payment, ids []string, now time.Time) error {
	scope := scopeOf(p)
	for _, id := range ids {
		o, err := tx.Order(ctx, scope, id)
		if isNotFound(err) {
			return paramNotFound("order", id, "orders")
		}
		if err != nil {
			return err
		}
		if o.CustomerID != p.CustomerID || o.Currency != p.Currency {
			return till.ParamError(till.EValidation, "orders", "order %s is not the payment's customer's in %s", o.ID, p.Currency)
		}
		ov, err := orderView(ctx, tx, o)
		if err != nil {
			return err
		}
		switch ov.Status {
		case till.OrderOpen:
		case till.OrderPaid:
			return till.Conflict("Order %s is already paid (payment %s).", o.ID, o.PaymentID)
		case till.OrderProcessing:
			return till.Conflict("Order %s is being paid by payment %s.", o.ID, o.PaymentID)
		default:
			return till.Conflict("Order %s is %s.", o.ID, ov.Status)
		}
		from := o.Version
		o.PaymentID, o.UpdatedAt = p.ID, now
		o.Version++
		if err := tx.UpdateOrder(ctx, o, from); err != nil {
			return err
		}
	}
	return nil
}
