package api

import (
	"slices"
	"strconv"
	"time"

	"github.com/tillpay/till"
)

// WebhookEndpoint is the webhook endpoint object (SPEC §12). Its secret
// appears only in the answers of its creation and of a roll
// (WebhookEndpointWithSecret).
type WebhookEndpoint struct {
	ID          string   `json:"id"`
	Object      string   `json:"object"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Events      []string `json:"events"`
	Enabled     bool     `json:"enabled"`
	Status      string   `json:"status"` // enabled, disabled, or failing (enabled, the last deliveries failed)
	// DisabledReason is "failing" when Till disabled the endpoint; null when
	// it is enabled or the merchant disabled it.
	DisabledReason *string `json:"disabledReason"`
	// FailingSince is when the deliveries that have failed since the last
	// success began failing; null when the last delivery succeeded.
	FailingSince *time.Time `json:"failingSince"`
	// PreviousSecretExpiresAt is when a rolled secret stops signing
	// deliveries beside the current one; null when only one signs.
	PreviousSecretExpiresAt *time.Time    `json:"previousSecretExpiresAt"`
	Metadata                till.Metadata `json:"metadata"`
	Livemode                bool          `json:"livemode"`
	CreatedAt               time.Time     `json:"createdAt"`
	UpdatedAt               time.Time     `json:"updatedAt"`
}

// WebhookEndpointWithSecret is an endpoint as its creation and a roll of its
// secret answer: with the signing secret, shown only then.
type WebhookEndpointWithSecret struct {
	ID                      string        `json:"id"`
	Object                  string        `json:"object"`
	URL                     string        `json:"url"`
	Description             string        `json:"description"`
	Events                  []string      `json:"events"`
	Enabled                 bool          `json:"enabled"`
	Status                  string        `json:"status"`
	DisabledReason          *string       `json:"disabledReason"`
	FailingSince            *time.Time    `json:"failingSince"`
	PreviousSecretExpiresAt *time.Time    `json:"previousSecretExpiresAt"`
	Metadata                till.Metadata `json:"metadata"`
	Livemode                bool          `json:"livemode"`
	CreatedAt               time.Time     `json:"createdAt"`
	UpdatedAt               time.Time     `json:"updatedAt"`
	Secret                  string        `json:"secret"`
}

// WebhookEndpointWithSecretOf renders an endpoint with its secret.
func WebhookEndpointWithSecretOf(e *till.WebhookEndpoint, secret string) WebhookEndpointWithSecret {
	w := WebhookEndpointOf(e)
	return WebhookEndpointWithSecret{ID: w.ID, Object: w.Object, URL: w.URL, Description: w.Description, Events: w.Events,
		Enabled: w.Enabled, Status: w.Status, DisabledReason: w.DisabledReason, FailingSince: w.FailingSince,
		PreviousSecretExpiresAt: w.PreviousSecretExpiresAt, Metadata: w.Metadata, Livemode: w.Livemode,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Secret: secret}
}

// WebhookEndpointOf renders an endpoint, without its secret.
func WebhookEndpointOf(e *till.WebhookEndpoint) WebhookEndpoint {
	md := e.Metadata
	if md == nil {
		md = till.Metadata{}
	}
	events := slices.Clone(e.Events)
	if events == nil {
		events = []string{}
	}
	status := "enabled"
	switch {
	case !e.Enabled:
		status = "disabled"
	case e.FailingSince != nil:
		status = "failing"
	}
	return WebhookEndpoint{
		ID: e.ID, Object: "webhook_endpoint", URL: e.URL, Description: e.Description, Events: events,
		Enabled: e.Enabled, Status: status, DisabledReason: str(e.DisabledReason), FailingSince: utcp(e.FailingSince),
		PreviousSecretExpiresAt: utcp(e.PreviousSecretExpiresAt), Metadata: md, Livemode: e.Livemode, CreatedAt: utc(e.CreatedAt), UpdatedAt: utc(e.UpdatedAt),
	}
}

// WebhookEndpointCreate is the body of POST /v1/webhook-endpoints.
type WebhookEndpointCreate struct {
	URL         string        `json:"url"`
	Events      []string      `json:"events"`
	Description string        `json:"description"`
	Enabled     *bool         `json:"enabled"`
	Metadata    till.Metadata `json:"metadata"`
}

// WebhookEndpointUpdate is the body of PATCH /v1/webhook-endpoints/{id}.
type WebhookEndpointUpdate struct {
	URL         *string       `json:"url"`
	Events      *[]string     `json:"events"`
	Description *string       `json:"description"`
	Enabled     *bool         `json:"enabled"`
	Metadata    till.Metadata `json:"metadata"`
}

// RollSecretRequest is the body of POST /v1/webhook-endpoints/{id}/roll-secret.
type RollSecretRequest struct {
	// ExpiresInSeconds is how long the old secret keeps signing beside the
	// new one: default 86400 (24 h), 0 retires it at once, at most 604800.
	ExpiresInSeconds *int64 `json:"expiresInSeconds"`
}

// WebhookDelivery is one attempt to deliver an event to an endpoint, as the
// delivery log (GET /v1/events/{id}/deliveries) shows it.
type WebhookDelivery struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	EventID    string `json:"eventId"`
	EndpointID string `json:"endpointId"`
	URL        string `json:"url"`
	Attempt    int    `json:"attempt"`
	Resend     bool   `json:"resend"`
	// Status is succeeded (a 2xx in time) or failed.
	Status string `json:"status"`
	// HTTPStatus is the endpoint's status code; null when none came.
	HTTPStatus *int `json:"httpStatus"`
	// Error says why no 2xx came; null on success.
	Error           *string    `json:"error"`
	ResponseExcerpt string     `json:"responseExcerpt"`
	LatencyMs       int64      `json:"latencyMs"`
	NextRetryAt     *time.Time `json:"nextRetryAt"`
	Livemode        bool       `json:"livemode"`
	CreatedAt       time.Time  `json:"createdAt"`
}

// WebhookDeliveryOf renders a delivery.
func WebhookDeliveryOf(d *till.WebhookDelivery) WebhookDelivery {
	status := "failed"
	if d.Succeeded {
		status = "succeeded"
	}
	var code *int
	if d.StatusCode != 0 {
		c := d.StatusCode
		code = &c
	}
	errText := d.Error
	if !d.Succeeded && errText == "" && d.StatusCode != 0 {
		errText = "the endpoint answered " + strconv.Itoa(d.StatusCode) + ", not 2xx"
	}
	return WebhookDelivery{
		ID: d.ID, Object: "webhook_delivery", EventID: d.EventID, EndpointID: d.EndpointID, URL: d.URL, Attempt: d.Attempt,
		Resend: d.Resend, Status: status, HTTPStatus: code, Error: str(errText), ResponseExcerpt: d.ResponseExcerpt,
		LatencyMs: d.Latency.Milliseconds(), NextRetryAt: utcp(d.NextRetryAt), Livemode: d.Livemode, CreatedAt: utc(d.CreatedAt),
	}
}

// ResendRequest is the body of POST /v1/events/{id}/resend.
type ResendRequest struct {
	// EndpointID names the one endpoint to resend to; empty resends to
	// every enabled endpoint that receives the event's type.
	EndpointID string `json:"endpointId"`
}

// Resend answers POST /v1/events/{id}/resend: the deliveries it queued, one
// per endpoint, which appear in the event's delivery log once made.
type Resend struct {
	Object      string   `json:"object"`
	EventID     string   `json:"eventId"`
	EndpointIDs []string `json:"endpointIds"`
}
