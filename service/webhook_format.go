package service

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tillpay/till"
)

// WebhookFormat is how the webhook endpoints of one dialect receive events:
// the dialect's event names, its body and its signature. Deliveries to
// those endpoints go through the same queue, retries, address checks and
// delivery log as Till's own; only what is sent differs.
type WebhookFormat interface {
	// EventTypes lists the event types an endpoint of the dialect can
	// subscribe to.
	EventTypes() []string
	// EventType returns the dialect's type of core event ev, or "" when
	// the dialect has none: the event is then not delivered to its
	// endpoints.
	EventType(ev *till.Event) string
	// Render returns the body of a delivery of ev to ep at t. look reads
	// the objects the body names besides ev's own.
	Render(ctx context.Context, ev *till.Event, ep *till.WebhookEndpoint, t time.Time, look WebhookLookup) ([]byte, error)
	// RenderTest returns the body of a test delivery to ep at t (the
	// dialect's "send a test event").
	RenderTest(ep *till.WebhookEndpoint, t time.Time) ([]byte, error)
	// Sign returns the headers of a delivery of body, signed at t under
	// each of secrets (the current one first), Content-Type among them.
	Sign(ep *till.WebhookEndpoint, secrets []string, msgID string, t time.Time, body []byte) map[string][]string
}

// WebhookLookup reads, for a WebhookFormat, objects of the event's scope.
type WebhookLookup interface {
	// Document returns an invoice or credit note.
	Document(ctx context.Context, scope till.Scope, id string) (*till.Document, error)
}

// lookup is the service's WebhookLookup.
type lookup struct{ s *Service }

func (l lookup) Document(ctx context.Context, scope till.Scope, id string) (*till.Document, error) {
	var d *till.Document
	err := l.s.store.View(ctx, func(tx till.Tx) (err error) {
		d, err = tx.Document(ctx, scope, id)
		return err
	})
	return d, err
}

// format returns the WebhookFormat of a dialect; "" is Till's own, nil.
func (s *Service) format(dialect string) (WebhookFormat, error) {
	if dialect == "" {
		return nil, nil
	}
	f := s.formats[dialect]
	if f == nil {
		return nil, fmt.Errorf("service: no webhook format for dialect %q", dialect)
	}
	return f, nil
}

// eventTypes returns the event types an endpoint of dialect subscribes to.
func (s *Service) eventTypes(dialect string) []string {
	if f, _ := s.format(dialect); f != nil {
		return f.EventTypes()
	}
	return till.EventTypes
}

// receives reports whether ep takes event e: in its dialect's name of e's
// type.
func (s *Service) receives(ep *till.WebhookEndpoint, e *till.Event) bool {
	if ep.Dialect == "" {
		return ep.Receives(e.Type)
	}
	f, err := s.format(ep.Dialect)
	if err != nil {
		return false
	}
	typ := f.EventType(e)
	return typ != "" && ep.Receives(typ)
}

// deliverable reports whether ev can be delivered to ep at all: any event
// to an endpoint of Till's own format, only events its dialect has a name
// for to a dialect's endpoint (whatever it subscribed to: a resend may
// name it).
func (s *Service) deliverable(ep *till.WebhookEndpoint, ev *till.Event) bool {
	if ep.Dialect == "" {
		return true
	}
	f, err := s.format(ep.Dialect)
	return err == nil && f.EventType(ev) != ""
}

// renderDelivery returns the body of a delivery of ev to ep at t and, for a
// dialect's endpoint, its signature headers (nil: Till's own signatures).
func (s *Service) renderDelivery(ctx context.Context, ev *till.Event, ep *till.WebhookEndpoint, secrets []string, t time.Time) ([]byte, map[string][]string, error) {
	f, err := s.format(ep.Dialect)
	if err != nil {
		return nil, nil, err
	}
	if f == nil {
		body, err := s.renderEvent(ev)
		return body, nil, err
	}
	body, err := f.Render(ctx, ev, ep, t, lookup{s})
	if err != nil {
		return nil, nil, err
	}
	return body, f.Sign(ep, secrets, ev.ID, t, body), nil
}

// WebhookTest is the outcome of a test delivery: its delivery log entry.
type WebhookTest struct {
	Delivery *till.WebhookDelivery `json:"delivery"`
}

// OpWebhookTest is the operation of a keyed TestWebhookEndpoint.
const OpWebhookTest Operation = "webhook_endpoint.test"

// TestWebhookEndpoint sends a dialect's test event to one of the caller's
// endpoints now, once, and records the attempt in the delivery log under a
// test event id that names no stored event. It returns the delivery
// whatever the endpoint answered (Delivery.Succeeded says whether it took
// it); resource_missing for an unknown or deleted endpoint, state_conflict
// for a disabled one or one of Till's own format (those are tested with a
// real event: POST /v1/events/{id}/resend). A repeat of a keyed request
// that finished returns the first delivery without sending again.
func (s *Service) TestWebhookEndpoint(ctx context.Context, c *Caller, idem *Idem, id string) (*WebhookTest, error) {
	out := &WebhookTest{}
	err := s.idempotent(ctx, c, idem, OpWebhookTest, out, func() error {
		ep, err := s.WebhookEndpoint(ctx, c, id)
		if err != nil {
			return err
		}
		f, err := s.format(ep.Dialect)
		if err != nil {
			return err
		}
		if f == nil {
			return till.Conflict("Webhook endpoint %s receives Till's own events; test it by resending an event (POST /v1/events/{id}/resend).", ep.ID)
		}
		if !ep.Enabled {
			return till.Conflict("Webhook endpoint %s is disabled; enable it before testing it.", ep.ID)
		}
		secrets, err := s.endpointSecrets(ctx, ep)
		if err != nil {
			return err
		}
		real := s.clock.Now()
		body, err := f.RenderTest(ep, real)
		if err != nil {
			return err
		}
		msgID := s.ids.NewID(till.PrefixEvent)
		res := s.webhooks.Send(till.Background(ctx), till.WebhookRequest{URL: ep.URL, Livemode: ep.Livemode, MessageID: msgID,
			Body: body, Timestamp: real, Header: f.Sign(ep, secrets, msgID, real, body)})
		s.obs.WebhookDelivered(res.Delivered(), res.Latency)
		out.Delivery = &till.WebhookDelivery{ID: s.ids.NewID(till.PrefixDelivery), AccountID: ep.AccountID, Livemode: ep.Livemode,
			EventID: msgID, EndpointID: ep.ID, URL: ep.URL, Attempt: 1, Resend: true, Succeeded: res.Delivered(),
			StatusCode: res.StatusCode, Error: res.Error, ResponseExcerpt: res.Excerpt, Latency: res.Latency,
			CreatedAt: s.now(c.Account, c.Livemode)}
		return s.store.Update(ctx, func(tx till.Tx) error {
			if err := tx.CreateWebhookDelivery(ctx, out.Delivery); err != nil {
				return err
			}
			return s.remember(ctx, tx, c, idem, OpWebhookTest, out, ep.ID)
		})
	})
	return out, err
}

// validEventTypes checks the event types of an endpoint of dialect.
func validEventTypes(v *till.Validator, events, known []string) {
	if events == nil {
		return
	}
	if len(events) == 0 {
		v.Add("events", "list at least one event type, or \"*\" for all")
	}
	if len(events) > len(known) {
		v.Add("events", "list at most %d event types", len(known))
	}
	for i, e := range events {
		switch {
		case e == "*" && len(events) > 1:
			v.Add("events", "\"*\" receives every event type and cannot be combined with others")
		case e != "*" && !slices.Contains(known, e):
			v.Add("events", "events[%d]: unknown event type %q", i, e)
		case slices.Index(events, e) != i:
			v.Add("events", "events[%d]: %q is listed twice", i, e)
		}
	}
}
