package http

import (
	"errors"
	"net/http"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// view converts a domain object into its wire form; wire types pass through.
func view(v any, livemode bool) any {
	switch o := v.(type) {
	case *till.Payment:
		return api.PaymentOf(o)
	case *till.Customer:
		return api.CustomerOf(o)
	case *till.Account:
		return api.AccountOf(o, livemode)
	case *till.APIKey:
		return api.KeyOf(o)
	case *till.ProcessorRecord:
		return api.ProcessorChargeOf(o)
	case *till.Refund:
		return api.RefundOf(o)
	case *till.Document:
		return api.DocumentOf(o)
	case *service.SavedMethod:
		return api.PaymentMethodOf(o.Method, o.Default)
	case *service.Token:
		pm := api.PaymentMethodOf(o.Method, false)
		return api.Token{ID: o.Method.ID, Object: "token", Card: pm.Card, Livemode: o.Method.Livemode,
			CreatedAt: o.Method.CreatedAt.UTC(), ExpiresAt: o.ExpiresAt.UTC()}
	case *service.Deleted:
		return api.DeletedObject{ID: o.ID, Object: o.Kind, Deleted: true}
	case *service.AccountKeys:
		return AccountKeysOf(o)
	case *service.NewKey:
		return KeyOf(o)
	case *till.WebhookEndpoint:
		return api.WebhookEndpointOf(o)
	case *service.WebhookSecret:
		return api.WebhookEndpointWithSecretOf(o.Endpoint, o.Secret)
	case *service.Resend:
		return api.Resend{Object: "webhook_resend", EventID: o.EventID, EndpointIDs: o.EndpointIDs}
	case *service.OrderView:
		return api.OrderOf(o.Order, o.Status)
	case *service.SubscriptionView:
		return api.SubscriptionOf(o.Subscription, o.Status)
	case *till.CustomerSession:
		return api.CustomerSessionOf(o)
	case *service.NewSession:
		out := api.CustomerSessionOf(o.Session)
		out.Token = o.Token
		return out
	case till.CatalogObject:
		return catalogView(o)
	case *service.Clock:
		return api.Clock{Object: "test_clock", Now: o.Now.UTC(), OffsetSeconds: int64(o.Offset / time.Second)}
	}
	return v
}

// AccountKeysOf renders a new account's keys as the native API answers
// its creation (and as till serve keeps them in its keys file).
func AccountKeysOf(k *service.AccountKeys) *api.NewAccountKeys {
	return &api.NewAccountKeys{ID: k.AccountID, TestSecretKey: k.TestSecretKey, TestPublishableKey: k.TestPublishableKey,
		LiveSecretKey: k.LiveSecretKey, LivePublishableKey: k.LivePublishableKey}
}

// KeyOf renders a new API key with its secret.
func KeyOf(k *service.NewKey) api.Key {
	out := api.KeyOf(k.Key)
	out.Secret = k.Secret
	return out
}

// encode renders v as JSON (middleware.EncodeJSON).
func encode(v any) []byte { return middleware.EncodeJSON(v) }

// successBody is the envelope of a single object.
func successBody(v any, livemode bool) []byte {
	return encode(api.Envelope[any]{Success: true, Data: view(v, livemode)})
}

// errorBody renders err as the error envelope and returns its status. An
// unexpected error shows nothing of its cause.
func (s *Server) errorBody(err error) (int, []byte) {
	e, ok := till.AsError(err)
	if !ok {
		e = till.Internal(err)
	}
	k := kindOf(e.Code)
	msg := e.Message
	if e.Code == till.EInternal || msg == "" {
		msg = "An internal error occurred. The request id identifies it in the logs."
	}
	out := &api.Error{Type: k.typ, Code: string(e.Code), Message: msg, Param: e.Param,
		DocURL: s.baseURL + "/docs#error-" + string(e.Code)}
	switch {
	case e.Decline != nil:
		out.Details = e.Decline
	case len(e.Fields) > 0:
		out.Details = e.Fields
	}
	return k.status, encode(api.Envelope[any]{Success: false, Error: out})
}

func writeBody(w http.ResponseWriter, status int, body []byte) { middleware.WriteJSON(w, status, body) }

// ok writes a single object.
func (s *Server) ok(w http.ResponseWriter, r *http.Request, v any) {
	writeBody(w, http.StatusOK, successBody(v, callerOf(r).live()))
}

// list writes a page of objects.
func (s *Server) list(w http.ResponseWriter, items any, hasMore bool, nextCursor string) {
	var cursor *string
	if hasMore {
		cursor = &nextCursor
	}
	writeBody(w, http.StatusOK, encode(api.Envelope[any]{Success: true, Data: items, HasMore: &hasMore, NextCursor: cursor}))
}

// fail writes err in the error envelope, logging unexpected errors with the
// request id.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, body := s.errorBody(err)
	if status >= 500 {
		s.log.Error("request failed", "request_id", requestID(r), "method", r.Method, "path", logPath(r.URL.Path), "err", err)
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeBody(w, status, body)
}

// respond writes a use case's outcome: its result or its error, the same
// on a first answer and on a replay of its Idempotency-Key (the service
// returns the stored outcome), or a response stored as rendered before the
// service stored outcomes.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, idem *idemRequest, v any, err error) {
	if idem != nil && idem.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	var stored *service.ReplayedResponse
	if errors.As(err, &stored) {
		writeBody(w, stored.Status, stored.Body)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, v)
}
