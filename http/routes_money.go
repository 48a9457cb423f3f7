package http

import (
	"net/http"
	"strconv"

	"github.com/tillpay/till"
	"github.com/tillpay/till/api"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

func (s *Server) capture(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.CaptureRequest) (any, error) {
		return nilIfErr(s.svc.Capture(r.Context(), c, idem, r.PathValue("id"), captureParams(in)))
	})
}

func (s *Server) release(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, _ struct{}) (any, error) {
		return nilIfErr(s.svc.Release(r.Context(), c, idem, r.PathValue("id")))
	})
}

func (s *Server) createRefund(w http.ResponseWriter, r *http.Request) {
	mutate(s, w, r, func(c *service.Caller, idem *idemRequest, in api.RefundRequest) (any, error) {
		return nilIfErr(s.svc.CreateRefund(r.Context(), c, idem, r.PathValue("id"), refundParams(in)))
	})
}

func (s *Server) getRefund(w http.ResponseWriter, r *http.Request) {
	ref, err := s.svc.Refund(r.Context(), callerOf(r).Caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, ref)
}

func (s *Server) listRefunds(w http.ResponseWriter, r *http.Request) {
	if err := middleware.NewQuery(r).Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	refunds, err := s.svc.ListRefunds(r.Context(), callerOf(r).Caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.Refund, len(refunds))
	for i, ref := range refunds {
		out[i] = api.RefundOf(ref)
	}
	s.list(w, out, false, "")
}

func (s *Server) listDocuments(kind till.DocumentKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := middleware.NewQuery(r, "limit", "startingAfter", "customerId", "paymentId", "createdFrom", "createdTo")
		f := till.DocumentFilter{Page: q.Page("startingAfter"), Kind: kind, CustomerID: q.Str("customerId"), PaymentID: q.Str("paymentId"),
			CreatedFrom: q.Time("createdFrom"), CreatedTo: q.Time("createdTo")}
		if err := q.Err(); err != nil {
			s.fail(w, r, err)
			return
		}
		docs, more, err := s.svc.ListDocuments(r.Context(), callerOf(r).Caller, f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out := make([]api.Document, len(docs))
		for i, d := range docs {
			out[i] = api.DocumentOf(d)
		}
		s.list(w, out, more, lastID(len(docs), func(i int) string { return docs[i].ID }))
	}
}

func (s *Server) getDocument(kind till.DocumentKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := s.svc.Document(r.Context(), callerOf(r).Caller, r.PathValue("id"), kind)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.ok(w, r, d)
	}
}

func (s *Server) documentPDF(kind till.DocumentKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, pdf, err := s.svc.DocumentPDF(r.Context(), callerOf(r).Caller, r.PathValue("id"), kind)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/pdf")
		h.Set("Content-Disposition", `inline; filename="`+d.Number+`.pdf"`)
		h.Set("Content-Length", strconv.Itoa(len(pdf)))
		w.Write(pdf)
	}
}

func (s *Server) balance(w http.ResponseWriter, r *http.Request) {
	if err := middleware.NewQuery(r).Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	c := callerOf(r)
	bal, err := s.svc.Balances(r.Context(), c.Caller)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := api.Balance{Object: "balance", Livemode: c.Livemode, Balances: make([]api.CurrencyBalance, len(bal))}
	for i, b := range bal {
		out.Balances[i] = api.CurrencyBalance{Currency: b.Currency, Collected: b.Collected, Refunded: b.Refunded,
			Disputed: b.Disputed, TaxPayable: b.TaxPayable, Net: b.Net}
	}
	s.ok(w, r, out)
}

func (s *Server) ledgerEntries(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "limit", "startingAfter", "paymentId")
	f := till.LedgerFilter{Page: q.Page("startingAfter"), PaymentID: q.Str("paymentId")}
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	entries, more, err := s.svc.JournalEntries(r.Context(), callerOf(r).Caller, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.JournalEntry, len(entries))
	for i, e := range entries {
		out[i] = api.JournalEntryOf(e)
	}
	s.list(w, out, more, lastID(len(entries), func(i int) string { return entries[i].ID }))
}

func (s *Server) emails(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "limit", "startingAfter", "to", "paymentId")
	f := till.EmailFilter{Page: q.Page("startingAfter"), To: q.Str("to"), PaymentID: q.Str("paymentId")}
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	mails, more, err := s.svc.Emails(r.Context(), callerOf(r).Caller, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.Email, len(mails))
	for i, m := range mails {
		out[i] = api.EmailOf(m)
	}
	s.list(w, out, more, lastID(len(mails), func(i int) string { return mails[i].ID }))
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := middleware.NewQuery(r, "limit", "startingAfter", "type", "objectId", "createdFrom", "createdTo")
	f := till.EventFilter{Page: q.Page("startingAfter"), Type: q.Str("type"), ObjectID: q.Str("objectId"),
		CreatedFrom: q.Time("createdFrom"), CreatedTo: q.Time("createdTo")}
	if err := q.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	events, more, err := s.svc.ListEvents(r.Context(), callerOf(r).Caller, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]api.Event, len(events))
	for i, e := range events {
		if out[i], err = api.EventOf(e); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.list(w, out, more, lastID(len(events), func(i int) string { return events[i].ID }))
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	e, err := s.svc.Event(r.Context(), callerOf(r).Caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := api.EventOf(e)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, r, out)
}
