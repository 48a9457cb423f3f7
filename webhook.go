package till

import (
	"context"
	"time"
)

// Webhook delivery policy (SPEC §12).
const (
	// WebhookTimeout bounds one delivery: connecting, sending and reading
	// the response.
	WebhookTimeout = 10 * time.Second
	// WebhookRetryFor is how long, on the account clock, Till retries an
	// event that was not delivered.
	WebhookRetryFor = 72 * time.Hour
	// WebhookDisableAfter is how long, on the account clock, an endpoint
	// fails every delivery before Till disables it.
	WebhookDisableAfter = 72 * time.Hour
	// WebhookSecretOverlap is how long a rolled secret keeps signing
	// deliveries beside its successor unless the roll says otherwise.
	WebhookSecretOverlap = 24 * time.Hour
	// WebhookMaxSecretOverlap bounds the overlap a roll may ask for.
	WebhookMaxSecretOverlap = 7 * 24 * time.Hour
)

// WebhookEndpoint is a merchant's URL that receives the events of its scope
// (one account in one mode), signed with its secret.
type WebhookEndpoint struct {
	ID          string `json:"ID"`
	AccountID   string `json:"AccountID"`
	Livemode    bool   `json:"Livemode"`
	URL         string `json:"URL"`
	Description string `json:"Description"`
	// Dialect names the API whose webhook format the endpoint receives
	// events in ("commet"); empty is Till's own events, signed as package
	// webhook describes.
	Dialect string `json:"Dialect"`
	// Events are the event types it receives, in its dialect's names;
	// ["*"] receives all.
	Events []string `json:"Events"`
	// Enabled endpoints receive events; a disabled one receives none, and
	// its pending deliveries are dropped.
	Enabled bool `json:"Enabled"`
	// DisabledReason is why Till disabled it ("failing"); empty when the
	// merchant did, or when it is enabled.
	DisabledReason string   `json:"DisabledReason"`
	Metadata       Metadata `json:"Metadata"`
	// SealedSecret is the signing secret (whsec_…) sealed by the vault
	// under DataKeyID, with the endpoint's id as associated data.
	SealedSecret []byte `json:"SealedSecret"`
	DataKeyID    string `json:"DataKeyID"`
	// SealedPreviousSecret is the secret a roll replaced: deliveries carry
	// signatures under both until PreviousSecretExpiresAt (real time).
	SealedPreviousSecret    []byte     `json:"SealedPreviousSecret"`
	PreviousDataKeyID       string     `json:"PreviousDataKeyID"`
	PreviousSecretExpiresAt *time.Time `json:"PreviousSecretExpiresAt"`
	// FailingSince is when, on the account clock, the first of the
	// deliveries that have failed since the last success failed; nil when
	// the last delivery succeeded.
	FailingSince *time.Time `json:"FailingSince"`
	Deleted      bool       `json:"Deleted"`
	Version      int64      `json:"Version"`
	CreatedAt    time.Time  `json:"CreatedAt"`
	UpdatedAt    time.Time  `json:"UpdatedAt"`
}

// Receives reports whether the endpoint takes events of type typ.
func (e *WebhookEndpoint) Receives(typ string) bool {
	if !e.Enabled || e.Deleted {
		return false
	}
	for _, t := range e.Events {
		if t == "*" || t == typ {
			return true
		}
	}
	return false
}

// WebhookDelivery is one attempt to deliver an event to an endpoint: the
// delivery log.
type WebhookDelivery struct {
	ID         string `json:"ID"`
	AccountID  string `json:"AccountID"`
	Livemode   bool   `json:"Livemode"`
	EventID    string `json:"EventID"`
	EndpointID string `json:"EndpointID"`
	URL        string `json:"URL"`
	// Attempt counts the tries of this event at this endpoint, from 1.
	Attempt int `json:"Attempt"`
	// Resend is true for a delivery asked for by POST /v1/events/{id}/resend.
	Resend bool `json:"Resend"`
	// Succeeded: the endpoint answered 2xx in time.
	Succeeded bool `json:"Succeeded"`
	// StatusCode is the endpoint's HTTP status; 0 when none came.
	StatusCode int `json:"StatusCode"`
	// Error says why no 2xx came: a connection error, a timeout, a refused
	// address, a redirect (never followed).
	Error string `json:"Error"`
	// ResponseExcerpt is the start of the response body (at most
	// WebhookExcerptBytes), as text.
	ResponseExcerpt string        `json:"ResponseExcerpt"`
	Latency         time.Duration `json:"Latency"`
	// NextRetryAt is when, on the account clock, the event is tried again;
	// nil after a success or the last try.
	NextRetryAt *time.Time `json:"NextRetryAt"`
	CreatedAt   time.Time  `json:"CreatedAt"`
}

// WebhookExcerptBytes bounds the response excerpt a delivery keeps.
const WebhookExcerptBytes = 1024

// WebhookSender delivers signed events over HTTP (package webhook). Send
// makes one attempt and reports what happened; it never retries and never
// follows a redirect.
type WebhookSender interface {
	Send(ctx context.Context, r WebhookRequest) WebhookResult
}

// WebhookRequest is one delivery to make.
type WebhookRequest struct {
	URL string
	// Livemode deliveries go to https URLs on public addresses only,
	// checked when dialing; test mode may target any address.
	Livemode bool
	// MessageID is the event's id, sent as webhook-id: the same on every
	// try of the event, so receivers can drop duplicates.
	MessageID string
	// Body is the event JSON, sent as is and signed.
	Body []byte
	// Secrets sign the body, the current one first, then a rolled one
	// still in its overlap window.
	Secrets []string
	// Timestamp is the signing time (real time, as receivers check it).
	Timestamp time.Time
	// Header, when set, holds the headers that sign Body in the endpoint's
	// dialect (its Content-Type among them), sent instead of Till's own
	// signature headers; Secrets are then not used.
	Header map[string][]string
}

// WebhookResult is what one delivery got.
type WebhookResult struct {
	// StatusCode is the receiver's HTTP status; 0 when none came.
	StatusCode int
	// Excerpt is the start of the response body, at most
	// WebhookExcerptBytes, valid UTF-8.
	Excerpt string
	// Error says why there is no 2xx status: a refused address, a
	// connection error, a timeout, a redirect. Empty with any status.
	Error   string
	Latency time.Duration
}

// Delivered reports whether the receiver took the event: a 2xx status.
func (r WebhookResult) Delivered() bool { return r.StatusCode >= 200 && r.StatusCode <= 299 }
