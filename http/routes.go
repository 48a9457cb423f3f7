package http

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// routeTable is every endpoint of the native API.
func (s *Server) routeTable() []Route {
	return append(append(s.coreRoutes(), s.orderRoutes()...), s.catalogRoutes()...)
}

// coreRoutes are the endpoints of accounts, customers, payments, documents,
// events and webhooks, and the test-mode and admin tools.
func (s *Server) coreRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/healthz", Summary: "Liveness", auth: authNone, h: s.healthz},
		{Method: "GET", Path: "/readyz", Summary: "Readiness", auth: authNone, h: s.readyz},
		{Method: "GET", Path: "/openapi.json", Summary: "This API's OpenAPI document", auth: authNone, h: s.openapi},

		{Method: "GET", Path: "/v1/account", Summary: "Retrieve the account", auth: authSecret, h: s.getAccount},
		{Method: "PATCH", Path: "/v1/account", Summary: "Update the account's settings", auth: authSecret, h: s.updateAccount},

		{Method: "POST", Path: "/v1/customers", Summary: "Create a customer", auth: authSecret, h: s.createCustomer},
		{Method: "GET", Path: "/v1/customers", Summary: "List customers", auth: authSecret, h: s.listCustomers},
		{Method: "GET", Path: "/v1/customers/{id}", Summary: "Retrieve a customer", auth: authCustomer, h: s.getCustomer},
		{Method: "PATCH", Path: "/v1/customers/{id}", Summary: "Update a customer", auth: authSecret, h: s.updateCustomer},
		{Method: "DELETE", Path: "/v1/customers/{id}", Summary: "Delete a customer", auth: authSecret, h: s.deleteCustomer},
		{Method: "POST", Path: "/v1/customers/{id}/sessions", Summary: "Create a customer session (a short-lived token that sees only this customer's objects)", auth: authSecret, h: s.createSession},
		{Method: "DELETE", Path: "/v1/customers/{id}/sessions/{sessionId}", Summary: "Revoke a customer session", auth: authSecret, h: s.revokeSession},
		{Method: "POST", Path: "/v1/customers/{id}/payment-methods", Summary: "Save a card for a customer", auth: authSecret, h: s.addPaymentMethod},
		{Method: "GET", Path: "/v1/customers/{id}/payment-methods", Summary: "List a customer's payment methods", auth: authSecret, h: s.listPaymentMethods},
		{Method: "GET", Path: "/v1/payment-methods/{id}", Summary: "Retrieve a payment method", auth: authSecret, h: s.getPaymentMethod},
		{Method: "DELETE", Path: "/v1/payment-methods/{id}", Summary: "Detach a payment method (destroys its card data)", auth: authSecret, h: s.detachPaymentMethod},
		{Method: "POST", Path: "/v1/tokens", Summary: "Tokenize a card (publishable key)", auth: authPublishable, h: s.createToken, cors: true},

		{Method: "POST", Path: "/v1/payments/charge", Summary: "Charge a customer's saved payment method off-session", auth: authSecret, h: s.charge},
		{Method: "GET", Path: "/v1/payments", Summary: "List payments", auth: authCustomer, h: s.listPayments},
		{Method: "GET", Path: "/v1/payments/{id}", Summary: "Retrieve a payment", auth: authCustomer, h: s.getPayment},
		{Method: "PATCH", Path: "/v1/payments/{id}", Summary: "Update a payment", auth: authSecret, h: s.updatePayment},
		{Method: "POST", Path: "/v1/payments/{id}/cancel", Summary: "Cancel a scheduled charge, a planned retry, a pending link or a payment that requires action", auth: authSecret, h: s.cancelPayment(false)},
		{Method: "POST", Path: "/v1/payment-links", Summary: "Create a payment link (a hosted checkout page)", auth: authSecret, h: s.createPaymentLink},
		{Method: "POST", Path: "/v1/payment-links/{id}/cancel", Summary: "Cancel a payment link nobody has paid", auth: authSecret, h: s.cancelPayment(true)},

		{Method: "POST", Path: "/v1/payments/{id}/capture", Summary: "Capture a hold, in full or in part", auth: authSecret, h: s.capture},
		{Method: "POST", Path: "/v1/payments/{id}/release", Summary: "Release a hold", auth: authSecret, h: s.release},
		{Method: "POST", Path: "/v1/payments/{id}/refunds", Summary: "Refund a payment, in full or in part", auth: authSecret, h: s.createRefund},
		{Method: "GET", Path: "/v1/payments/{id}/refunds", Summary: "List a payment's refunds", auth: authSecret, h: s.listRefunds},
		{Method: "GET", Path: "/v1/refunds/{id}", Summary: "Retrieve a refund", auth: authSecret, h: s.getRefund},

		{Method: "GET", Path: "/v1/invoices", Summary: "List invoices", auth: authSecret, h: s.listDocuments(till.DocInvoice)},
		{Method: "GET", Path: "/v1/invoices/{id}", Summary: "Retrieve an invoice", auth: authSecret, h: s.getDocument(till.DocInvoice)},
		{Method: "GET", Path: "/v1/invoices/{id}/pdf", Summary: "Download an invoice as PDF", auth: authSecret, h: s.documentPDF(till.DocInvoice)},
		{Method: "GET", Path: "/v1/credit-notes", Summary: "List credit notes", auth: authSecret, h: s.listDocuments(till.DocCreditNote)},
		{Method: "GET", Path: "/v1/credit-notes/{id}", Summary: "Retrieve a credit note", auth: authSecret, h: s.getDocument(till.DocCreditNote)},
		{Method: "GET", Path: "/v1/credit-notes/{id}/pdf", Summary: "Download a credit note as PDF", auth: authSecret, h: s.documentPDF(till.DocCreditNote)},

		{Method: "GET", Path: "/v1/balance", Summary: "The account's balance per currency, from the ledger", auth: authSecret, h: s.balance},
		{Method: "GET", Path: "/v1/ledger/entries", Summary: "List journal entries", auth: authSecret, h: s.ledgerEntries},

		{Method: "GET", Path: "/v1/events", Summary: "List events", auth: authSecret, h: s.listEvents},
		{Method: "GET", Path: "/v1/events/{id}", Summary: "Retrieve an event", auth: authSecret, h: s.getEvent},
		{Method: "GET", Path: "/v1/events/{id}/deliveries", Summary: "List an event's webhook deliveries (the delivery log)", auth: authSecret, h: s.eventDeliveries},
		{Method: "POST", Path: "/v1/events/{id}/resend", Summary: "Deliver an event once more", auth: authSecret, h: s.resendEvent},

		{Method: "POST", Path: "/v1/webhook-endpoints", Summary: "Create a webhook endpoint (its secret is shown once)", auth: authSecret, h: s.createWebhookEndpoint},
		{Method: "GET", Path: "/v1/webhook-endpoints", Summary: "List webhook endpoints", auth: authSecret, h: s.listWebhookEndpoints},
		{Method: "GET", Path: "/v1/webhook-endpoints/{id}", Summary: "Retrieve a webhook endpoint", auth: authSecret, h: s.getWebhookEndpoint},
		{Method: "PATCH", Path: "/v1/webhook-endpoints/{id}", Summary: "Update a webhook endpoint", auth: authSecret, h: s.updateWebhookEndpoint},
		{Method: "DELETE", Path: "/v1/webhook-endpoints/{id}", Summary: "Delete a webhook endpoint", auth: authSecret, h: s.deleteWebhookEndpoint},
		{Method: "POST", Path: "/v1/webhook-endpoints/{id}/roll-secret", Summary: "Roll a webhook endpoint's secret (the old one signs beside it for an overlap)", auth: authSecret, h: s.rollWebhookSecret},

		{Method: "POST", Path: "/hooks/stripe/{accountId}", Summary: "Receive the account's Stripe webhooks (verified with its processor.webhookSecret)", auth: authNone, h: s.processorHook("stripe")},

		{Method: "GET", Path: "/v1/test/emails", Summary: "The local mailbox (test mode)", auth: authSecret, h: s.emails},
		{Method: "GET", Path: "/v1/test/processor/charges", Summary: "The simulator's own record (test mode)", auth: authSecret, h: s.processorCharges},
		{Method: "POST", Path: "/v1/test/clock/advance", Summary: "Move the test-mode clock forward", auth: authSecret, h: s.advanceClock},
		{Method: "GET", Path: "/v1/test/events/poll", Summary: "Wait for the events after a cursor, oldest first (test mode; till listen)", auth: authSecret, h: s.pollEvents},

		{Method: "POST", Path: "/v1/admin/accounts", Summary: "Create an account with its keys (admin)", auth: authAdmin, h: s.adminCreateAccount},
		{Method: "POST", Path: "/v1/admin/accounts/{id}/keys", Summary: "Create an API key (admin)", auth: authAdmin, h: s.adminCreateKey},
		{Method: "DELETE", Path: "/v1/admin/keys/{id}", Summary: "Revoke an API key (admin)", auth: authAdmin, h: s.adminRevokeKey},
	}
}

// processorHook receives the webhooks of processor name for an account:
// 200 {"received": true} once applied (or ignored), a 4xx the processor
// will not fix by sending again for a signature that does not verify, and
// a 409 or 5xx, which it retries, when the event cannot be applied yet.
func (s *Server) processorHook(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Stripe-Signature")
		ev, err := s.svc.ReceiveProcessorEvent(r.Context(), name, r.PathValue("accountId"), bodyOf(r), header)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.ok(w, r, map[string]any{"received": true, "id": ev.ID, "type": ev.Type})
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeBody(w, http.StatusOK, []byte(`{"status":"ok"}`+"\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			s.fail(w, r, till.Errorf(till.EUnavailable, "Not ready: the database does not answer."))
			return
		}
	}
	writeBody(w, http.StatusOK, []byte(`{"status":"ready"}`+"\n"))
}

// --- account

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	a, err := s.svc.Account(r.Context(), callerOf(r).Caller)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, a)
}

func (s *Server) updateAccount(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.AccountUpdate) (any, error) {
		return nilIfErr(s.svc.UpdateAccount(r.Context(), c, idem, accountParams(in)))
	})
}

// nilIfErr returns a typed nil pointer as an untyped nil, so that respond
// sees "no object" on error.
func nilIfErr[T any](v *T, err error) (any, error) {
	if v == nil {
		return nil, err
	}
	return v, err
}

// --- customers and payment methods

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.CustomerCreate) (any, error) {
		return nilIfErr(s.svc.CreateCustomer(r.Context(), c, idem, customerParams(in)))
	})
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) {
	cust, err := s.svc.Customer(r.Context(), callerOf(r).Caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, cust)
}

func (s *Server) updateCustomer(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.CustomerUpdate) (any, error) {
		return nilIfErr(s.svc.UpdateCustomer(r.Context(), c, idem, r.PathValue("id"), customerUpdateParams(in)))
	})
}

func (s *Server) deleteCustomer(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, _ struct{}) (any, error) {
		return nilIfErr(s.svc.DeleteCustomer(r.Context(), c, idem, r.PathValue("id")))
	})
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.CustomerSessionCreate) (any, error) {
		return nilIfErr(s.svc.CreateCustomerSession(r.Context(), c, idem, r.PathValue("id"), service.SessionParams{ExpiresIn: in.ExpiresIn}))
	})
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, _ struct{}) (any, error) {
		return nilIfErr(s.svc.RevokeCustomerSession(r.Context(), c, idem, r.PathValue("id"), r.PathValue("sessionId")))
	})
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "limit", "startingAfter", "email", "externalId", "createdFrom", "createdTo")
	f := till.CustomerFilter{Page: q.Page("startingAfter"), Email: q.Str("email"), ExternalID: q.Str("externalId"),
		CreatedFrom: q.Time("createdFrom"), CreatedTo: q.Time("createdTo")}
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	items, more, err := s.svc.ListCustomers(r.Context(), callerOf(r).Caller, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.Customer, len(items))
	for i, c := range items {
		out[i] = api.CustomerOf(c)
	}
	s.list(w, out, more, lastID(len(items), func(i int) string { return items[i].ID }))
}

func lastID(n int, id func(int) string) string {
	if n == 0 {
		return ""
	}
	return id(n - 1)
}

func (s *Server) addPaymentMethod(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.PaymentMethodCreate) (any, error) {
		pm, isDefault, err := s.svc.AddPaymentMethod(r.Context(), c, idem, r.PathValue("id"), paymentMethodParams(in))
		if err != nil || pm == nil {
			return nil, err
		}
		return api.PaymentMethodOf(pm, isDefault), nil
	})
}

func (s *Server) listPaymentMethods(w http.ResponseWriter, r *http.Request) {
	if err := middleware.NewQuery(r).Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	pms, def, err := s.svc.ListPaymentMethods(r.Context(), callerOf(r).Caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.PaymentMethod, len(pms))
	for i, pm := range pms {
		out[i] = api.PaymentMethodOf(pm, pm.ID == def)
	}
	s.list(w, out, false, "")
}

func (s *Server) getPaymentMethod(w http.ResponseWriter, r *http.Request) {
	pm, isDefault, err := s.svc.PaymentMethod(r.Context(), callerOf(r).Caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, api.PaymentMethodOf(pm, isDefault))
}

func (s *Server) detachPaymentMethod(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, _ struct{}) (any, error) {
		pm, err := s.svc.DetachPaymentMethod(r.Context(), c, idem, r.PathValue("id"))
		if err != nil || pm == nil {
			return nil, err
		}
		return api.PaymentMethodOf(pm, false), nil
	})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	if err := allowOrigin(r, callerOf(r).Account); err != nil {
		s.fail(w, r, err)
		return
	}
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.TokenCreate) (any, error) {
		return nilIfErr(s.svc.CreateToken(r.Context(), c, idem, tokenParams(in)))
	})
}

// --- payments

func (s *Server) charge(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.ChargeRequest) (any, error) {
		return nilIfErr(s.svc.Charge(r.Context(), c, idem, chargeParams(in)))
	})
}

func (s *Server) createPaymentLink(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.PaymentLinkRequest) (any, error) {
		return nilIfErr(s.svc.CreatePaymentLink(r.Context(), c, idem, linkParams(in)))
	})
}

func (s *Server) cancelPayment(linkOnly bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mutate(s, w, r, func(c *service.Caller, idem *idemRequest, _ struct{}) (any, error) {
			return nilIfErr(s.svc.CancelPayment(r.Context(), c, idem, r.PathValue("id"), linkOnly))
		})
	}
}

func (s *Server) getPayment(w http.ResponseWriter, r *http.Request) {
	p, err := s.svc.Payment(r.Context(), callerOf(r).Caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, p)
}

func (s *Server) updatePayment(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.PaymentUpdate) (any, error) {
		return nilIfErr(s.svc.UpdatePayment(r.Context(), c, idem, r.PathValue("id"), paymentUpdateParams(in)))
	})
}

func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "limit", "startingAfter", "customerId", "status", "kind", "createdFrom", "createdTo")
	f := till.PaymentFilter{Page: q.Page("startingAfter"), CustomerID: q.Str("customerId"), Status: till.Status(q.Str("status")),
		Kind: till.PaymentKind(q.Str("kind")), CreatedFrom: q.Time("createdFrom"), CreatedTo: q.Time("createdTo")}
	if f.Status != "" && !f.Status.Valid() {
		q.V.Add("status", "status must be one of %s", statusList())
	}
	if f.Kind != "" && f.Kind != till.KindCharge && f.Kind != till.KindLink {
		q.V.Add("kind", "kind must be charge or link")
	}
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	items, more, err := s.svc.ListPayments(r.Context(), callerOf(r).Caller, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.Payment, len(items))
	for i, p := range items {
		out[i] = api.PaymentOf(p)
	}
	s.list(w, out, more, lastID(len(items), func(i int) string { return items[i].ID }))
}

func statusList() string {
	names := make([]string, len(till.Statuses))
	for i, st := range till.Statuses {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

// --- test mode

func (s *Server) processorCharges(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "reference", "paymentId")
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	recs, err := s.svc.ProcessorRecords(r.Context(), callerOf(r).Caller, q.Str("reference"), q.Str("paymentId"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.ProcessorCharge, len(recs))
	for i, rec := range recs {
		out[i] = api.ProcessorChargeOf(rec)
	}
	s.list(w, out, false, "")
}

func (s *Server) advanceClock(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.ClockAdvance) (any, error) {
		return nilIfErr(s.svc.AdvanceClock(r.Context(), c, idem, in.Seconds))
	})
}

// --- admin

func (s *Server) adminCreateAccount(w http.ResponseWriter, r *http.Request) {
	s.admin(w, r, func(idem *idemRequest) (any, error) {
		var in api.NewAccount
		if err := decodeJSON(r, bodyOf(r), &in); err != nil {
			return nil, err
		}
		return nilIfErr(s.svc.CreateAccount(r.Context(), idem, newAccountParams(in)))
	})
}

func (s *Server) adminCreateKey(w http.ResponseWriter, r *http.Request) {
	s.admin(w, r, func(idem *idemRequest) (any, error) {
		var in api.NewKey
		if err := decodeJSON(r, bodyOf(r), &in); err != nil {
			return nil, err
		}
		return nilIfErr(s.svc.CreateKey(r.Context(), idem, r.PathValue("id"), keyParams(in)))
	})
}

func (s *Server) adminRevokeKey(w http.ResponseWriter, r *http.Request) {
	s.admin(w, r, func(idem *idemRequest) (any, error) {
		if err := decodeJSON(r, bodyOf(r), &struct{}{}); err != nil {
			return nil, err
		}
		return nilIfErr(s.svc.RevokeKey(r.Context(), idem, r.PathValue("id")))
	})
}

// admin runs an admin use case with the request's Idempotency-Key.
func (s *Server) admin(w http.ResponseWriter, r *http.Request, run func(idem *idemRequest) (any, error)) {
	idem, err := s.idempotency(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := run(idem)
	s.respond(w, r, idem, v, err)
}
