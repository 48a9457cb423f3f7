package sqlite

import (
	"context"
	"fmt"

	"github.com/tillpay/till"
)

// --- webhook endpoints and deliveries

func (t *tx) CreateWebhookEndpoint(ctx context.Context, e *till.WebhookEndpoint) error {
	_, err := t.exec(ctx, `INSERT INTO webhook_endpoints (id, account_id, livemode, enabled, deleted, version, created_at, object_id, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.AccountID, b2i(e.Livemode), b2i(e.Enabled), b2i(e.Deleted), e.Version, us(e.CreatedAt), e.ObjectID, mustJSON(e))
	return err
}

func (t *tx) WebhookEndpoint(ctx context.Context, s till.Scope, id string) (*till.WebhookEndpoint, error) {
	e := new(till.WebhookEndpoint)
	err := t.getDoc(ctx, e, till.NotFound("webhook_endpoint", id),
		`SELECT doc FROM webhook_endpoints WHERE id = ? AND account_id = ? AND livemode = ?`, id, s.AccountID, b2i(s.Livemode))
	return e, err
}

func (t *tx) UpdateWebhookEndpoint(ctx context.Context, e *till.WebhookEndpoint, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("webhook endpoint %s: %w", e.ID, till.ErrStale),
		`UPDATE webhook_endpoints SET enabled = ?, deleted = ?, version = ?, doc = ? WHERE id = ? AND version = ?`,
		b2i(e.Enabled), b2i(e.Deleted), e.Version, mustJSON(e), e.ID, fromVersion)
}

func (t *tx) ListWebhookEndpoints(ctx context.Context, s till.Scope, p till.Page) ([]*till.WebhookEndpoint, bool, error) {
	seq, err := t.cursor(ctx, "webhook_endpoints", s, p.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = ? AND livemode = ? AND deleted = 0 AND seq < ?", s.AccountID, b2i(s.Livemode), seq)
	return page[till.WebhookEndpoint](ctx, t, "webhook_endpoints", w, p)
}

// EnabledWebhookEndpoints reads the scope's endpoints through the scope
// index: it runs in every unit of work that writes an event, and a scope
// has few endpoints.
func (t *tx) EnabledWebhookEndpoints(ctx context.Context, s till.Scope) ([]*till.WebhookEndpoint, error) {
	return docs[till.WebhookEndpoint](ctx, t, `SELECT doc FROM webhook_endpoints
		WHERE account_id = ? AND livemode = ? AND enabled = 1 AND deleted = 0 AND object_id = '' ORDER BY seq`, s.AccountID, b2i(s.Livemode))
}

// BoundWebhookEndpoints reads the endpoints bound to an object through
// their own index.
func (t *tx) BoundWebhookEndpoints(ctx context.Context, s till.Scope, objectID string) ([]*till.WebhookEndpoint, error) {
	if objectID == "" {
		return nil, nil
	}
	return docs[till.WebhookEndpoint](ctx, t, `SELECT doc FROM webhook_endpoints
		WHERE account_id = ? AND livemode = ? AND object_id = ? AND enabled = 1 AND deleted = 0 ORDER BY seq`, s.AccountID, b2i(s.Livemode), objectID)
}

func (t *tx) CreateWebhookDelivery(ctx context.Context, d *till.WebhookDelivery) error {
	_, err := t.exec(ctx, `INSERT INTO webhook_deliveries (id, account_id, livemode, event_id, endpoint_id, created_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.AccountID, b2i(d.Livemode), d.EventID, d.EndpointID, us(d.CreatedAt), mustJSON(d))
	return err
}

func (t *tx) ListWebhookDeliveries(ctx context.Context, s till.Scope, eventID string, p till.Page) ([]*till.WebhookDelivery, bool, error) {
	seq, err := t.cursor(ctx, "webhook_deliveries", s, p.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("event_id = ? AND account_id = ? AND livemode = ? AND seq < ?", eventID, s.AccountID, b2i(s.Livemode), seq)
	return page[till.WebhookDelivery](ctx, t, "webhook_deliveries", w, p)
}
