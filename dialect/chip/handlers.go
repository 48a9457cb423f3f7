package chip

import (
	"net/http"
	"strings"

	"github.com/tillpay/till"
	"github.com/tillpay/till/service"
)

// createPurchase is POST /purchases/.
func (s *Server) createPurchase(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	in, idem, ok := input[purchaseRequest](w, r, body)
	if !ok {
		return
	}
	params, err := in.params(c)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	p, err := s.svc.CreatePurchase(r.Context(), c, idem, params)
	s.purchase(r.Context(), w, r, c, p, till.RenameFields(err, purchaseField))
}

// getPurchase is GET /purchases/{id}/.
func (s *Server) getPurchase(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	v, err := s.svc.Purchase(r.Context(), c, tillID(r.PathValue("id"), till.PrefixPayment))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	render(w, toPurchase(v, c, s.svc.PublicBaseURL()))
}

// chargeRequest is the body of POST /purchases/{id}/charge/.
type chargeRequest struct {
	RecurringToken string `json:"recurring_token"`
}

// chargePurchase is POST /purchases/{id}/charge/: the recurring token is a
// client's recurring token (a saved method) or a purchase whose payer
// saved its card (CHIP's form).
func (s *Server) chargePurchase(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	in, idem, ok := input[chargeRequest](w, r, body)
	if !ok {
		return
	}
	tok := strings.TrimSpace(in.RecurringToken)
	if tok == "" {
		WriteError(w, r, till.ParamError(till.EValidation, "recurring_token", "recurring_token is required"))
		return
	}
	p, err := s.purchaseOnly(r, c)
	if err == nil {
		p, err = s.svc.ChargeLink(r.Context(), c, idem, p.ID, service.ChargeLinkParams{
			PaymentMethodID: tillID(tok, till.PrefixPaymentMethod), PaymentID: tillID(tok, till.PrefixPayment)})
	}
	s.purchase(r.Context(), w, r, c, p, till.RenameFields(err, func(string) string { return "recurring_token" }))
}

// purchaseOnly returns the payment the path's id names when it is a
// purchase (a payment link), so that the dialect never acts on the native
// API's charges; another payment is not found.
func (s *Server) purchaseOnly(r *http.Request, c *service.Caller) (*till.Payment, error) {
	v, err := s.svc.Purchase(r.Context(), c, tillID(r.PathValue("id"), till.PrefixPayment))
	if err != nil {
		return nil, err
	}
	return v.Payment, nil
}

// amountRequest is the body of capture and refund: an optional amount.
type amountRequest struct {
	Amount *int64 `json:"amount"`
}

// capturePurchase is POST /purchases/{id}/capture/ {amount?}.
func (s *Server) capturePurchase(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	s.holdAction(w, r, c, body, func(idem *service.Idem, p *till.Payment, in amountRequest) (*till.Payment, error) {
		return s.svc.Capture(r.Context(), c, idem, p.ID, service.CaptureParams{Amount: in.Amount})
	})
}

// releasePurchase is POST /purchases/{id}/release/.
func (s *Server) releasePurchase(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	s.holdAction(w, r, c, body, func(idem *service.Idem, p *till.Payment, in amountRequest) (*till.Payment, error) {
		if in.Amount != nil {
			return nil, till.ParamError(till.EParameterUnknown, "amount", "release takes no amount: it releases the whole hold")
		}
		return s.svc.Release(r.Context(), c, idem, p.ID)
	})
}

// cancelPurchase is POST /purchases/{id}/cancel/.
func (s *Server) cancelPurchase(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	s.holdAction(w, r, c, body, func(idem *service.Idem, p *till.Payment, in amountRequest) (*till.Payment, error) {
		if in.Amount != nil {
			return nil, till.ParamError(till.EParameterUnknown, "amount", "cancel takes no amount")
		}
		return s.svc.CancelPayment(r.Context(), c, idem, p.ID, true)
	})
}

// deleteRecurringToken is POST /purchases/{id}/delete_recurring_token/.
func (s *Server) deleteRecurringToken(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	s.holdAction(w, r, c, body, func(idem *service.Idem, p *till.Payment, in amountRequest) (*till.Payment, error) {
		if in.Amount != nil {
			return nil, till.ParamError(till.EParameterUnknown, "amount", "delete_recurring_token takes no amount")
		}
		return s.svc.DetachSavedMethod(r.Context(), c, idem, p.ID)
	})
}

// holdAction decodes the optional amount of a purchase action, finds the
// purchase and runs the action, responding with the purchase.
func (s *Server) holdAction(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte, run func(idem *service.Idem, p *till.Payment, in amountRequest) (*till.Payment, error)) {
	in, idem, ok := input[amountRequest](w, r, body)
	if !ok {
		return
	}
	p, err := s.purchaseOnly(r, c)
	if err == nil {
		p, err = run(idem, p, in)
	}
	s.purchase(r.Context(), w, r, c, p, err)
}

// refundPurchase is POST /purchases/{id}/refund/ {amount?}: the answer is
// CHIP's Payment object of the refund.
func (s *Server) refundPurchase(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	in, idem, ok := input[amountRequest](w, r, body)
	if !ok {
		return
	}
	p, err := s.purchaseOnly(r, c)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	ref, err := s.svc.CreateRefund(r.Context(), c, idem, p.ID, service.RefundParams{Amount: in.Amount})
	if err != nil {
		WriteError(w, r, err)
		return
	}
	render(w, toRefund(ref, p, c))
}

// createClient is POST /clients/.
func (s *Server) createClient(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	in, idem, ok := input[clientDetails](w, r, body)
	if !ok {
		return
	}
	params := in.params()
	var v till.Validator
	if strings.TrimSpace(params.Email) == "" {
		v.Add("email", "email is required")
	}
	if err := v.Err(); err != nil {
		WriteError(w, r, err)
		return
	}
	cust, err := s.svc.CreateCustomer(r.Context(), c, idem, params)
	if err != nil {
		WriteError(w, r, till.RenameFields(err, clientField))
		return
	}
	render(w, toClient(cust))
}

// getClient is GET /clients/{id}/.
func (s *Server) getClient(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	cust, err := s.svc.Customer(r.Context(), c, tillID(r.PathValue("id"), till.PrefixCustomer))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	render(w, toClient(cust))
}

// recurringTokens is GET /clients/{id}/recurring_tokens/: the client's
// saved methods.
func (s *Server) recurringTokens(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	pms, _, err := s.svc.ListPaymentMethods(r.Context(), c, tillID(r.PathValue("id"), till.PrefixCustomer))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	out := tokenList{Results: []recurringToken{}}
	for _, pm := range pms {
		out.Results = append(out.Results, toToken(pm))
	}
	render(w, out)
}

// input decodes a POST's body into a T and reads its Idempotency-Key; a
// bad body or key is answered, reporting false.
func input[T any](w http.ResponseWriter, r *http.Request, body []byte) (T, *service.Idem, bool) {
	var in T
	if err := decode(body, &in); err != nil {
		WriteError(w, r, err)
		return in, nil, false
	}
	idem, err := idempotency(r, body)
	if err != nil {
		WriteError(w, r, err)
		return in, nil, false
	}
	return in, idem, true
}
