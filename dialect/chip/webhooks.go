package chip

import (
	"net/http"
	"strings"

	"github.com/tillpay/till"
	"github.com/tillpay/till/service"
)

// publicKey is GET /public_key/: the PEM of the public half of the
// account's callback key in the key's mode, as a JSON string (CHIP's
// answer).
func (s *Server) publicKey(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	k, err := s.svc.CallbackPublicKey(r.Context(), c)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	render(w, k)
}

// Webhook is CHIP's Webhook object: a webhook endpoint of the dialect.
type Webhook struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	CreatedOn int64  `json:"created_on"`
	UpdatedOn int64  `json:"updated_on"`
	Title     string `json:"title"`
	AllEvents bool   `json:"all_events"`
	// PublicKey verifies the webhook's X-Signature: the account's
	// callback key (one per account and mode, also GET /public_key/).
	PublicKey string   `json:"public_key"`
	Events    []string `json:"events"`
	Callback  string   `json:"callback"`
}

// webhookList is the answer of GET /webhooks/.
type webhookList struct {
	Results  []Webhook `json:"results"`
	Next     *string   `json:"next"`
	Previous *string   `json:"previous"`
}

// toWebhook renders an endpoint with the account's public key.
func toWebhook(ep *till.WebhookEndpoint, publicKey string) Webhook {
	out := Webhook{ID: wireID(ep.ID, till.PrefixWebhook), Type: "webhook", CreatedOn: ep.CreatedAt.Unix(),
		UpdatedOn: ep.UpdatedAt.Unix(), Title: ep.Description, PublicKey: publicKey, Events: []string{}, Callback: ep.URL}
	for _, e := range ep.Events {
		if e == "*" {
			out.AllEvents = true
			continue
		}
		out.Events = append(out.Events, e)
	}
	return out
}

// webhookField names a service field of an endpoint as the request's.
func webhookField(path string) string {
	switch path {
	case "url":
		return "callback"
	case "description":
		return "title"
	}
	return path
}

// webhookPatch is the body of POST /webhooks/ and PUT /webhooks/{id}/
// (every field) and of PATCH /webhooks/{id}/ (any field).
type webhookPatch struct {
	Title     *string  `json:"title"`
	AllEvents *bool    `json:"all_events"`
	Events    []string `json:"events"`
	Callback  *string  `json:"callback"`
}

// check validates the fields of a webhook's create or change; full says
// every field is required (POST and PUT). It returns the endpoint's event
// types, nil when unchanged.
func (in webhookPatch) check(v *till.Validator, full bool) []string {
	if full || in.Title != nil {
		if in.Title == nil || strings.TrimSpace(*in.Title) == "" {
			v.Add("title", "title is required")
		}
	}
	if full || in.Callback != nil {
		if in.Callback == nil || strings.TrimSpace(*in.Callback) == "" {
			v.Add("callback", "callback is required: the URL that receives the events")
		}
	}
	all := in.AllEvents != nil && *in.AllEvents
	switch {
	case all && len(in.Events) > 0:
		v.Add("events", "give either all_events or events, not both")
	case all:
		return []string{"*"}
	case len(in.Events) > 0:
		return in.Events
	case full || in.AllEvents != nil || in.Events != nil:
		v.Add("events", "events needs at least one event type, or set all_events")
	}
	return nil
}

// webhookInput decodes and checks the body of a webhook's create or change
// (every field when full) and returns it with its event types (nil:
// unchanged); a bad body is answered, reporting false.
func webhookInput(w http.ResponseWriter, r *http.Request, body []byte, full bool) (webhookPatch, []string, *service.Idem, bool) {
	in, idem, ok := input[webhookPatch](w, r, body)
	if !ok {
		return in, nil, nil, false
	}
	var v till.Validator
	events := in.check(&v, full)
	if err := v.Err(); err != nil {
		WriteError(w, r, err)
		return in, nil, nil, false
	}
	return in, events, idem, true
}

// createWebhook is POST /webhooks/: an endpoint in the dialect's format.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	in, events, idem, ok := webhookInput(w, r, body, true)
	if !ok {
		return
	}
	out, err := s.svc.CreateWebhookEndpoint(r.Context(), c, idem, service.WebhookEndpointParams{URL: *in.Callback,
		Events: events, Description: *in.Title, Dialect: APIName})
	if err != nil {
		WriteError(w, r, till.RenameFields(err, webhookField))
		return
	}
	s.webhook(w, r, c, out.Endpoint)
}

// webhook responds with ep as a Webhook.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request, c *service.Caller, ep *till.WebhookEndpoint) {
	k, err := s.svc.CallbackPublicKey(r.Context(), c)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	render(w, toWebhook(ep, k))
}

// endpoint returns the caller's endpoint the path names when the dialect
// created it: the native API's, another dialect's and a purchase's
// success_callback are not found here.
func (s *Server) endpoint(r *http.Request, c *service.Caller) (*till.WebhookEndpoint, error) {
	id := tillID(r.PathValue("id"), till.PrefixWebhook)
	ep, err := s.svc.WebhookEndpoint(r.Context(), c, id)
	if err != nil {
		return nil, err
	}
	if ep.Dialect != APIName || ep.ObjectID != "" {
		return nil, till.NotFound("webhook", id)
	}
	return ep, nil
}

// getWebhook is GET /webhooks/{id}/.
func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	ep, err := s.endpoint(r, c)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	s.webhook(w, r, c, ep)
}

// listWebhooks is GET /webhooks/: the dialect's endpoints, newest first, on
// one page (an account has at most 16 per mode).
func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	all, err := s.svc.DialectWebhookEndpoints(r.Context(), c, APIName)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	k, err := s.svc.CallbackPublicKey(r.Context(), c)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	out := webhookList{Results: []Webhook{}}
	for _, ep := range all {
		out.Results = append(out.Results, toWebhook(ep, k))
	}
	render(w, out)
}

// putWebhook is PUT /webhooks/{id}/: every field anew.
func (s *Server) putWebhook(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	s.changeWebhook(w, r, c, body, true)
}

// patchWebhook is PATCH /webhooks/{id}/: the fields sent.
func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	s.changeWebhook(w, r, c, body, false)
}

// changeWebhook updates the webhook the path names with the fields of
// body, every one of them when full.
func (s *Server) changeWebhook(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte, full bool) {
	in, events, idem, ok := webhookInput(w, r, body, full)
	if !ok {
		return
	}
	ep, err := s.endpoint(r, c)
	if err == nil {
		ep, err = s.svc.UpdateWebhookEndpoint(r.Context(), c, idem, ep.ID, service.WebhookEndpointUpdateParams{
			URL: in.Callback, Description: in.Title, Events: events})
	}
	if err != nil {
		WriteError(w, r, till.RenameFields(err, webhookField))
		return
	}
	s.webhook(w, r, c, ep)
}

// deleteWebhook is DELETE /webhooks/{id}/: 204, the endpoint receives
// nothing more.
func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	idem, err := idempotency(r, body)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	ep, err := s.endpoint(r, c)
	if err == nil {
		_, err = s.svc.DeleteWebhookEndpoint(r.Context(), c, idem, ep.ID)
	}
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
