package http

import (
	"net/http"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// The orders and subscriptions routes (the native side of the Orders &
// Subscriptions API).
func (s *Server) orderRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/v1/orders", Summary: "Create an order", auth: authSecret, h: s.createOrder},
		{Method: "GET", Path: "/v1/orders", Summary: "List orders", auth: authCustomer, h: s.listOrders},
		{Method: "POST", Path: "/v1/orders/pay", Summary: "Pay one or several orders with a saved payment method", auth: authCustomer, h: s.payOrders},
		{Method: "GET", Path: "/v1/orders/{id}", Summary: "Retrieve an order", auth: authCustomer, h: s.getOrder},
		{Method: "POST", Path: "/v1/orders/{id}/cancel", Summary: "Cancel an open order", auth: authSecret, h: s.cancelOrder},
		{Method: "POST", Path: "/v1/subscriptions", Summary: "Create a subscription", auth: authSecret, h: s.createSubscription},
		{Method: "GET", Path: "/v1/subscriptions", Summary: "List subscriptions", auth: authCustomer, h: s.listSubscriptions},
		{Method: "GET", Path: "/v1/subscriptions/{id}", Summary: "Retrieve a subscription", auth: authCustomer, h: s.getSubscription},
		{Method: "PATCH", Path: "/v1/subscriptions/{id}", Summary: "Update a subscription", auth: authSecret, h: s.updateSubscription},
		{Method: "POST", Path: "/v1/subscriptions/{id}/cancel", Summary: "Cancel a subscription", auth: authSecret, h: s.cancelSubscription},
	}
}

func lineParams(in []api.LineItemInput) []service.LineItemParams {
	out := make([]service.LineItemParams, 0, len(in))
	for _, l := range in {
		out = append(out, service.LineItemParams{Description: l.Description, Quantity: l.Quantity, UnitAmount: l.UnitAmount, TaxCode: l.TaxCode})
	}
	return out
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.OrderCreate) (any, error) {
		return nilIfErr(s.svc.CreateOrder(r.Context(), c, idem, service.OrderParams{CustomerID: in.CustomerID, Currency: in.Currency,
			Lines: lineParams(in.Lines), Description: in.Description, Metadata: in.Metadata}))
	})
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) {
	o, err := s.svc.Order(r.Context(), callerOf(r).Caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, o)
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "limit", "startingAfter", "customerId")
	f := till.OrderFilter{Page: q.Page("startingAfter"), CustomerID: q.Str("customerId")}
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	items, more, err := s.svc.ListOrders(r.Context(), callerOf(r).Caller, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.Order, len(items))
	for i, o := range items {
		out[i] = api.OrderOf(o.Order, o.Status)
	}
	s.list(w, out, more, lastID(len(items), func(i int) string { return items[i].Order.ID }))
}

func (s *Server) cancelOrder(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, _ struct{}) (any, error) {
		return nilIfErr(s.svc.CancelOrder(r.Context(), c, idem, r.PathValue("id")))
	})
}

func (s *Server) payOrders(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.OrdersPay) (any, error) {
		return nilIfErr(s.svc.PayOrders(r.Context(), c, idem, service.PayOrdersParams{OrderIDs: in.Orders,
			PaymentMethodID: in.PaymentMethodID, Description: in.Description, Metadata: in.Metadata}))
	})
}

func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.SubscriptionCreate) (any, error) {
		return nilIfErr(s.svc.CreateSubscription(r.Context(), c, idem, service.SubscriptionParams{CustomerID: in.CustomerID,
			PaymentMethodID: in.PaymentMethodID, Currency: in.Currency, Items: lineParams(in.Items), Description: in.Description,
			Metadata: in.Metadata, Interval: in.Interval, IntervalCount: in.IntervalCount, StartDate: in.StartDate}))
	})
}

func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request) {
	sub, err := s.svc.Subscription(r.Context(), callerOf(r).Caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, sub)
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "limit", "startingAfter", "customerId")
	f := till.SubscriptionFilter{Page: q.Page("startingAfter"), CustomerID: q.Str("customerId")}
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	items, more, err := s.svc.ListSubscriptions(r.Context(), callerOf(r).Caller, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.Subscription, len(items))
	for i, sv := range items {
		out[i] = api.SubscriptionOf(sv.Subscription, sv.Status)
	}
	s.list(w, out, more, lastID(len(items), func(i int) string { return items[i].Subscription.ID }))
}

func (s *Server) updateSubscription(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.SubscriptionUpdate) (any, error) {
		return nilIfErr(s.svc.UpdateSubscription(r.Context(), c, idem, r.PathValue("id"),
			service.SubscriptionUpdateParams{PaymentMethodID: in.PaymentMethodID, Metadata: in.Metadata}))
	})
}

func (s *Server) cancelSubscription(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, _ struct{}) (any, error) {
		return nilIfErr(s.svc.CancelSubscription(r.Context(), c, idem, r.PathValue("id")))
	})
}
