package orders

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/tillpay/till"
)

// decimal renders an amount in minor units as the decimal number the API
// speaks (19.99, 100, 1.234), exactly.
func decimal(amount int64, currency string) json.Number {
	c, ok := till.LookupCurrency(currency)
	if !ok {
		return json.Number("0")
	}
	return json.Number(till.FormatAmount(amount, c))
}

// unix renders a time as seconds since the epoch; nil stays nil.
func unix(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	s := t.Unix()
	return &s
}

// User is the user (Till customer) an object belongs to.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Line is one line of an order or a subscription.
type Line struct {
	Description string      `json:"description"`
	Quantity    int64       `json:"quantity"`
	UnitPrice   json.Number `json:"unit_price"`
	Amount      json.Number `json:"amount"`
}

func linesOf(lines []till.OrderLine, currency string) []Line {
	out := make([]Line, len(lines))
	for i, l := range lines {
		out[i] = Line{Description: l.Description, Quantity: l.Quantity, UnitPrice: decimal(l.UnitAmount, currency),
			Amount: decimal(l.Quantity*l.UnitAmount, currency)}
	}
	return out
}

// Order is the order resource.
type Order struct {
	ID          string            `json:"id"`
	User        string            `json:"user"`
	Amount      json.Number       `json:"amount"`
	Currency    string            `json:"currency"`
	Status      string            `json:"status"`
	Lines       []Line            `json:"lines"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
	Payment     *string           `json:"payment"`
	CreatedAt   int64             `json:"created_at"`
}

func orderOf(o *till.Order, st till.OrderStatus) Order {
	var pay *string
	if o.PaymentID != "" {
		pay = &o.PaymentID
	}
	return Order{ID: o.ID, User: o.CustomerID, Amount: decimal(o.Amount, o.Currency), Currency: o.Currency, Status: string(st),
		Lines: linesOf(o.Lines, o.Currency), Description: o.Description, Metadata: meta(o.Metadata), Payment: pay, CreatedAt: o.CreatedAt.Unix()}
}

func meta(m till.Metadata) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Subscription is the subscription resource.
type Subscription struct {
	ID              string            `json:"id"`
	User            string            `json:"user"`
	PaymentMethod   *string           `json:"payment_method"`
	Amount          json.Number       `json:"amount"`
	Currency        string            `json:"currency"`
	Status          string            `json:"status"`
	Interval        string            `json:"interval"`
	IntervalCount   int               `json:"interval_count"`
	Items           []Line            `json:"items"`
	Description     string            `json:"description"`
	Metadata        map[string]string `json:"metadata"`
	StartDate       int64             `json:"start_date"`
	NextPaymentDate *int64            `json:"next_payment_date"`
	NextPayment     *string           `json:"next_payment"`
	Payments        []string          `json:"payments"`
	CreatedAt       int64             `json:"created_at"`
}

func subscriptionOf(s *till.Subscription, st till.SubscriptionStatus) Subscription {
	var pm *string
	if s.PaymentMethodID != "" {
		pm = &s.PaymentMethodID
	}
	next, nextPay := unix(&s.NextPaymentDate), &s.NextPaymentID
	if s.CanceledAt != nil || s.NextPaymentID == "" {
		nextPay = nil
	}
	if s.CanceledAt != nil {
		next = nil
	}
	payments := s.PaymentIDs
	if payments == nil {
		payments = []string{}
	}
	return Subscription{ID: s.ID, User: s.CustomerID, PaymentMethod: pm, Amount: decimal(s.Amount, s.Currency), Currency: s.Currency,
		Status: string(st), Interval: string(s.Interval), IntervalCount: s.IntervalCount, Items: linesOf(s.Items, s.Currency),
		Description: s.Description, Metadata: meta(s.Metadata), StartDate: s.Anchor.Unix(), NextPaymentDate: next, NextPayment: nextPay, Payments: payments,
		CreatedAt: s.CreatedAt.Unix()}
}

// Address is a billing address.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	State      string `json:"state"`
	Country    string `json:"country"`
}

// MetadataEntry is one entry of a payment's metadata, which the API shows
// as an array.
type MetadataEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Payment is the payment object of the seed.
type Payment struct {
	ID             string          `json:"id"`
	Object         string          `json:"object"`
	User           User            `json:"user"`
	Amount         json.Number     `json:"amount"`
	AmountPaid     json.Number     `json:"amount_paid"`
	AmountReserved json.Number     `json:"amount_reserved"`
	Currency       string          `json:"currency"`
	HumanID        string          `json:"human_id"`
	Subject        *string         `json:"subject"`
	Orders         []string        `json:"orders"`
	CurrentState   string          `json:"current_state"`
	Active         bool            `json:"active"`
	PaymentDate    *int64          `json:"payment_date"`
	PaymentMethod  *string         `json:"payment_method"`
	BillingAddress *Address        `json:"billing_address"`
	Description    string          `json:"description"`
	Metadata       []MetadataEntry `json:"metadata"`
	StatusCode     *string         `json:"status_code"`
	ErrorMessage   *string         `json:"error_message"`
	CreatedAt      int64           `json:"created_at"`
	UpdatedAt      int64           `json:"updated_at"`
}

// State is the seed's payment state of a core payment: its 12-state
// vocabulary mapped from the core's statuses (README.md has the table).
func State(p *till.Payment, refundFailed bool) string {
	switch p.Status {
	case till.StatusPending, till.StatusScheduled:
		return "created"
	case till.StatusProcessing, till.StatusRequiresAction:
		return "processing"
	case till.StatusAuthorized:
		return "reserved"
	case till.StatusRetryScheduled:
		return "on_retry"
	case till.StatusFailed:
		return "failed"
	case till.StatusCanceled, till.StatusExpired:
		return "cancelled"
	case till.StatusRefunded, till.StatusDisputed:
		return "refunded"
	}
	// Money taken: succeeded or partly refunded, with refunds under way or
	// failed, and a hold captured.
	switch {
	case p.RefundReserved > 0:
		return "pending_refund"
	case refundFailed:
		return "refund_failed"
	case p.Status == till.StatusPartiallyRefunded:
		return "partial_refund"
	}
	for _, h := range p.StatusHistory {
		if h.Status == till.StatusAuthorized {
			return "captured"
		}
	}
	return "succeeded"
}

// States lists the seed's payment states.
var States = []string{"created", "processing", "captured", "succeeded", "failed", "cancelled", "reserved", "refunded",
	"partial_refund", "pending_refund", "refund_failed", "on_retry"}

func paymentOf(p *till.Payment, cust *till.Customer, humanID string, refundFailed bool) Payment {
	user := User{ID: p.CustomerID}
	if cust != nil {
		user.Email, user.Name = cust.Email, cust.Name
	}
	var subject *string
	switch {
	case p.SubscriptionID != "":
		subject = &p.SubscriptionID
	case len(p.OrderIDs) > 0:
		subject = &p.OrderIDs[0]
	}
	orders := p.OrderIDs
	if orders == nil {
		orders = []string{}
	}
	var reserved int64
	if p.Status == till.StatusAuthorized {
		reserved = p.AmountTotal
	}
	var pm *string
	if p.PaymentMethodID != "" {
		pm = &p.PaymentMethodID
	}
	var addr *Address
	if p.BillingAddress != nil {
		a := p.BillingAddress
		addr = &Address{Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, State: a.State, Country: a.Country}
	}
	keys := make([]string, 0, len(p.Metadata))
	for k := range p.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	md := make([]MetadataEntry, len(keys))
	for i, k := range keys {
		md[i] = MetadataEntry{Key: k, Value: p.Metadata[k]}
	}
	var code, msg *string
	if p.Failure != nil {
		c := p.Failure.DeclineCode
		if c == "" {
			c = p.Failure.Code
		}
		code, msg = &c, &p.Failure.Message
	}
	var date *time.Time
	if p.ScheduledAt != nil && (p.Status == till.StatusScheduled || p.Status == till.StatusRetryScheduled) {
		date = p.ScheduledAt
	}
	return Payment{ID: p.ID, Object: "payment", User: user, Amount: decimal(p.AmountTotal, p.Currency),
		AmountPaid: decimal(p.AmountCaptured-p.AmountRefunded, p.Currency), AmountReserved: decimal(reserved, p.Currency),
		Currency: p.Currency, HumanID: humanID, Subject: subject, Orders: orders, CurrentState: State(p, refundFailed), Active: p.Active,
		PaymentDate: unix(date), PaymentMethod: pm, BillingAddress: addr, Description: p.Description, Metadata: md,
		StatusCode: code, ErrorMessage: msg, CreatedAt: p.CreatedAt.Unix(), UpdatedAt: p.UpdatedAt.Unix()}
}

// lineInput is a line of a new order or subscription: unit_price is a
// decimal number in the currency's major unit, parsed exactly.
type lineInput struct {
	Description string       `json:"description"`
	Quantity    *int64       `json:"quantity"`
	UnitPrice   *json.Number `json:"unit_price"`
}

type orderCreate struct {
	User        string            `json:"user"`
	Currency    string            `json:"currency"`
	Lines       []lineInput       `json:"lines"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
}

type subscriptionCreate struct {
	User          string            `json:"user"`
	PaymentMethod string            `json:"payment_method"`
	Currency      string            `json:"currency"`
	Items         []lineInput       `json:"items"`
	Interval      string            `json:"interval"`
	IntervalCount *int64            `json:"interval_count"`
	StartDate     *int64            `json:"start_date"`
	Description   string            `json:"description"`
	Metadata      map[string]string `json:"metadata"`
}

type paymentCreate struct {
	Orders        []string          `json:"orders"`
	PaymentMethod string            `json:"payment_method"`
	Description   string            `json:"description"`
	Metadata      map[string]string `json:"metadata"`
}

// paymentUpdate is the body of PATCH /os/v1/payments/{id}: only these four
// fields may change. billing_address is an Address object, or a string
// (one line of text) for clients that send it so.
type paymentUpdate struct {
	Active         *bool           `json:"active"`
	PaymentMethod  *string         `json:"payment_method"`
	BillingAddress json.RawMessage `json:"billing_address"`
	PaymentDate    *int64          `json:"payment_date"`
}

// fieldNames maps the service's field names to this API's.
var fieldNames = map[string]string{
	"customerId": "user", "paymentMethodId": "payment_method", "lines": "lines", "items": "items", "currency": "currency",
	"description": "description", "metadata": "metadata", "interval": "interval", "intervalCount": "interval_count",
	"startDate": "start_date", "orders": "orders", "scheduledAt": "payment_date", "active": "active",
	"billingAddress": "billing_address", "amount": "amount",
}

// fieldName is the API's name of a service field path ("lines[0].unitAmount"
// → "lines[0].unit_price").
func fieldName(f string) string {
	head, rest, _ := strings.Cut(f, ".")
	idx := ""
	if i := strings.IndexByte(head, '['); i >= 0 {
		head, idx = head[:i], head[i:]
	}
	if n, ok := fieldNames[head]; ok {
		head = n
	}
	switch rest {
	case "":
	case "unitAmount":
		rest = "unit_price"
	case "postalCode":
		rest = "postal_code"
	}
	if rest != "" {
		return head + idx + "." + rest
	}
	return head + idx
}
