package commet

import (
	"net/http"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// chargeRequest is the body of POST /payments/charge.
type chargeRequest struct {
	CustomerID  string   `json:"customerId"`
	Amount      *int64   `json:"amount"`
	Currency    string   `json:"currency"`
	Description string   `json:"description"`
	Metadata    Metadata `json:"metadata"`
}

// linkRequest is the body of POST /payments: a payment link.
type linkRequest struct {
	Amount      *int64   `json:"amount"`
	Currency    string   `json:"currency"`
	CustomerID  string   `json:"customerId"`
	Description string   `json:"description"`
	SuccessURL  string   `json:"successUrl"`
	Metadata    Metadata `json:"metadata"`
}

// field is a required field of a request and whether it is missing.
type field struct {
	name    string
	missing bool
}

// required records each of Commet's required fields that is missing.
func required(v *till.Validator, fields ...field) {
	for _, f := range fields {
		if f.missing {
			v.Add(f.name, "%s is required", f.name)
		}
	}
}

func (s *Server) charge(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *service.Idem, in chargeRequest) (any, error) {
		var v till.Validator
		required(&v, field{"customerId", in.CustomerID == ""}, field{"amount", in.Amount == nil},
			field{"currency", in.Currency == ""}, field{"description", in.Description == ""})
		md := in.Metadata.params(&v)
		if err := v.Err(); err != nil {
			return nil, err
		}
		p, err := s.svc.Charge(r.Context(), c, idem, service.ChargeParams{CustomerID: in.CustomerID, Amount: in.Amount,
			Currency: in.Currency, Description: in.Description, Metadata: md})
		if err != nil {
			return nil, err
		}
		return paymentOf(p), nil
	})
}

func (s *Server) createPayment(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *service.Idem, in linkRequest) (any, error) {
		var v till.Validator
		required(&v, field{"amount", in.Amount == nil}, field{"currency", in.Currency == ""},
			field{"description", in.Description == ""})
		md := in.Metadata.params(&v)
		if err := v.Err(); err != nil {
			return nil, err
		}
		p, err := s.svc.CreatePaymentLink(r.Context(), c, idem, service.PaymentLinkParams{Amount: in.Amount,
			Currency: in.Currency, CustomerID: in.CustomerID, Description: in.Description, SuccessURL: in.SuccessURL, Metadata: md})
		if err != nil {
			return nil, err
		}
		return paymentOf(p), nil
	})
}

func (s *Server) getPayment(w http.ResponseWriter, r *http.Request) {
	p, err := s.svc.Payment(r.Context(), callerOf(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, paymentOf(p))
}

// cancelPayment cancels a payment link that nobody has paid or started to
// pay; canceling a canceled link changes nothing. Charges cannot be
// canceled (409), as Commet documents.
func (s *Server) cancelPayment(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *service.Idem, _ struct{}) (any, error) {
		p, err := s.svc.CancelPayment(r.Context(), c, idem, r.PathValue("id"), true)
		if err != nil {
			return nil, err
		}
		return paymentOf(p), nil
	})
}

func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "customerId", "limit", "cursor")
	f := till.PaymentFilter{Page: q.Page("cursor"), CustomerID: q.Str("customerId")}
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	items, more, err := s.svc.ListPayments(r.Context(), callerOf(r), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]Payment, len(items))
	for i, p := range items {
		out[i] = paymentOf(p)
	}
	s.list(w, out, more, lastID(len(items), func(i int) string { return items[i].ID }))
}
