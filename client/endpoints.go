package client

import (
	"context"
	"net/http"
	"net/url"

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
