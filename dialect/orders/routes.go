package orders

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// List bounds: a page holds at most maxSize objects, and a list reads at
// most maxScan payments to find its page.
const (
	defaultSize = 10
	maxSize     = 100
	maxScan     = 10_000
)

// Page is a page of a list, with the seed's page/size paging.
type Page[T any] struct {
	Data    []T  `json:"data"`
	Page    int  `json:"page"`
	Size    int  `json:"size"`
	HasMore bool `json:"has_more"`
}

func (h *Handler) ok(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("orders: encode response: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// --- orders

func (h *Handler) createOrder(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	var in orderCreate
	if err := decode(body, &in); err != nil {
		h.WriteError(w, r, err)
		return
	}
	var v till.Validator
	ls := lines(&v, "lines", in.Lines, in.Currency)
	if err := v.Err(); err != nil {
		h.WriteError(w, r, err)
		return
	}
	key, err := idem(r, c, body)
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	o, err := h.svc.CreateOrder(r.Context(), c, key, service.OrderParams{CustomerID: in.User, Currency: in.Currency, Lines: ls,
		Description: in.Description, Metadata: in.Metadata})
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	h.ok(w, http.StatusCreated, orderOf(o.Order, o.Status))
}

func (h *Handler) getOrder(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	o, err := h.svc.Order(r.Context(), c, r.PathValue("id"))
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	h.ok(w, http.StatusOK, orderOf(o.Order, o.Status))
}

// paging reads page and size.
func paging(r *http.Request, v *till.Validator, allowed ...string) (page, size int) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains(append([]string{"page", "size"}, allowed...), k) {
			v.AddCode(till.EParameterUnknown, k, "unknown query parameter %s", k)
		}
	}
	size, page = defaultSize, 0
	if s := q.Get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxSize {
			v.Add("size", "size must be 1 to %d", maxSize)
		}
		size = n
	}
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			v.Add("page", "page must be 0 or more")
		}
		page = n
	}
	if (page+1)*size > maxScan {
		v.Add("page", "page × size can be at most %d; narrow the list with from_date and to_date", maxScan)
	}
	return page, size
}

// collect pages through a newest-first list with fetch until it has the
// objects of page page (size each) that keep passes, reading at most
// maxScan objects.
func collect[T any](page, size int, keep func(T) bool, fetch func(after string) ([]T, bool, string, error)) ([]T, bool, error) {
	var out []T
	skip, after, scanned := page*size, "", 0
	for {
		items, more, last, err := fetch(after)
		if err != nil {
			return nil, false, err
		}
		for _, it := range items {
			scanned++
			if !keep(it) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if len(out) == size {
				return out, true, nil
			}
			out = append(out, it)
		}
		if !more || scanned >= maxScan {
			return out, more && len(out) == size, nil
		}
		after = last
	}
}

// listPage answers a page/size list of a user's objects (the user query
// parameter narrows an admin's list to one customer): list reads the
// service's newest-first pages, id names an object as a cursor, and render
// renders one.
func listPage[T, W any](h *Handler, w http.ResponseWriter, r *http.Request, list func(customerID string, p till.Page) ([]T, bool, error),
	id func(T) string, render func(T) W) {
	var v till.Validator
	page, size := paging(r, &v, "user")
	if err := v.Err(); err != nil {
		h.WriteError(w, r, err)
		return
	}
	items, more, err := collect(page, size, func(T) bool { return true }, func(after string) ([]T, bool, string, error) {
		l, more, err := list(r.URL.Query().Get("user"), till.Page{Limit: maxSize, StartingAfter: after})
		last := ""
		if len(l) > 0 {
			last = id(l[len(l)-1])
		}
		return l, more, last, err
	})
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	out := Page[W]{Data: make([]W, 0, len(items)), Page: page, Size: size, HasMore: more}
	for _, it := range items {
		out.Data = append(out.Data, render(it))
	}
	h.ok(w, http.StatusOK, out)
}

func (h *Handler) listOrders(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	listPage(h, w, r, func(customerID string, p till.Page) ([]*service.OrderView, bool, error) {
		return h.svc.ListOrders(r.Context(), c, till.OrderFilter{Page: p, CustomerID: customerID})
	}, func(o *service.OrderView) string { return o.Order.ID }, func(o *service.OrderView) Order { return orderOf(o.Order, o.Status) })
}

// --- subscriptions

func (h *Handler) createSubscription(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	var in subscriptionCreate
	if err := decode(body, &in); err != nil {
		h.WriteError(w, r, err)
		return
	}
	var v till.Validator
	items := lines(&v, "items", in.Items, in.Currency)
	var start *time.Time
	if in.StartDate != nil {
		t := time.Unix(*in.StartDate, 0).UTC()
		start = &t
	}
	if err := v.Err(); err != nil {
		h.WriteError(w, r, err)
		return
	}
	key, err := idem(r, c, body)
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	sub, err := h.svc.CreateSubscription(r.Context(), c, key, service.SubscriptionParams{CustomerID: in.User, PaymentMethodID: in.PaymentMethod,
		Currency: in.Currency, Items: items, Description: in.Description, Metadata: in.Metadata, Interval: in.Interval,
		IntervalCount: in.IntervalCount, StartDate: start})
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	h.ok(w, http.StatusCreated, subscriptionOf(sub.Subscription, sub.Status))
}

func (h *Handler) getSubscription(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	sub, err := h.svc.Subscription(r.Context(), c, r.PathValue("id"))
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	h.ok(w, http.StatusOK, subscriptionOf(sub.Subscription, sub.Status))
}

func (h *Handler) listSubscriptions(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	listPage(h, w, r, func(customerID string, p till.Page) ([]*service.SubscriptionView, bool, error) {
		return h.svc.ListSubscriptions(r.Context(), c, till.SubscriptionFilter{Page: p, CustomerID: customerID})
	}, func(s *service.SubscriptionView) string { return s.Subscription.ID },
		func(s *service.SubscriptionView) Subscription { return subscriptionOf(s.Subscription, s.Status) })
}

// --- payments

// render renders payments with their customers, human ids and whether a
// refund of theirs failed last.
func (h *Handler) render(ctx context.Context, c *service.Caller, ps []*till.Payment) ([]Payment, error) {
	humans, err := h.svc.HumanIDs(ctx, c, ps)
	if err != nil {
		return nil, err
	}
	custs := map[string]*till.Customer{}
	out := make([]Payment, 0, len(ps))
	for _, p := range ps {
		cust, ok := custs[p.CustomerID]
		if !ok {
			cust, _ = h.svc.Customer(ctx, c, p.CustomerID) // a deleted customer shows by id only
			custs[p.CustomerID] = cust
		}
		refundFailed := false
		if p.AmountCaptured > 0 && p.RefundReserved == 0 {
			refunds, err := h.svc.ListRefunds(ctx, c, p.ID)
			if err != nil {
				return nil, err
			}
			refundFailed = len(refunds) > 0 && refunds[0].Status == till.RefundFailed
		}
		out = append(out, paymentOf(p, cust, humans[p.ID], refundFailed))
	}
	return out, nil
}

func (h *Handler) writePayment(w http.ResponseWriter, r *http.Request, c *service.Caller, status int, p *till.Payment) {
	out, err := h.render(r.Context(), c, []*till.Payment{p})
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	h.ok(w, status, out[0])
}

func (h *Handler) createPayment(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	var in paymentCreate
	if err := decode(body, &in); err != nil {
		h.WriteError(w, r, err)
		return
	}
	key, err := idem(r, c, body)
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	p, err := h.svc.PayOrders(r.Context(), c, key, service.PayOrdersParams{OrderIDs: in.Orders, PaymentMethodID: in.PaymentMethod,
		Description: in.Description, Metadata: in.Metadata})
	if p == nil {
		h.WriteError(w, r, err)
		return
	}
	// A declined payment is still the payment: its current_state,
	// status_code and error_message say what happened.
	h.writePayment(w, r, c, http.StatusCreated, p)
}

func (h *Handler) getPayment(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	p, err := h.svc.Payment(r.Context(), c, r.PathValue("id"))
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	h.writePayment(w, r, c, http.StatusOK, p)
}

func (h *Handler) listPayments(w http.ResponseWriter, r *http.Request, c *service.Caller, _ []byte) {
	var v till.Validator
	page, size := paging(r, &v, "from_date", "to_date", "sort", "status", "user")
	q := r.URL.Query()
	f := till.PaymentFilter{CustomerID: q.Get("user")}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"from_date", &f.CreatedFrom}, {"to_date", &f.CreatedTo}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				v.Add(p.name, "%s must be a timestamp (seconds since 1970)", p.name)
				continue
			}
			t := time.Unix(n, 0).UTC()
			*p.dst = &t
		}
	}
	state := q.Get("status")
	if state != "" && !slices.Contains(States, state) {
		v.Add("status", "status must be one of %s", strings.Join(States, ", "))
	}
	ascending := false
	switch q.Get("sort") {
	case "", "-created_at", "-payment_date":
	case "created_at":
		ascending = true
	default:
		v.Add("sort", "sort must be created_at (oldest first) or -created_at (newest first, the default)")
	}
	if err := v.Err(); err != nil {
		h.WriteError(w, r, err)
		return
	}
	ctx := r.Context()
	keep := func(p *till.Payment) bool {
		return state == "" || State(p, false) == state || state == "refund_failed" && p.AmountCaptured > 0
	}
	fetch := func(after string) ([]*till.Payment, bool, string, error) {
		f.Page = till.Page{Limit: maxSize, StartingAfter: after}
		l, more, err := h.svc.ListPayments(ctx, c, f)
		last := ""
		if len(l) > 0 {
			last = l[len(l)-1].ID
		}
		return l, more, last, err
	}
	var items []*till.Payment
	var more bool
	var err error
	if ascending {
		// Oldest first: the whole (bounded) list, reversed.
		all, m, e := collect(0, maxScan, keep, fetch)
		if e == nil && m {
			e = till.ParamError(till.EValidation, "sort", "more than %d payments match; narrow the list with from_date and to_date to sort it oldest first", maxScan)
		}
		slices.Reverse(all)
		lo, hi := min(page*size, len(all)), min((page+1)*size, len(all))
		items, more, err = all[lo:hi], hi < len(all), e
	} else {
		items, more, err = collect(page, size, keep, fetch)
	}
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	out, err := h.render(ctx, c, items)
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	if state == "refund_failed" {
		// Known only once rendered (it reads the refunds).
		kept := out[:0]
		for _, p := range out {
			if p.CurrentState == state {
				kept = append(kept, p)
			}
		}
		out = kept
	}
	h.ok(w, http.StatusOK, Page[Payment]{Data: out, Page: page, Size: size, HasMore: more})
}

func (h *Handler) updatePayment(w http.ResponseWriter, r *http.Request, c *service.Caller, body []byte) {
	var in paymentUpdate
	if err := decode(body, &in); err != nil {
		h.WriteError(w, r, err)
		return
	}
	params := service.PaymentUpdateParams{Active: in.Active, PaymentMethodID: in.PaymentMethod}
	if in.PaymentDate != nil {
		t := time.Unix(*in.PaymentDate, 0).UTC()
		params.ScheduledAt = &t
	}
	if len(in.BillingAddress) > 0 && string(in.BillingAddress) != "null" {
		var a Address
		var line string
		switch {
		case json.Unmarshal(in.BillingAddress, &line) == nil:
			a.Line1 = line
		default:
			if err := decode(in.BillingAddress, &a); err != nil {
				if e, ok := till.AsError(err); ok && e.Param != "" {
					err = till.ParamError(e.Code, "billing_address."+e.Param, "billing_address: %s", e.Message)
				}
				h.WriteError(w, r, err)
				return
			}
		}
		params.BillingAddress = &till.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, State: a.State, Country: a.Country}
	}
	key, err := idem(r, c, body)
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	p, err := h.svc.UpdatePayment(r.Context(), c, key, r.PathValue("id"), params)
	if err != nil {
		h.WriteError(w, r, err)
		return
	}
	h.writePayment(w, r, c, http.StatusOK, p)
}

// --- errors

// Error is the API's error body.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody describes what went wrong.
type ErrorBody struct {
	Code      string       `json:"code"`
	Message   string       `json:"message"`
	Fields    []FieldError `json:"fields,omitempty"`
	RequestID string       `json:"request_id"`
}

// FieldError names one offending field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// statuses is the one table from Till's error codes to this API's HTTP
// statuses.
var statuses = map[till.Code]int{
	till.EValidation: 400, till.EParameterUnknown: 400, till.EInvalidJSON: 400, till.EAmountTooSmall: 400,
	till.EAmountTooLarge: 400, till.ECurrencyUnsupported: 400, till.EBodyTooLarge: 413, till.EKeyMissing: 401,
	till.EKeyInvalid: 401, till.ECardDeclined: 402, till.EPublishableKey: 403, till.ELiveForbidden: 403,
	till.ENotFound: 404, till.EConflict: 409, till.EInProgress: 409, till.EKeyReused: 422, till.ERateLimited: 429,
	till.EInternal: 500, till.EUnavailable: 503, till.EMethodNotAllowed: 405, till.EForbidden: 403,
}

// WriteError writes err in the API's error body; an unexpected error shows
// nothing of its cause and is logged.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := till.AsError(err)
	if !ok {
		h.log.Error("orders: request failed", "request_id", middleware.RequestID(r.Context()), "err", err)
		e = till.Internal(err)
	}
	status := statuses[e.Code]
	if status == 0 {
		status = 500
	}
	body := ErrorBody{Code: string(e.Code), Message: e.Message, RequestID: middleware.RequestID(r.Context())}
	for _, f := range e.Fields {
		body.Fields = append(body.Fields, FieldError{Field: fieldName(f.Field), Message: f.Message})
	}
	if e.Code == till.ERateLimited {
		w.Header().Set("Retry-After", "1")
	}
	h.ok(w, status, Error{Error: body})
}
