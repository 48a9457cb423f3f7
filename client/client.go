// Package client is a Go client of Till's native API (/v1). It speaks the
// same wire types as the server (package api) and returns API errors as
// *Error, which carries the error envelope, the HTTP status and the request
// id.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tillpay/till/api"
)

// Client calls one Till server with one API key. It is safe for concurrent
// use.
type Client struct {
	BaseURL string
	Key     string
	HTTP    *http.Client
}

// New returns a client of the server at baseURL using key.
func New(baseURL, key string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Key: key, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// WithKey returns a copy of c that uses another key.
func (c *Client) WithKey(key string) *Client {
	cp := *c
	cp.Key = key
	return &cp
}

// Error is an API error: the envelope's error object, the HTTP status and
// the request id.
type Error struct {
	Status    int
	RequestID string
	Type      string          `json:"type"`
	Code      string          `json:"code"`
	Message   string          `json:"message"`
	Param     string          `json:"param"`
	Details   json.RawMessage `json:"details"`
	DocURL    string          `json:"doc_url"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("till: %d %s", e.Status, e.Code)
	if e.Param != "" {
		s += " (" + e.Param + ")"
	}
	return s + ": " + e.Message
}

// Decline returns the decline details of a card error, or nil.
func (e *Error) Decline() *Decline {
	if e.Type != "card_error" || len(e.Details) == 0 {
		return nil
	}
	var d Decline
	if json.Unmarshal(e.Details, &d) != nil {
		return nil
	}
	return &d
}

// Fields returns the offending fields of a validation error.
func (e *Error) Fields() []FieldError {
	var f []FieldError
	if len(e.Details) == 0 || json.Unmarshal(e.Details, &f) != nil {
		return nil
	}
	return f
}

// Decline is the details object of a card error.
type Decline struct {
	DeclineCode   string `json:"declineCode"`
	PaymentID     string `json:"paymentId"`
	NextActionURL string `json:"nextActionUrl"`
}

// FieldError names one offending field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Response is a raw response, for tests that look at bytes and headers.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Option changes one request.
type Option func(*http.Request)

// IdempotencyKey sends the Idempotency-Key header.
func IdempotencyKey(key string) Option {
	return func(r *http.Request) { r.Header.Set("Idempotency-Key", key) }
}

// Header sets a header on the request.
func Header(name, value string) Option {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

// Raw sends a request with body (a []byte is sent as is, anything else as
// JSON; nil sends no body) and returns the response without interpreting it.
func (c *Client) Raw(ctx context.Context, method, path string, body any, opts ...Option) (*Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Do sends a request and decodes the envelope's data into out (which may be
// nil). A non-2xx answer is returned as *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any, opts ...Option) error {
	resp, err := c.Raw(ctx, method, path, body, opts...)
	if err != nil {
		return err
	}
	return decode(resp, out)
}

func decode(resp *Response, out any) error {
	var env struct {
		Success    bool            `json:"success"`
		Data       json.RawMessage `json:"data"`
		HasMore    bool            `json:"hasMore"`
		NextCursor string          `json:"nextCursor"`
		Error      *Error          `json:"error"`
	}
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		return fmt.Errorf("till: %d response is not an envelope: %.200s", resp.Status, resp.Body)
	}
	if resp.Status >= 300 || !env.Success {
		e := env.Error
		if e == nil {
			e = &Error{Code: "unknown", Message: string(resp.Body)}
		}
		e.Status, e.RequestID = resp.Status, resp.Header.Get("Request-Id")
		return e
	}
	if l, ok := out.(lister); ok {
		l.setPage(env.HasMore, env.NextCursor)
	}
	if out == nil {
		return nil
	}
	if l, ok := out.(lister); ok {
		return json.Unmarshal(env.Data, l.items())
	}
	return json.Unmarshal(env.Data, out)
}

// List is one page of a list.
type List[T any] struct {
	Data       []T
	HasMore    bool
	NextCursor string
}

type lister interface {
	setPage(hasMore bool, cursor string)
	items() any
}

func (l *List[T]) setPage(hasMore bool, cursor string) { l.HasMore, l.NextCursor = hasMore, cursor }
func (l *List[T]) items() any                          { return &l.Data }

// ListParams are the common list parameters plus filters.
type ListParams struct {
	Limit         int
	StartingAfter string
	Filters       map[string]string
}

func (p ListParams) query() string {
	q := url.Values{}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.StartingAfter != "" {
		q.Set("startingAfter", p.StartingAfter)
	}
	for k, v := range p.Filters {
		q.Set(k, v)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func get[T any](ctx context.Context, c *Client, path string) (*T, error) {
	out := new(T)
	if err := c.Do(ctx, http.MethodGet, path, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

func send[T any](ctx context.Context, c *Client, method, path string, body any, opts []Option) (*T, error) {
	out := new(T)
	if err := c.Do(ctx, method, path, body, out, opts...); err != nil {
		return nil, err
	}
	return out, nil
}

func list[T any](ctx context.Context, c *Client, path string, p ListParams) (*List[T], error) {
	out := &List[T]{}
	if err := c.Do(ctx, http.MethodGet, path+p.query(), nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Account returns the key's account.
func (c *Client) Account(ctx context.Context) (*api.Account, error) {
	return get[api.Account](ctx, c, "/v1/account")
}

// UpdateAccount changes the account's settings.
func (c *Client) UpdateAccount(ctx context.Context, in api.AccountUpdate, opts ...Option) (*api.Account, error) {
	return send[api.Account](ctx, c, http.MethodPatch, "/v1/account", in, opts)
}

// CreateCustomer creates a customer.
func (c *Client) CreateCustomer(ctx context.Context, in api.CustomerCreate, opts ...Option) (*api.Customer, error) {
	return send[api.Customer](ctx, c, http.MethodPost, "/v1/customers", in, opts)
}

// Customer returns a customer.
func (c *Client) Customer(ctx context.Context, id string) (*api.Customer, error) {
	return get[api.Customer](ctx, c, "/v1/customers/"+url.PathEscape(id))
}

// UpdateCustomer changes a customer.
func (c *Client) UpdateCustomer(ctx context.Context, id string, in api.CustomerUpdate, opts ...Option) (*api.Customer, error) {
	return send[api.Customer](ctx, c, http.MethodPatch, "/v1/customers/"+url.PathEscape(id), in, opts)
}

// DeleteCustomer deletes a customer.
func (c *Client) DeleteCustomer(ctx context.Context, id string, opts ...Option) (*api.DeletedObject, error) {
	return send[api.DeletedObject](ctx, c, http.MethodDelete, "/v1/customers/"+url.PathEscape(id), nil, opts)
}

// CreateCustomerSession makes a short-lived token that sees only the
// customer's own objects (WithKey(token) calls Till as that customer).
func (c *Client) CreateCustomerSession(ctx context.Context, customerID string, in api.CustomerSessionCreate, opts ...Option) (*api.CustomerSession, error) {
	return send[api.CustomerSession](ctx, c, http.MethodPost, "/v1/customers/"+url.PathEscape(customerID)+"/sessions", in, opts)
}

// RevokeCustomerSession ends a customer session at once.
func (c *Client) RevokeCustomerSession(ctx context.Context, customerID, sessionID string, opts ...Option) (*api.CustomerSession, error) {
	return send[api.CustomerSession](ctx, c, http.MethodDelete, "/v1/customers/"+url.PathEscape(customerID)+"/sessions/"+url.PathEscape(sessionID), nil, opts)
}

// Customers lists customers (filters: email, createdFrom, createdTo).
func (c *Client) Customers(ctx context.Context, p ListParams) (*List[api.Customer], error) {
	return list[api.Customer](ctx, c, "/v1/customers", p)
}

// AddPaymentMethod saves a card (or token) for a customer.
func (c *Client) AddPaymentMethod(ctx context.Context, customerID string, in api.PaymentMethodCreate, opts ...Option) (*api.PaymentMethod, error) {
	return send[api.PaymentMethod](ctx, c, http.MethodPost, "/v1/customers/"+url.PathEscape(customerID)+"/payment-methods", in, opts)
}

// PaymentMethods lists a customer's saved methods.
func (c *Client) PaymentMethods(ctx context.Context, customerID string) (*List[api.PaymentMethod], error) {
	return list[api.PaymentMethod](ctx, c, "/v1/customers/"+url.PathEscape(customerID)+"/payment-methods", ListParams{})
}

// PaymentMethod returns a saved method.
func (c *Client) PaymentMethod(ctx context.Context, id string) (*api.PaymentMethod, error) {
	return get[api.PaymentMethod](ctx, c, "/v1/payment-methods/"+url.PathEscape(id))
}

// DetachPaymentMethod detaches a saved method, destroying its card data.
func (c *Client) DetachPaymentMethod(ctx context.Context, id string, opts ...Option) (*api.PaymentMethod, error) {
	return send[api.PaymentMethod](ctx, c, http.MethodDelete, "/v1/payment-methods/"+url.PathEscape(id), nil, opts)
}

// CreateToken tokenizes a card (with a publishable key).
func (c *Client) CreateToken(ctx context.Context, in api.TokenCreate, opts ...Option) (*api.Token, error) {
	return send[api.Token](ctx, c, http.MethodPost, "/v1/tokens", in, opts)
}

// Charge charges a customer's saved method off-session. A decline returns
// an *Error whose Decline names the stored failed payment.
func (c *Client) Charge(ctx context.Context, in api.ChargeRequest, opts ...Option) (*api.Payment, error) {
	return send[api.Payment](ctx, c, http.MethodPost, "/v1/payments/charge", in, opts)
}

// Payment returns a payment.
func (c *Client) Payment(ctx context.Context, id string) (*api.Payment, error) {
	return get[api.Payment](ctx, c, "/v1/payments/"+url.PathEscape(id))
}

// UpdatePayment changes a payment.
func (c *Client) UpdatePayment(ctx context.Context, id string, in api.PaymentUpdate, opts ...Option) (*api.Payment, error) {
	return send[api.Payment](ctx, c, http.MethodPatch, "/v1/payments/"+url.PathEscape(id), in, opts)
}

// CancelPayment cancels a scheduled charge, a planned retry, a pending link
// or a payment that requires action.
func (c *Client) CancelPayment(ctx context.Context, id string, opts ...Option) (*api.Payment, error) {
	return send[api.Payment](ctx, c, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/cancel", nil, opts)
}

// CreatePaymentLink creates a payment link: a pending payment whose url is
// a hosted checkout page.
func (c *Client) CreatePaymentLink(ctx context.Context, in api.PaymentLinkRequest, opts ...Option) (*api.Payment, error) {
	return send[api.Payment](ctx, c, http.MethodPost, "/v1/payment-links", in, opts)
}

// CancelPaymentLink cancels a payment link nobody has paid.
func (c *Client) CancelPaymentLink(ctx context.Context, id string, opts ...Option) (*api.Payment, error) {
	return send[api.Payment](ctx, c, http.MethodPost, "/v1/payment-links/"+url.PathEscape(id)+"/cancel", nil, opts)
}

// Payments lists payments (filters: customerId, status, kind, createdFrom,
// createdTo).
func (c *Client) Payments(ctx context.Context, p ListParams) (*List[api.Payment], error) {
	return list[api.Payment](ctx, c, "/v1/payments", p)
}

// ProcessorCharges returns the simulator's own record for a reference or a
// payment (test mode).
func (c *Client) ProcessorCharges(ctx context.Context, reference, paymentID string) ([]api.ProcessorCharge, error) {
	q := url.Values{}
	if reference != "" {
		q.Set("reference", reference)
	}
	if paymentID != "" {
		q.Set("paymentId", paymentID)
	}
	out := &List[api.ProcessorCharge]{}
	if err := c.Do(ctx, http.MethodGet, "/v1/test/processor/charges?"+q.Encode(), nil, out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// AdvanceClock moves the test-mode clock forward.
func (c *Client) AdvanceClock(ctx context.Context, seconds int64, opts ...Option) (*api.Clock, error) {
	return send[api.Clock](ctx, c, http.MethodPost, "/v1/test/clock/advance", api.ClockAdvance{Seconds: seconds}, opts)
}

// Capture captures a hold (amount nil: all of it).
func (c *Client) Capture(ctx context.Context, paymentID string, in api.CaptureRequest, opts ...Option) (*api.Payment, error) {
	return send[api.Payment](ctx, c, http.MethodPost, "/v1/payments/"+url.PathEscape(paymentID)+"/capture", in, opts)
}

// Release releases a hold.
func (c *Client) Release(ctx context.Context, paymentID string, opts ...Option) (*api.Payment, error) {
	return send[api.Payment](ctx, c, http.MethodPost, "/v1/payments/"+url.PathEscape(paymentID)+"/release", nil, opts)
}

// CreateRefund refunds a payment (amount nil: everything refundable).
func (c *Client) CreateRefund(ctx context.Context, paymentID string, in api.RefundRequest, opts ...Option) (*api.Refund, error) {
	return send[api.Refund](ctx, c, http.MethodPost, "/v1/payments/"+url.PathEscape(paymentID)+"/refunds", in, opts)
}

// Refund returns a refund.
func (c *Client) Refund(ctx context.Context, id string) (*api.Refund, error) {
	return get[api.Refund](ctx, c, "/v1/refunds/"+url.PathEscape(id))
}

// Refunds lists a payment's refunds.
func (c *Client) Refunds(ctx context.Context, paymentID string) (*List[api.Refund], error) {
	return list[api.Refund](ctx, c, "/v1/payments/"+url.PathEscape(paymentID)+"/refunds", ListParams{})
}

// Invoices lists invoices (filters: customerId, paymentId, createdFrom,
// createdTo).
func (c *Client) Invoices(ctx context.Context, p ListParams) (*List[api.Document], error) {
	return list[api.Document](ctx, c, "/v1/invoices", p)
}

// Invoice returns an invoice.
func (c *Client) Invoice(ctx context.Context, id string) (*api.Document, error) {
	return get[api.Document](ctx, c, "/v1/invoices/"+url.PathEscape(id))
}

// CreditNotes lists credit notes.
func (c *Client) CreditNotes(ctx context.Context, p ListParams) (*List[api.Document], error) {
	return list[api.Document](ctx, c, "/v1/credit-notes", p)
}

// CreditNote returns a credit note.
func (c *Client) CreditNote(ctx context.Context, id string) (*api.Document, error) {
	return get[api.Document](ctx, c, "/v1/credit-notes/"+url.PathEscape(id))
}

// PDF downloads a document's PDF from its pdfUrl.
func (c *Client) PDF(ctx context.Context, pdfURL string) ([]byte, error) {
	resp, err := c.Raw(ctx, http.MethodGet, pdfURL, nil)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, decode(resp, nil)
	}
	return resp.Body, nil
}

// Balance returns the account's balance per currency.
func (c *Client) Balance(ctx context.Context) (*api.Balance, error) {
	return get[api.Balance](ctx, c, "/v1/balance")
}

// LedgerEntries lists journal entries (filter: paymentId).
func (c *Client) LedgerEntries(ctx context.Context, p ListParams) (*List[api.JournalEntry], error) {
	return list[api.JournalEntry](ctx, c, "/v1/ledger/entries", p)
}

// Emails lists the local mailbox (test mode; filters: to, paymentId).
func (c *Client) Emails(ctx context.Context, p ListParams) (*List[api.Email], error) {
	return list[api.Email](ctx, c, "/v1/test/emails", p)
}

// CreateOrder records an order.
func (c *Client) CreateOrder(ctx context.Context, in api.OrderCreate, opts ...Option) (*api.Order, error) {
	return send[api.Order](ctx, c, http.MethodPost, "/v1/orders", in, opts)
}

// Order retrieves an order.
func (c *Client) Order(ctx context.Context, id string) (*api.Order, error) {
	return send[api.Order](ctx, c, http.MethodGet, "/v1/orders/"+url.PathEscape(id), nil, nil)
}

// Orders lists orders (filter: customerId).
func (c *Client) Orders(ctx context.Context, p ListParams) (*List[api.Order], error) {
	return list[api.Order](ctx, c, "/v1/orders", p)
}

// CancelOrder cancels an open order.
func (c *Client) CancelOrder(ctx context.Context, id string, opts ...Option) (*api.Order, error) {
	return send[api.Order](ctx, c, http.MethodPost, "/v1/orders/"+url.PathEscape(id)+"/cancel", nil, opts)
}

// PayOrders pays orders with a saved method; a decline is an *Error with
// the failed payment (Decline).
func (c *Client) PayOrders(ctx context.Context, in api.OrdersPay, opts ...Option) (*api.Payment, error) {
	return send[api.Payment](ctx, c, http.MethodPost, "/v1/orders/pay", in, opts)
}

// CreateSubscription starts a subscription.
func (c *Client) CreateSubscription(ctx context.Context, in api.SubscriptionCreate, opts ...Option) (*api.Subscription, error) {
	return send[api.Subscription](ctx, c, http.MethodPost, "/v1/subscriptions", in, opts)
}

// Subscription retrieves a subscription.
func (c *Client) Subscription(ctx context.Context, id string) (*api.Subscription, error) {
	return send[api.Subscription](ctx, c, http.MethodGet, "/v1/subscriptions/"+url.PathEscape(id), nil, nil)
}

// Subscriptions lists subscriptions (filter: customerId).
func (c *Client) Subscriptions(ctx context.Context, p ListParams) (*List[api.Subscription], error) {
	return list[api.Subscription](ctx, c, "/v1/subscriptions", p)
}

// UpdateSubscription changes a subscription's method or metadata.
func (c *Client) UpdateSubscription(ctx context.Context, id string, in api.SubscriptionUpdate, opts ...Option) (*api.Subscription, error) {
	return send[api.Subscription](ctx, c, http.MethodPatch, "/v1/subscriptions/"+url.PathEscape(id), in, opts)
}

// CancelSubscription stops a subscription's renewals.
func (c *Client) CancelSubscription(ctx context.Context, id string, opts ...Option) (*api.Subscription, error) {
	return send[api.Subscription](ctx, c, http.MethodPost, "/v1/subscriptions/"+url.PathEscape(id)+"/cancel", nil, opts)
}
