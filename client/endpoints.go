package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tillpay/till/api"
)

// Events lists events (filters: type, objectId, createdFrom, createdTo).
func (c *Client) Events(ctx context.Context, p ListParams) (*List[api.Event], error) {
	return list[api.Event](ctx, c, "/v1/events", p)
}

// Event returns an event.
func (c *Client) Event(ctx context.Context, id string) (*api.Event, error) {
	return get[api.Event](ctx, c, "/v1/events/"+url.PathEscape(id))
}

// EventDeliveries lists an event's webhook deliveries, newest first.
func (c *Client) EventDeliveries(ctx context.Context, id string, p ListParams) (*List[api.WebhookDelivery], error) {
	return list[api.WebhookDelivery](ctx, c, "/v1/events/"+url.PathEscape(id)+"/deliveries", p)
}

// ResendEvent delivers an event once more: to endpointID, or to every
// enabled endpoint that receives it when endpointID is empty.
func (c *Client) ResendEvent(ctx context.Context, id, endpointID string, opts ...Option) (*api.Resend, error) {
	return send[api.Resend](ctx, c, http.MethodPost, "/v1/events/"+url.PathEscape(id)+"/resend", api.ResendRequest{EndpointID: endpointID}, opts)
}

// CreateWebhookEndpoint creates a webhook endpoint; the answer holds its
// secret, which is not shown again.
func (c *Client) CreateWebhookEndpoint(ctx context.Context, in api.WebhookEndpointCreate, opts ...Option) (*api.WebhookEndpointWithSecret, error) {
	return send[api.WebhookEndpointWithSecret](ctx, c, http.MethodPost, "/v1/webhook-endpoints", in, opts)
}

// WebhookEndpoint returns a webhook endpoint.
func (c *Client) WebhookEndpoint(ctx context.Context, id string) (*api.WebhookEndpoint, error) {
	return get[api.WebhookEndpoint](ctx, c, "/v1/webhook-endpoints/"+url.PathEscape(id))
}

// WebhookEndpoints lists webhook endpoints, newest first.
func (c *Client) WebhookEndpoints(ctx context.Context, p ListParams) (*List[api.WebhookEndpoint], error) {
	return list[api.WebhookEndpoint](ctx, c, "/v1/webhook-endpoints", p)
}

// UpdateWebhookEndpoint changes a webhook endpoint.
func (c *Client) UpdateWebhookEndpoint(ctx context.Context, id string, in api.WebhookEndpointUpdate, opts ...Option) (*api.WebhookEndpoint, error) {
	return send[api.WebhookEndpoint](ctx, c, http.MethodPatch, "/v1/webhook-endpoints/"+url.PathEscape(id), in, opts)
}

// DeleteWebhookEndpoint deletes a webhook endpoint.
func (c *Client) DeleteWebhookEndpoint(ctx context.Context, id string, opts ...Option) (*api.DeletedObject, error) {
	return send[api.DeletedObject](ctx, c, http.MethodDelete, "/v1/webhook-endpoints/"+url.PathEscape(id), nil, opts)
}

// RollWebhookSecret gives an endpoint a new secret (in the answer, shown
// once); the old one signs beside it for expiresInSeconds (nil: 24 h).
func (c *Client) RollWebhookSecret(ctx context.Context, id string, expiresInSeconds *int64, opts ...Option) (*api.WebhookEndpointWithSecret, error) {
	return send[api.WebhookEndpointWithSecret](ctx, c, http.MethodPost, "/v1/webhook-endpoints/"+url.PathEscape(id)+"/roll-secret",
		api.RollSecretRequest{ExpiresInSeconds: expiresInSeconds}, opts)
}

// PollParams ask the test-mode event poll for the events after a cursor.
type PollParams struct {
	// After is the previous answer's NextCursor; empty starts with the
	// events written from now on.
	After string
	// Types limits the events to these types; empty for all.
	Types []string
	// Timeout is how long the server waits when no event is ready (0
	// answers at once; the server waits 30 s at most). Give the client's
	// HTTP timeout some seconds more.
	Timeout time.Duration
	// Limit bounds the page, 1–100 (0: the server's default, 100).
	Limit int
}

// PolledEvent is an event of the poll: the decoded event, and Raw, the exact
// bytes the server sent, which are the body a webhook delivery of the event
// carries (and what its signatures sign).
type PolledEvent struct {
	api.Event
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps the raw bytes beside the decoded event.
func (e *PolledEvent) UnmarshalJSON(b []byte) error {
	e.Raw = append(json.RawMessage(nil), b...)
	return json.Unmarshal(b, &e.Event)
}

// PollEvents returns the test-mode events written after p.After, oldest
// first, waiting up to p.Timeout for the first when none is ready. Pass the
// answer's NextCursor (always set) as the next After: reading from cursor
// to cursor gives every event once. A live key gets an *Error with code
// live_mode_forbidden.
func (c *Client) PollEvents(ctx context.Context, p PollParams) (*List[PolledEvent], error) {
	q := url.Values{}
	if p.After != "" {
		q.Set("after", p.After)
	}
	if len(p.Types) > 0 {
		q.Set("types", strings.Join(p.Types, ","))
	}
	q.Set("timeout", p.Timeout.String())
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	out := &List[PolledEvent]{}
	if err := c.Do(ctx, http.MethodGet, "/v1/test/events/poll?"+q.Encode(), nil, out); err != nil {
		return nil, err
	}
	return out, nil
}
