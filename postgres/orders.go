package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tillpay/till"
)

// --- orders, subscriptions and payments' human ids

func (t *tx) CreateOrder(ctx context.Context, o *till.Order) error {
	return t.insert(ctx, "order "+o.ID, `INSERT INTO orders (id, account_id, livemode, customer_id, version, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		o.ID, o.AccountID, o.Livemode, o.CustomerID, o.Version, us(o.CreatedAt), mustJSON(o))
}

func (t *tx) Order(ctx context.Context, s till.Scope, id string) (*till.Order, error) {
	o := new(till.Order)
	err := t.getDoc(ctx, o, till.NotFound("order", id),
		`SELECT doc FROM orders WHERE id = $1 AND account_id = $2 AND livemode = $3`, id, s.AccountID, s.Livemode)
	return o, err
}

func (t *tx) UpdateOrder(ctx context.Context, o *till.Order, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("order %s: %w", o.ID, till.ErrStale),
		`UPDATE orders SET version = $1, doc = $2 WHERE id = $3 AND version = $4`, o.Version, mustJSON(o), o.ID, fromVersion)
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
	w.add("account_id = " + w.arg(s.AccountID) + " AND livemode = " + w.arg(s.Livemode) + " AND seq < " + w.arg(seq))
	if customerID != "" {
		w.add("customer_id = " + w.arg(customerID))
	}
	return w, nil
}

func (t *tx) CreateSubscription(ctx context.Context, sub *till.Subscription) error {
	return t.insert(ctx, "subscription "+sub.ID, `INSERT INTO subscriptions (id, account_id, livemode, customer_id, version, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		sub.ID, sub.AccountID, sub.Livemode, sub.CustomerID, sub.Version, us(sub.CreatedAt), mustJSON(sub))
}

func (t *tx) Subscription(ctx context.Context, s till.Scope, id string) (*till.Subscription, error) {
	sub := new(till.Subscription)
	err := t.getDoc(ctx, sub, till.NotFound("subscription", id),
		`SELECT doc FROM subscriptions WHERE id = $1 AND account_id = $2 AND livemode = $3`, id, s.AccountID, s.Livemode)
	return sub, err
}

func (t *tx) UpdateSubscription(ctx context.Context, sub *till.Subscription, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("subscription %s: %w", sub.ID, till.ErrStale),
		`UPDATE subscriptions SET version = $1, doc = $2 WHERE id = $3 AND version = $4`, sub.Version, mustJSON(sub), sub.ID, fromVersion)
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
	err := t.rows(ctx, `SELECT payment_id, human_id FROM payment_human_ids WHERE account_id = $1 AND livemode = $2 AND payment_id = ANY($3)`,
		[]any{s.AccountID, s.Livemode, ids}, func(r pgx.Rows) error {
			var p, h string
			if err := r.Scan(&p, &h); err != nil {
				return err
			}
			out[p] = h
			return nil
		})
	return out, err
}

func (t *tx) CreateHumanID(ctx context.Context, s till.Scope, paymentID, humanID string) error {
	return t.insert(ctx, "human id "+humanID, `INSERT INTO payment_human_ids (account_id, livemode, human_id, payment_id)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, s.AccountID, s.Livemode, humanID, paymentID)
}
