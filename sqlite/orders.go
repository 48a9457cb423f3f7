package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/tillpay/till"
)

// --- orders, subscriptions and payments' human ids

func (t *tx) CreateOrder(ctx context.Context, o *till.Order) error {
	_, err := t.exec(ctx, `INSERT INTO orders (id, account_id, livemode, customer_id, version, created_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.AccountID, b2i(o.Livemode), o.CustomerID, o.Version, us(o.CreatedAt), mustJSON(o))
	return err
}

func (t *tx) Order(ctx context.Context, s till.Scope, id string) (*till.Order, error) {
	o := new(till.Order)
	err := t.getDoc(ctx, o, till.NotFound("order", id),
		`SELECT doc FROM orders WHERE id = ? AND account_id = ? AND livemode = ?`, id, s.AccountID, b2i(s.Livemode))
	return o, err
}

func (t *tx) UpdateOrder(ctx context.Context, o *till.Order, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("order %s: %w", o.ID, till.ErrStale),
		`UPDATE orders SET version = ?, doc = ? WHERE id = ? AND version = ?`, o.Version, mustJSON(o), o.ID, fromVersion)
}

func (t *tx) ListOrders(ctx context.Context, s till.Scope, f till.OrderFilter) ([]*till.Order, bool, error) {
	w, err := t.customerPage(ctx, "orders", s, f.StartingAfter, f.CustomerID)
	if err != nil {
		return nil, false, err
	}
	return page[till.Order](ctx, t, "orders", w, f.Page)
}

// customerPage is the condition of a page of a scoped table listed newest
// first, optionally of one customer.
func (t *tx) customerPage(ctx context.Context, table string, s till.Scope, after, customerID string) (*where, error) {
	seq, err := t.cursor(ctx, table, s, after)
	if err != nil {
		return nil, err
	}
	w := &where{}
	w.add("account_id = ? AND livemode = ? AND seq < ?", s.AccountID, b2i(s.Livemode), seq)
	if customerID != "" {
		w.add("customer_id = ?", customerID)
	}
	return w, nil
}

func (t *tx) CreateSubscription(ctx context.Context, sub *till.Subscription) error {
	_, err := t.exec(ctx, `INSERT INTO subscriptions (id, account_id, livemode, customer_id, version, created_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sub.ID, sub.AccountID, b2i(sub.Livemode), sub.CustomerID, sub.Version, us(sub.CreatedAt), mustJSON(sub))
	return err
}

func (t *tx) Subscription(ctx context.Context, s till.Scope, id string) (*till.Subscription, error) {
	sub := new(till.Subscription)
	err := t.getDoc(ctx, sub, till.NotFound("subscription", id),
		`SELECT doc FROM subscriptions WHERE id = ? AND account_id = ? AND livemode = ?`, id, s.AccountID, b2i(s.Livemode))
	return sub, err
}

func (t *tx) UpdateSubscription(ctx context.Context, sub *till.Subscription, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("subscription %s: %w", sub.ID, till.ErrStale),
		`UPDATE subscriptions SET version = ?, doc = ? WHERE id = ? AND version = ?`, sub.Version, mustJSON(sub), sub.ID, fromVersion)
}

func (t *tx) ListSubscriptions(ctx context.Context, s till.Scope, f till.SubscriptionFilter) ([]*till.Subscription, bool, error) {
	w, err := t.customerPage(ctx, "subscriptions", s, f.StartingAfter, f.CustomerID)
	if err != nil {
		return nil, false, err
	}
	return page[till.Subscription](ctx, t, "subscriptions", w, f.Page)
}

func (t *tx) HumanIDs(ctx context.Context, s till.Scope, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{s.AccountID, b2i(s.Livemode)}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := t.query(ctx, `SELECT payment_id, human_id FROM payment_human_ids WHERE account_id = ? AND livemode = ? AND payment_id IN (?`+
		strings.Repeat(", ?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p, h string
		if err := rows.Scan(&p, &h); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		out[p] = h
	}
	return out, rows.Err()
}

func (t *tx) CreateHumanID(ctx context.Context, s till.Scope, paymentID, humanID string) error {
	_, err := t.exec(ctx, `INSERT INTO payment_human_ids (account_id, livemode, human_id, payment_id) VALUES (?, ?, ?, ?)`,
		s.AccountID, b2i(s.Livemode), humanID, paymentID)
	return err
}
