package postgres

import (
	"context"
	"fmt"

	"github.com/tillpay/till"
)

// --- webhook endpoints and deliveries

func (t *tx) CreateWebhookEndpoint(ctx context.Context, e *till.WebhookEndpoint) error {
	return t.insert(ctx, "webhook endpoint "+e.ID, `INSERT INTO webhook_endpoints (id, account_id, livemode, enabled, deleted, version, created_at, object_id, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		e.ID, e.AccountID, e.Livemode, e.Enabled, e.Deleted, e.Version, us(e.CreatedAt), e.ObjectID, mustJSON(e))
}

// WebhookEndpoint reads an endpoint; inside Update it locks the row until
// the unit ends (see Payment), so the delivery workers of every process
// recording the health of one endpoint take turns instead of failing each
// other's version checks.
func (t *tx) WebhookEndpoint(ctx context.Context, s till.Scope, id string) (*till.WebhookEndpoint, error) {
	e := new(till.WebhookEndpoint)
	q := `SELECT doc FROM webhook_endpoints WHERE id = $1 AND account_id = $2 AND livemode = $3`
	if t.write {
		q += ` FOR UPDATE`
	}
	err := t.getDoc(ctx, e, till.NotFound("webhook_endpoint", id), q, id, s.AccountID, s.Livemode)
	return e, err
}

func (t *tx) UpdateWebhookEndpoint(ctx context.Context, e *till.WebhookEndpoint, fromVersion int64) error {
	return t.execOne(ctx, fmt.Errorf("webhook endpoint %s: %w", e.ID, till.ErrStale),
		`UPDATE webhook_endpoints SET enabled = $1, deleted = $2, version = $3, doc = $4 WHERE id = $5 AND version = $6`,
		e.Enabled, e.Deleted, e.Version, mustJSON(e), e.ID, fromVersion)
}

func (t *tx) ListWebhookEndpoints(ctx context.Context, s till.Scope, p till.Page) ([]*till.WebhookEndpoint, bool, error) {
	seq, err := t.cursor(ctx, "webhook_endpoints", s, p.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("account_id = " + w.arg(s.AccountID) + " AND livemode = " + w.arg(s.Livemode) + " AND NOT deleted AND seq < " + w.arg(seq))
	return page[till.WebhookEndpoint](ctx, t, "webhook_endpoints", w, p)
}

// EnabledWebhookEndpoints reads the scope's endpoints through the scope
// index, without locking them: it runs in every unit of work that writes an
// event, and a scope has few endpoints.
func (t *tx) EnabledWebhookEndpoints(ctx context.Context, s till.Scope) ([]*till.WebhookEndpoint, error) {
	return docs[till.WebhookEndpoint](ctx, t, `SELECT doc FROM webhook_endpoints
		WHERE account_id = $1 AND livemode = $2 AND enabled AND NOT deleted AND object_id = '' ORDER BY seq`, s.AccountID, s.Livemode)
}

// BoundWebhookEndpoints reads the endpoints bound to an object through
// their own index, without locking them.
func (t *tx) BoundWebhookEndpoints(ctx context.Context, s till.Scope, objectID string) ([]*till.WebhookEndpoint, error) {
	if objectID == "" {
		return nil, nil
	}
	return docs[till.WebhookEndpoint](ctx, t, `SELECT doc FROM webhook_endpoints
		WHERE account_id = $1 AND livemode = $2 AND object_id = $3 AND enabled AND NOT deleted ORDER BY seq`, s.AccountID, s.Livemode, objectID)
}

func (t *tx) CreateWebhookDelivery(ctx context.Context, d *till.WebhookDelivery) error {
	return t.insert(ctx, "webhook delivery "+d.ID, `INSERT INTO webhook_deliveries (id, account_id, livemode, event_id, endpoint_id, created_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		d.ID, d.AccountID, d.Livemode, d.EventID, d.EndpointID, us(d.CreatedAt), mustJSON(d))
}

func (t *tx) ListWebhookDeliveries(ctx context.Context, s till.Scope, eventID string, p till.Page) ([]*till.WebhookDelivery, bool, error) {
	seq, err := t.cursor(ctx, "webhook_deliveries", s, p.StartingAfter)
	if err != nil {
		return nil, false, err
	}
	w := &where{}
	w.add("event_id = " + w.arg(eventID) + " AND account_id = " + w.arg(s.AccountID) + " AND livemode = " + w.arg(s.Livemode) +
		" AND seq < " + w.arg(seq))
	return page[till.WebhookDelivery](ctx, t, "webhook_deliveries", w, p)
}
