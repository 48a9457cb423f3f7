package commet

import (
	"encoding/json"
	"net/http"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// webhookCreate is the body of POST /webhooks.
type webhookCreate struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
	APIVersion  *string  `json:"apiVersion"`
}

// webhookUpdate is the body of PUT /webhooks/{id}: the fields sent are
// changed; a null description clears it.
type webhookUpdate struct {
	URL         *string         `json:"url"`
	Events      []string        `json:"events"`
	Description json.RawMessage `json:"description"`
	IsActive    *bool           `json:"isActive"`
	APIVersion  *string         `json:"apiVersion"`
}

// apiVersion refuses an apiVersion other than the one the dialect renders:
// a setting Till would not honour is not accepted.
func apiVersion(v *till.Validator, p *string) {
	if p != nil && *p != APIVersion {
		v.Add("apiVersion", "apiVersion must be %s, the Commet API version Till speaks", APIVersion)
	}
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *service.Idem, in webhookCreate) (any, error) {
		var v till.Validator
		required(&v, field{"url", in.URL == ""}, field{"events", in.Events == nil})
		apiVersion(&v, in.APIVersion)
		if err := v.Err(); err != nil {
			return nil, err
		}
		out, err := s.svc.CreateWebhookEndpoint(r.Context(), c, idem, service.WebhookEndpointParams{URL: in.URL,
			Events: in.Events, Description: in.Description, Dialect: Name})
		if err != nil {
			return nil, err
		}
		wh := webhookOf(out.Endpoint)
		wh.SecretKey = out.Secret
		return wh, nil
	})
}

// endpoint returns one of the caller's endpoints that the dialect created:
// the others (the native API's) are not found here.
func (s *Server) endpoint(r *http.Request, id string) (*till.WebhookEndpoint, error) {
	ep, err := s.svc.WebhookEndpoint(r.Context(), callerOf(r), id)
	if err != nil {
		return nil, err
	}
	if ep.Dialect != Name {
		return nil, till.NotFound("webhook", id)
	}
	return ep, nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	ep, err := s.endpoint(r, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, webhookOf(ep))
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "limit", "cursor")
	p := q.Page("cursor")
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	// An account has at most a few endpoints per mode; the dialect's are
	// those among them it created, paged here.
	all, _, err := s.svc.ListWebhookEndpoints(r.Context(), callerOf(r), till.Page{Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []Webhook{}
	started := p.StartingAfter == ""
	more := false
	for _, ep := range all {
		if ep.Dialect != Name {
			continue
		}
		if !started {
			started = ep.ID == p.StartingAfter
			continue
		}
		if len(out) == p.Limit {
			more = true
			break
		}
		out = append(out, webhookOf(ep))
	}
	s.list(w, out, more, lastID(len(out), func(i int) string { return out[i].ID }))
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *service.Idem, in webhookUpdate) (any, error) {
		var v till.Validator
		apiVersion(&v, in.APIVersion)
		p := service.WebhookEndpointUpdateParams{URL: in.URL, Events: in.Events, Enabled: in.IsActive}
		if in.Description != nil {
			var d *string
			if err := json.Unmarshal(in.Description, &d); err != nil {
				v.Add("description", "description must be a string or null")
			}
			p.Description = new(string)
			if d != nil {
				*p.Description = *d
			}
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		if _, err := s.endpoint(r, r.PathValue("id")); err != nil {
			return nil, err
		}
		ep, err := s.svc.UpdateWebhookEndpoint(r.Context(), c, idem, r.PathValue("id"), p)
		if err != nil {
			return nil, err
		}
		return webhookOf(ep), nil
	})
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *service.Idem, _ struct{}) (any, error) {
		if _, err := s.endpoint(r, r.PathValue("id")); err != nil {
			return nil, err
		}
		d, err := s.svc.DeleteWebhookEndpoint(r.Context(), c, idem, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return Deleted{ID: d.ID, Object: "webhook", Deleted: true, Livemode: c.Livemode}, nil
	})
}

// testWebhook sends a test event to the endpoint now and reports whether
// it answered 2xx; the attempt is in the endpoint's delivery log. A repeat
// with the same Idempotency-Key answers the same without sending again.
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *service.Idem, _ struct{}) (any, error) {
		if _, err := s.endpoint(r, r.PathValue("id")); err != nil {
			return nil, err
		}
		t, err := s.svc.TestWebhookEndpoint(r.Context(), c, idem, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return WebhookTest{Success: t.Delivery.Succeeded, DeliveryID: t.Delivery.ID, DeliveredAt: t.Delivery.CreatedAt.UTC()}, nil
	})
}
