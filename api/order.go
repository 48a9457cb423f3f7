package api

import (
	"time"

	"github.com/tillpay/till"
)

// OrderLine is one line of an order or a subscription.
type OrderLine struct {
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitAmount  int64  `json:"unitAmount"`
	Amount      int64  `json:"amount"`
}

func orderLinesOf(lines []till.OrderLine) []OrderLine {
	out := make([]OrderLine, len(lines))
	for i, l := range lines {
		out[i] = OrderLine{Description: l.Description, Quantity: l.Quantity, UnitAmount: l.UnitAmount, Amount: l.Quantity * l.UnitAmount}
	}
	return out
}

// Order is the order object: lines a customer owes, paid by one payment.
type Order struct {
	ID          string        `json:"id"`
	Object      string        `json:"object"`
	CustomerID  string        `json:"customerId"`
	Currency    string        `json:"currency"`
	Lines       []OrderLine   `json:"lines"`
	Amount      int64         `json:"amount"`
	Description string        `json:"description"`
	Metadata    till.Metadata `json:"metadata"`
	Status      string        `json:"status"`
	PaymentID   *string       `json:"paymentId"`
	CanceledAt  *time.Time    `json:"canceledAt"`
	CreatedAt   time.Time     `json:"createdAt"`
	UpdatedAt   time.Time     `json:"updatedAt"`
	Livemode    bool          `json:"livemode"`
}

// OrderOf renders an order in status st.
func OrderOf(o *till.Order, st till.OrderStatus) Order {
	md := o.Metadata
	if md == nil {
		md = till.Metadata{}
	}
	return Order{ID: o.ID, Object: "order", CustomerID: o.CustomerID, Currency: o.Currency, Lines: orderLinesOf(o.Lines), Amount: o.Amount,
		Description: o.Description, Metadata: md, Status: string(st), PaymentID: str(o.PaymentID), CanceledAt: utcp(o.CanceledAt),
		CreatedAt: utc(o.CreatedAt), UpdatedAt: utc(o.UpdatedAt), Livemode: o.Livemode}
}

// OrderCreate is the body of POST /v1/orders.
type OrderCreate struct {
	CustomerID  string          `json:"customerId"`
	Currency    string          `json:"currency"`
	Lines       []LineItemInput `json:"lines"`
	Description string          `json:"description"`
	Metadata    till.Metadata   `json:"metadata"`
}

// OrdersPay is the body of POST /v1/orders/pay.
type OrdersPay struct {
	Orders          []string      `json:"orders"`
	PaymentMethodID string        `json:"paymentMethodId"`
	Description     string        `json:"description"`
	Metadata        till.Metadata `json:"metadata"`
}

// Subscription is the subscription object: the same lines charged every
// interval.
type Subscription struct {
	ID               string        `json:"id"`
	Object           string        `json:"object"`
	CustomerID       string        `json:"customerId"`
	PaymentMethodID  *string       `json:"paymentMethodId"`
	Currency         string        `json:"currency"`
	Items            []OrderLine   `json:"items"`
	Amount           int64         `json:"amount"`
	Description      string        `json:"description"`
	Metadata         till.Metadata `json:"metadata"`
	Interval         string        `json:"interval"`
	IntervalCount    int           `json:"intervalCount"`
	Status           string        `json:"status"`
	StartDate        time.Time     `json:"startDate"`
	NextPaymentDate  *time.Time    `json:"nextPaymentDate"`
	Renewals         int           `json:"renewals"`
	CurrentPaymentID *string       `json:"currentPaymentId"`
	NextPaymentID    *string       `json:"nextPaymentId"`
	PaymentIDs       []string      `json:"paymentIds"`
	CanceledAt       *time.Time    `json:"canceledAt"`
	CreatedAt        time.Time     `json:"createdAt"`
	UpdatedAt        time.Time     `json:"updatedAt"`
	Livemode         bool          `json:"livemode"`
}

// SubscriptionOf renders a subscription in status st.
func SubscriptionOf(s *till.Subscription, st till.SubscriptionStatus) Subscription {
	md := s.Metadata
	if md == nil {
		md = till.Metadata{}
	}
	next, nextID := utcp(&s.NextPaymentDate), s.NextPaymentID
	if s.CanceledAt != nil {
		next, nextID = nil, ""
	}
	return Subscription{ID: s.ID, Object: "subscription", CustomerID: s.CustomerID, PaymentMethodID: str(s.PaymentMethodID),
		Currency: s.Currency, Items: orderLinesOf(s.Items), Amount: s.Amount, Description: s.Description, Metadata: md,
		Interval: string(s.Interval), IntervalCount: s.IntervalCount, Status: string(st), StartDate: utc(s.Anchor), NextPaymentDate: next,
		Renewals: s.Renewals, CurrentPaymentID: str(s.CurrentPaymentID), NextPaymentID: str(nextID), PaymentIDs: nonNil(s.PaymentIDs), CanceledAt: utcp(s.CanceledAt),
		CreatedAt: utc(s.CreatedAt), UpdatedAt: utc(s.UpdatedAt), Livemode: s.Livemode}
}

// SubscriptionCreate is the body of POST /v1/subscriptions.
type SubscriptionCreate struct {
	CustomerID      string          `json:"customerId"`
	PaymentMethodID string          `json:"paymentMethodId"`
	Currency        string          `json:"currency"`
	Items           []LineItemInput `json:"items"`
	Description     string          `json:"description"`
	Metadata        till.Metadata   `json:"metadata"`
	Interval        string          `json:"interval"`
	IntervalCount   *int64          `json:"intervalCount"`
	StartDate       *time.Time      `json:"startDate"`
}

// SubscriptionUpdate is the body of PATCH /v1/subscriptions/{id}.
type SubscriptionUpdate struct {
	PaymentMethodID *string       `json:"paymentMethodId"`
	Metadata        till.Metadata `json:"metadata"`
}

// nonNil renders a nil list as [].
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
