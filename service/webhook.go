package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tillpay/till"
)

// Task kinds of webhook deliveries (Ref: the event id, Ref2: the endpoint
// id). They are run by RunDeliveries, not by RunWorkers.
const (
	// taskWebhook delivers an event, retried with webhookBackoff for
	// till.WebhookRetryFor.
	taskWebhook = "webhook.deliver"
	// taskWebhookResend delivers an event once more, on request, with one
	// try.
	taskWebhookResend = "webhook.resend"
)

// maxWebhookEndpoints bounds the endpoints of one account in one mode.
const maxWebhookEndpoints = 16

// WebhookEndpointParams create an endpoint.
type WebhookEndpointParams struct {
	URL         string
	Events      []string
	Description string
	// Enabled defaults to true.
	Enabled  *bool
	Metadata till.Metadata
	// Dialect is the webhook format the endpoint receives events in (a
	// key of Config.WebhookFormats); empty is Till's own.
	Dialect string
}

// WebhookEndpointUpdateParams change an endpoint; nil fields stay.
type WebhookEndpointUpdateParams struct {
	URL         *string
	Events      []string // nil: unchanged
	Description *string
	Enabled     *bool
	Metadata    till.Metadata
}

// RollSecretParams roll an endpoint's secret.
type RollSecretParams struct {
	// Overlap is how long the old secret keeps signing beside the new
	// one: nil means till.WebhookSecretOverlap, 0 retires it at once.
	Overlap *time.Duration
}

// WebhookSecret is an endpoint with its signing secret, shown once: when the
// endpoint is created and when its secret is rolled.
type WebhookSecret struct {
	Endpoint *till.WebhookEndpoint `json:"endpoint"`
	Secret   string                `json:"secret"`
}

// Resend is what POST /v1/events/{id}/resend queued: one delivery of the
// event to each endpoint listed.
type Resend struct {
	EventID     string   `json:"eventId"`
	EndpointIDs []string `json:"endpointIds"`
}

// validateWebhookFields checks the fields of a create or an update.
// events are checked against known, the types of the endpoint's dialect.
func validateWebhookFields(v *till.Validator, livemode bool, url, description *string, events, known []string, metadata till.Metadata) {
	if url != nil {
		if err := till.CheckWebhookURL(*url, livemode); err != nil {
			if e, ok := till.AsError(err); ok && len(e.Fields) > 0 {
				for _, f := range e.Fields {
					v.Add(f.Field, "%s", f.Message)
				}
			} else {
				v.Add("url", "%s", publicMessage(err))
			}
		}
	}
	if description != nil && utf8.RuneCountInString(*description) > 500 {
		v.Add("description", "description can have at most 500 characters")
	}
	validEventTypes(v, events, known)
	till.ValidateMetadata(v, "metadata", metadata)
}

// newWebhookSecret returns a fresh signing secret, sealed for the endpoint.
func (s *Service) newWebhookSecret(endpointID string) (secret string, sealed []byte, dataKeyID string, err error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return "", nil, "", err
	}
	// Standard Webhooks' form: whsec_ and the key in base64. Till-Signature
	// uses the whole string as its HMAC key, as Stripe's scheme does.
	secret = "whsec_" + base64.StdEncoding.EncodeToString(key[:])
	sealed, dataKeyID, err = s.keys.Seal([]byte(secret), []byte(endpointID))
	return secret, sealed, dataKeyID, err
}

// CreateWebhookEndpoint creates an endpoint and returns it with its secret,
// which is not shown again.
func (s *Service) CreateWebhookEndpoint(ctx context.Context, c *Caller, idem *Idem, in WebhookEndpointParams) (*WebhookSecret, error) {
	var v till.Validator
	in.URL = strings.TrimSpace(in.URL)
	events := in.Events
	if events == nil {
		v.Add("events", "events is required: the event types to receive, or [\"*\"] for all")
	}
	if _, err := s.format(in.Dialect); err != nil {
		return nil, err
	}
	validateWebhookFields(&v, c.Livemode, &in.URL, &in.Description, events, s.eventTypes(in.Dialect), in.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now(c.Account, c.Livemode)
	ep := &till.WebhookEndpoint{ID: s.ids.NewID(till.PrefixWebhook), AccountID: c.Account.ID, Livemode: c.Livemode,
		URL: in.URL, Description: in.Description, Dialect: in.Dialect, Events: slices.Clone(events), Enabled: in.Enabled == nil || *in.Enabled,
		Metadata: till.MergeMetadata(nil, in.Metadata), Version: 1, CreatedAt: now, UpdatedAt: now}
	secret, sealedSecret, dk, err := s.newWebhookSecret(ep.ID)
	if err != nil {
		return nil, err
	}
	ep.SealedSecret, ep.DataKeyID = sealedSecret, dk
	out := &WebhookSecret{Endpoint: ep, Secret: secret}
	err = s.idempotent(ctx, c, sealed(idem), OpWebhookCreate, out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			if err := s.checkEndpointCount(ctx, tx, c.Scope()); err != nil {
				return err
			}
			if err := tx.CreateWebhookEndpoint(ctx, ep); err != nil {
				return err
			}
			return s.remember(ctx, tx, c, idem, OpWebhookCreate, out, ep.ID)
		})
	})
	return out, err
}

// checkEndpointCount refuses an endpoint beyond maxWebhookEndpoints.
func (s *Service) checkEndpointCount(ctx context.Context, tx till.Tx, scope till.Scope) error {
	eps, _, err := tx.ListWebhookEndpoints(ctx, scope, till.Page{Limit: maxWebhookEndpoints})
	if err != nil {
		return err
	}
	if len(eps) >= maxWebhookEndpoints {
		return till.Errorf(till.EConflict, "This account has %d webhook endpoints in this mode, the most it can have; delete one first.", maxWebhookEndpoints)
	}
	return nil
}

// webhookEndpoint reads a live (not deleted) endpoint of the caller.
func webhookEndpoint(ctx context.Context, tx till.Tx, c *Caller, id string) (*till.WebhookEndpoint, error) {
	ep, err := tx.WebhookEndpoint(ctx, c.Scope(), id)
	if err != nil {
		return nil, err
	}
	if ep.Deleted {
		return nil, till.NotFound("webhook_endpoint", id)
	}
	return ep, nil
}

// WebhookEndpoint returns an endpoint of the caller, without its secret.
func (s *Service) WebhookEndpoint(ctx context.Context, c *Caller, id string) (*till.WebhookEndpoint, error) {
	var ep *till.WebhookEndpoint
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		ep, err = webhookEndpoint(ctx, tx, c, id)
		return err
	})
	return ep, err
}

// ListWebhookEndpoints lists the caller's endpoints, newest first.
func (s *Service) ListWebhookEndpoints(ctx context.Context, c *Caller, p till.Page) ([]*till.WebhookEndpoint, bool, error) {
	var eps []*till.WebhookEndpoint
	var more bool
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		eps, more, err = tx.ListWebhookEndpoints(ctx, c.Scope(), p)
		return err
	})
	return eps, more, err
}

// UpdateWebhookEndpoint applies a PATCH to an endpoint. Enabling an endpoint
// that Till disabled starts its failure count afresh.
func (s *Service) UpdateWebhookEndpoint(ctx context.Context, c *Caller, idem *Idem, id string, in WebhookEndpointUpdateParams) (*till.WebhookEndpoint, error) {
	var v till.Validator
	if in.URL != nil {
		u := strings.TrimSpace(*in.URL)
		in.URL = &u
	}
	// The events are checked against the endpoint's dialect once it is
	// read.
	validateWebhookFields(&v, c.Livemode, in.URL, in.Description, nil, nil, in.Metadata)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *till.WebhookEndpoint
	err := s.idempotent(ctx, c, idem, OpWebhookUpdate, &out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			ep, err := webhookEndpoint(ctx, tx, c, id)
			if err != nil {
				return err
			}
			from := ep.Version
			var ev till.Validator
			validEventTypes(&ev, in.Events, s.eventTypes(ep.Dialect))
			if err := ev.Err(); err != nil {
				return err
			}
			if in.URL != nil {
				ep.URL = *in.URL
			}
			if in.Description != nil {
				ep.Description = *in.Description
			}
			if in.Events != nil {
				ep.Events = slices.Clone(in.Events)
			}
			if in.Enabled != nil {
				if *in.Enabled && !ep.Enabled {
					ep.DisabledReason, ep.FailingSince = "", nil
				}
				ep.Enabled = *in.Enabled
			}
			if in.Metadata != nil {
				ep.Metadata = till.MergeMetadata(ep.Metadata, in.Metadata)
				if n := len(ep.Metadata); n > till.MaxMetadataKeys {
					return till.ParamError(till.EValidation, "metadata", "metadata can have at most %d keys; with this update it would have %d", till.MaxMetadataKeys, n)
				}
			}
			ep.Version++
			ep.UpdatedAt = s.now(c.Account, c.Livemode)
			if err := tx.UpdateWebhookEndpoint(ctx, ep, from); err != nil {
				return err
			}
			out = ep
			return s.remember(ctx, tx, c, idem, OpWebhookUpdate, ep, ep.ID)
		})
	})
	return out, err
}

// DeleteWebhookEndpoint deletes an endpoint: it receives nothing more, and
// its pending deliveries are dropped when they come due. Its delivery log
// stays.
func (s *Service) DeleteWebhookEndpoint(ctx context.Context, c *Caller, idem *Idem, id string) (*Deleted, error) {
	out := &Deleted{ID: id, Kind: "webhook_endpoint"}
	err := s.idempotent(ctx, c, idem, OpWebhookDelete, out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			ep, err := webhookEndpoint(ctx, tx, c, id)
			if err != nil {
				return err
			}
			from := ep.Version
			ep.Deleted, ep.Enabled = true, false
			ep.SealedSecret, ep.SealedPreviousSecret, ep.PreviousSecretExpiresAt = nil, nil, nil
			ep.Version++
			ep.UpdatedAt = s.now(c.Account, c.Livemode)
			if err := tx.UpdateWebhookEndpoint(ctx, ep, from); err != nil {
				return err
			}
			return s.remember(ctx, tx, c, idem, OpWebhookDelete, out, ep.ID)
		})
	})
	return out, err
}

// RollWebhookSecret gives an endpoint a new secret and returns it, shown
// only this once. The old secret keeps signing beside it for the overlap,
// so receivers can switch without losing a delivery; a secret rolled again
// within the overlap is retired at once (only the latest two sign).
func (s *Service) RollWebhookSecret(ctx context.Context, c *Caller, idem *Idem, id string, in RollSecretParams) (*WebhookSecret, error) {
	overlap := till.WebhookSecretOverlap
	if in.Overlap != nil {
		overlap = *in.Overlap
	}
	if overlap < 0 || overlap > till.WebhookMaxSecretOverlap {
		return nil, till.ParamError(till.EValidation, "expiresInSeconds", "expiresInSeconds must be between 0 and %d (7 days)", int64(till.WebhookMaxSecretOverlap/time.Second))
	}
	secret, sealedSecret, dk, err := s.newWebhookSecret(id)
	if err != nil {
		return nil, err
	}
	out := &WebhookSecret{Secret: secret}
	err = s.idempotent(ctx, c, sealed(idem), OpWebhookRoll, out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			ep, err := webhookEndpoint(ctx, tx, c, id)
			if err != nil {
				return err
			}
			from := ep.Version
			real := s.clock.Now()
			if overlap > 0 {
				until := real.Add(overlap)
				ep.SealedPreviousSecret, ep.PreviousDataKeyID, ep.PreviousSecretExpiresAt = ep.SealedSecret, ep.DataKeyID, &until
			} else {
				ep.SealedPreviousSecret, ep.PreviousDataKeyID, ep.PreviousSecretExpiresAt = nil, "", nil
			}
			ep.SealedSecret, ep.DataKeyID = sealedSecret, dk
			ep.Version++
			ep.UpdatedAt = s.now(c.Account, c.Livemode)
			if err := tx.UpdateWebhookEndpoint(ctx, ep, from); err != nil {
				return err
			}
			out.Endpoint = ep
			return s.remember(ctx, tx, c, idem, OpWebhookRoll, out, ep.ID)
		})
	})
	return out, err
}

// fanOut queues a delivery of a new event to every enabled endpoint of its
// scope that receives its type, in the unit of work that writes the event
// (the outbox): an event committed is an event delivered.
func (s *Service) fanOut(ctx context.Context, tx till.Tx, e *till.Event) error {
	eps, err := tx.EnabledWebhookEndpoints(ctx, till.Scope{AccountID: e.AccountID, Livemode: e.Livemode})
	if err != nil || len(eps) == 0 {
		return err
	}
	real := s.clock.Now()
	for _, ep := range eps {
		if !s.receives(ep, e) {
			continue
		}
		if err := tx.CreateTask(ctx, &till.Task{ID: s.ids.NewID(till.PrefixTask), Kind: taskWebhook, AccountID: e.AccountID,
			Livemode: e.Livemode, Ref: e.ID, Ref2: ep.ID, RunAt: real, CreatedAt: real}); err != nil {
			return err
		}
	}
	s.wakeDeliveries()
	return nil
}

// ResendEvent queues one more delivery of an event: to endpointID, or when
// it is empty to every enabled endpoint that receives the event's type. The
// deliveries appear in the event's delivery log.
func (s *Service) ResendEvent(ctx context.Context, c *Caller, idem *Idem, eventID, endpointID string) (*Resend, error) {
	out := &Resend{EventID: eventID, EndpointIDs: []string{}}
	err := s.idempotent(ctx, c, idem, OpEventResend, out, func() error {
		return s.store.Update(ctx, func(tx till.Tx) error {
			out.EndpointIDs = out.EndpointIDs[:0]
			e, err := tx.Event(ctx, c.Scope(), eventID)
			if err != nil {
				return err
			}
			var eps []*till.WebhookEndpoint
			if endpointID != "" {
				ep, err := webhookEndpoint(ctx, tx, c, endpointID)
				if err != nil {
					return till.ParamError(till.EValidation, "endpointId", "no webhook endpoint %s", endpointID)
				}
				if !ep.Enabled {
					return till.Errorf(till.EConflict, "Webhook endpoint %s is disabled; enable it before resending to it.", ep.ID)
				}
				if !s.deliverable(ep, e) {
					return till.Conflict("Webhook endpoint %s receives %s webhooks, which have no event for %s.", ep.ID, ep.Dialect, e.Type)
				}
				eps = append(eps, ep)
			} else {
				all, err := tx.EnabledWebhookEndpoints(ctx, c.Scope())
				if err != nil {
					return err
				}
				for _, ep := range all {
					if s.receives(ep, e) {
						eps = append(eps, ep)
					}
				}
				if len(eps) == 0 {
					return till.Errorf(till.EConflict, "No enabled webhook endpoint receives %s events; name one with endpointId or add one.", e.Type)
				}
			}
			real := s.clock.Now()
			for _, ep := range eps {
				if err := tx.CreateTask(ctx, &till.Task{ID: s.ids.NewID(till.PrefixTask), Kind: taskWebhookResend, AccountID: e.AccountID,
					Livemode: e.Livemode, Ref: e.ID, Ref2: ep.ID, RunAt: real, CreatedAt: real}); err != nil {
					return err
				}
				out.EndpointIDs = append(out.EndpointIDs, ep.ID)
			}
			s.wakeDeliveries()
			return s.remember(ctx, tx, c, idem, OpEventResend, out, e.ID)
		})
	})
	return out, err
}

// WebhookDeliveries lists an event's deliveries, newest first.
func (s *Service) WebhookDeliveries(ctx context.Context, c *Caller, eventID string, p till.Page) ([]*till.WebhookDelivery, bool, error) {
	var ds []*till.WebhookDelivery
	var more bool
	err := s.store.View(ctx, func(tx till.Tx) error {
		if _, err := tx.Event(ctx, c.Scope(), eventID); err != nil {
			return err
		}
		var err error
		ds, more, err = tx.ListWebhookDeliveries(ctx, c.Scope(), eventID, p)
		return err
	})
	return ds, more, err
}

// webhookSchedule is the wait before each retry of a delivery (SPEC §12);
// the last wait repeats until till.WebhookRetryFor has passed.
var webhookSchedule = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// webhookBackoff is the wait before the n-th retry (n ≥ 1), with up to 10%
// of jitter either way from jitter in [0, 1), so the retries of many events
// that failed together spread out.
func webhookBackoff(n int, jitter float64) time.Duration {
	d := webhookSchedule[min(n, len(webhookSchedule))-1]
	return d + time.Duration((jitter*2-1)*0.1*float64(d))
}
