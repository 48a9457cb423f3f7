package till

import "time"

// Order is something a customer owes the merchant: lines with a total in
// one currency, paid by one payment (which may pay several orders at once,
// SPEC §13 Orders & Subscriptions). Its status follows from its payment.
type Order struct {
	ID          string      `json:"ID"`
	AccountID   string      `json:"AccountID"`
	Livemode    bool        `json:"Livemode"`
	CustomerID  string      `json:"CustomerID"`
	Currency    string      `json:"Currency"`
	Lines       []OrderLine `json:"Lines"`
	Amount      int64       `json:"Amount"` // Σ quantity × unitAmount, before tax
	Description string      `json:"Description"`
	Metadata    Metadata    `json:"Metadata"`
	// PaymentID is the payment that pays (or paid, or tried to pay) the
	// order; a new payment may take its place only while that one is
	// failed, canceled or expired.
	PaymentID  string     `json:"PaymentID"`
	CanceledAt *time.Time `json:"CanceledAt"`
	Version    int64      `json:"Version"`
	CreatedAt  time.Time  `json:"CreatedAt"`
	UpdatedAt  time.Time  `json:"UpdatedAt"`
}

// OrderLine is one line of an order or a subscription.
type OrderLine struct {
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitAmount  int64  `json:"unitAmount"`
}

// OrderStatus is where an order stands, derived from its payment.
type OrderStatus string

// Order statuses.
const (
	OrderOpen       OrderStatus = "open"       // nothing paid it yet, or its payment failed
	OrderProcessing OrderStatus = "processing" // a payment is under way (or planned, or held)
	OrderPaid       OrderStatus = "paid"
	OrderCanceled   OrderStatus = "canceled"
)

// OrderStatusOf is the status of an order whose payment (nil for none) is
// in status ps.
func OrderStatusOf(o *Order, ps Status) OrderStatus {
	switch {
	case o.CanceledAt != nil:
		return OrderCanceled
	case o.PaymentID == "":
		return OrderOpen
	}
	switch ps {
	case StatusSucceeded, StatusPartiallyRefunded, StatusRefunded, StatusDisputed:
		return OrderPaid
	case StatusFailed, StatusCanceled, StatusExpired, "":
		return OrderOpen
	}
	return OrderProcessing
}

// Subscription charges a customer the same lines every interval, by
// creating a charge at each nextPaymentDate on the account's clock (SPEC
// §11); a declined renewal follows the account's retry policy.
type Subscription struct {
	ID              string      `json:"ID"`
	AccountID       string      `json:"AccountID"`
	Livemode        bool        `json:"Livemode"`
	CustomerID      string      `json:"CustomerID"`
	PaymentMethodID string      `json:"PaymentMethodID"` // "" charges the customer's default method
	Currency        string      `json:"Currency"`
	Items           []OrderLine `json:"Items"`
	Amount          int64       `json:"Amount"`
	Description     string      `json:"Description"`
	Metadata        Metadata    `json:"Metadata"`
	Interval        Interval    `json:"Interval"`
	IntervalCount   int         `json:"IntervalCount"`
	// Anchor is the first payment date; renewal n falls on Anchor plus n
	// intervals (a month's day clamped to the month's last).
	Anchor time.Time `json:"Anchor"`
	// Renewals counts the charges made; the next is renewal Renewals, due
	// at NextPaymentDate.
	Renewals         int       `json:"Renewals"`
	NextPaymentDate  time.Time `json:"NextPaymentDate"`
	CurrentPaymentID string    `json:"CurrentPaymentID"`
	PaymentIDs       []string  `json:"PaymentIDs"`
	// NextPaymentID is the scheduled charge of the next renewal (renewal
	// Renewals, at NextPaymentDate), made when the renewal before it was
	// charged; "" when it is not made yet.
	NextPaymentID string     `json:"NextPaymentID"`
	CanceledAt    *time.Time `json:"CanceledAt"`
	Version       int64      `json:"Version"`
	CreatedAt     time.Time  `json:"CreatedAt"`
	UpdatedAt     time.Time  `json:"UpdatedAt"`
}

// Interval is a subscription's period unit.
type Interval string

// Intervals.
const (
	IntervalDay   Interval = "day"
	IntervalWeek  Interval = "week"
	IntervalMonth Interval = "month"
	IntervalYear  Interval = "year"
)

// Valid reports whether i is a known interval.
func (i Interval) Valid() bool {
	switch i {
	case IntervalDay, IntervalWeek, IntervalMonth, IntervalYear:
		return true
	}
	return false
}

// Renewal returns the date of renewal n: anchor plus n × count intervals.
// Months and years keep the anchor's day, clamped to the last day of a
// shorter month (Jan 31 → Feb 28 → Mar 31).
func (i Interval) Renewal(anchor time.Time, count, n int) time.Time {
	k := count * n
	switch i {
	case IntervalDay:
		return anchor.AddDate(0, 0, k)
	case IntervalWeek:
		return anchor.AddDate(0, 0, 7*k)
	case IntervalYear:
		k *= 12
	}
	y, m, d := anchor.Date()
	first := time.Date(y, m+time.Month(k), 1, anchor.Hour(), anchor.Minute(), anchor.Second(), anchor.Nanosecond(), anchor.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// SubscriptionStatus is where a subscription stands.
type SubscriptionStatus string

// Subscription statuses.
const (
	SubscriptionActive   SubscriptionStatus = "active"
	SubscriptionPastDue  SubscriptionStatus = "past_due" // its last renewal failed (or waits for a retry)
	SubscriptionCanceled SubscriptionStatus = "canceled"
)

// SubscriptionStatusOf is the status of a subscription whose current
// payment (none: "") is in status ps.
func SubscriptionStatusOf(s *Subscription, ps Status) SubscriptionStatus {
	switch {
	case s.CanceledAt != nil:
		return SubscriptionCanceled
	case ps == StatusFailed || ps == StatusRetryScheduled:
		return SubscriptionPastDue
	}
	return SubscriptionActive
}

// OrderFilter narrows a list of orders.
type OrderFilter struct {
	Page
	CustomerID string
}

// SubscriptionFilter narrows a list of subscriptions.
type SubscriptionFilter struct {
	Page
	CustomerID string
}
