package http

import (
	"net/http"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// --- webhook endpoints and deliveries

func (s *Server) createWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.WebhookEndpointCreate) (any, error) {
		return nilIfErr(s.svc.CreateWebhookEndpoint(r.Context(), c, idem, service.WebhookEndpointParams{
			URL: in.URL, Events: in.Events, Description: in.Description, Enabled: in.Enabled, Metadata: in.Metadata}))
	})
}

func (s *Server) getWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	ep, err := s.svc.WebhookEndpoint(r.Context(), callerOf(r).Caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, ep)
}

func (s *Server) listWebhookEndpoints(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "limit", "startingAfter")
	page := q.Page("startingAfter")
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	eps, more, err := s.svc.ListWebhookEndpoints(r.Context(), callerOf(r).Caller, page)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.WebhookEndpoint, len(eps))
	for i, ep := range eps {
		out[i] = api.WebhookEndpointOf(ep)
	}
	s.list(w, out, more, lastID(len(eps), func(i int) string { return eps[i].ID }))
}

func (s *Server) updateWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.WebhookEndpointUpdate) (any, error) {
		p := service.WebhookEndpointUpdateParams{URL: in.URL, Description: in.Description, Enabled: in.Enabled, Metadata: in.Metadata}
		if in.Events != nil {
			p.Events = *in.Events
			if p.Events == nil {
				p.Events = []string{}
			}
		}
		return nilIfErr(s.svc.UpdateWebhookEndpoint(r.Context(), c, idem, r.PathValue("id"), p))
	})
}

func (s *Server) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, _ struct{}) (any, error) {
		return nilIfErr(s.svc.DeleteWebhookEndpoint(r.Context(), c, idem, r.PathValue("id")))
	})
}

func (s *Server) rollWebhookSecret(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.RollSecretRequest) (any, error) {
		var p service.RollSecretParams
		if in.ExpiresInSeconds != nil {
			n := *in.ExpiresInSeconds
			if n < 0 || n > int64(till.WebhookMaxSecretOverlap/time.Second) {
				return nil, till.ParamError(till.EValidation, "expiresInSeconds", "expiresInSeconds must be between 0 and %d (7 days)", int64(till.WebhookMaxSecretOverlap/time.Second))
			}
			d := time.Duration(n) * time.Second
			p.Overlap = &d
		}
		return nilIfErr(s.svc.RollWebhookSecret(r.Context(), c, idem, r.PathValue("id"), p))
	})
}

func (s *Server) eventDeliveries(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "limit", "startingAfter")
	page := q.Page("startingAfter")
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	ds, more, err := s.svc.WebhookDeliveries(r.Context(), callerOf(r).Caller, r.PathValue("id"), page)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.WebhookDelivery, len(ds))
	for i, d := range ds {
		out[i] = api.WebhookDeliveryOf(d)
	}
	s.list(w, out, more, lastID(len(ds), func(i int) string { return ds[i].ID }))
}

func (s *Server) resendEvent(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.ResendRequest) (any, error) {
		return nilIfErr(s.svc.ResendEvent(r.Context(), c, idem, r.PathValue("id"), in.EndpointID))
	})
}
