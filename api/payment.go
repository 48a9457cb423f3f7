package api

import (
	"time"

	"github.com/tillpay/till"
)

// ChargeRequest is the body of POST /v1/payments/charge (SPEC §4). Amount is
// a pointer so that a missing amount and an amount of 0 get different errors.
type ChargeRequest struct {
	CustomerID      string          `json:"customerId"`
	Amount          *int64          `json:"amount"`
	Currency        string          `json:"currency"`
	Description     string          `json:"description"`
	Metadata        till.Metadata   `json:"metadata"`
	PaymentMethodID string          `json:"paymentMethodId"`
	TaxBehavior     string          `json:"taxBehavior"`
	TaxCountry      string          `json:"taxCountry"`
	Capture         *bool           `json:"capture"`
	LineItems       []LineItemInput `json:"lineItems"`
	ScheduledAt     *time.Time      `json:"scheduledAt"`
	ReceiptEmail    string          `json:"receiptEmail"`
	SendReceipt     *bool           `json:"sendReceipt"`
}

// LineItemInput itemizes a charge; the items' quantity × unitAmount must sum
// to the charge's amount.
type LineItemInput struct {
	Description string `json:"description"`
	Quantity    *int64 `json:"quantity"`
	UnitAmount  *int64 `json:"unitAmount"`
	TaxCode     string `json:"taxCode"`
}

// PaymentLinkRequest is the body of POST /v1/payment-links.
type PaymentLinkRequest struct {
	Amount      *int64          `json:"amount"`
	Currency    string          `json:"currency"`
	Description string          `json:"description"`
	CustomerID  string          `json:"customerId,omitempty"`
	ExpiresAt   *time.Time      `json:"expiresAt,omitempty"`
	SuccessURL  string          `json:"successUrl,omitempty"`
	Metadata    till.Metadata   `json:"metadata,omitempty"`
	TaxBehavior string          `json:"taxBehavior,omitempty"`
	LineItems   []LineItemInput `json:"lineItems,omitempty"`
}

// PaymentUpdate is the body of PATCH /v1/payments/{id}.
type PaymentUpdate struct {
	Metadata        till.Metadata `json:"metadata"`
	ScheduledAt     *time.Time    `json:"scheduledAt"`
	PaymentMethodID *string       `json:"paymentMethodId"`
	Active          *bool         `json:"active"`
	BillingAddress  *Address      `json:"billingAddress"`
}

// CaptureRequest is the body of POST /v1/payments/{id}/capture.
type CaptureRequest struct {
	Amount *int64 `json:"amount"`
}

// Payment is the payment object (SPEC §4), a superset of the Commet seed's.
type Payment struct {
	ID              string              `json:"id"`
	Object          string              `json:"object"`
	CustomerID      *string             `json:"customerId"`
	PaymentMethodID *string             `json:"paymentMethodId"`
	Kind            string              `json:"kind"`
	Status          string              `json:"status"`
	Provider        string              `json:"provider"`
	AmountSubtotal  int64               `json:"amountSubtotal"`
	TaxAmount       int64               `json:"taxAmount"`
	AmountTotal     int64               `json:"amountTotal"`
	AmountCaptured  int64               `json:"amountCaptured"`
	AmountRefunded  int64               `json:"amountRefunded"`
	Currency        string              `json:"currency"`
	Description     string              `json:"description"`
	Metadata        till.Metadata       `json:"metadata"`
	TaxBehavior     string              `json:"taxBehavior"`
	TaxBreakdown    []TaxLine           `json:"taxBreakdown"`
	LineItems       []LineItem          `json:"lineItems"`
	CatalogOrder    *CatalogOrder       `json:"catalogOrder"`
	InvoiceID       *string             `json:"invoiceId"`
	Receipt         *till.Receipt       `json:"receipt"`
	URL             *string             `json:"url"`
	SuccessURL      *string             `json:"successUrl"`
	ExpiresAt       *time.Time          `json:"expiresAt"`
	ScheduledAt     *time.Time          `json:"scheduledAt"`
	Capture         bool                `json:"capture"`
	Active          bool                `json:"active"`
	Failure         *till.Failure       `json:"failure"`
	NextAction      *till.NextAction    `json:"nextAction"`
	Attempts        []Attempt           `json:"attempts"`
	StatusHistory   []till.StatusChange `json:"statusHistory"`
	OrderIDs        []string            `json:"orderIds"`
	SubscriptionID  *string             `json:"subscriptionId"`
	BillingAddress  *Address            `json:"billingAddress"`
	ObjectVersion   int64               `json:"objectVersion"`
	CreatedAt       time.Time           `json:"createdAt"`
	UpdatedAt       time.Time           `json:"updatedAt"`
	Livemode        bool                `json:"livemode"`
}

// TaxLine is one row of a tax breakdown; Rate is a percentage string.
type TaxLine struct {
	Country       string  `json:"country"`
	Region        *string `json:"region"`
	Rate          string  `json:"rate"`
	TaxableAmount int64   `json:"taxableAmount"`
	TaxAmount     int64   `json:"taxAmount"`
	Reason        string  `json:"reason"`
}

// LineItem is an itemized line of a payment with its tax.
type LineItem struct {
	Description   string  `json:"description"`
	Quantity      int64   `json:"quantity"`
	UnitAmount    int64   `json:"unitAmount"`
	Amount        int64   `json:"amount"`
	TaxCode       *string `json:"taxCode"`
	TaxableAmount int64   `json:"taxableAmount"`
	TaxAmount     int64   `json:"taxAmount"`
	TaxRate       string  `json:"taxRate"`
}

// Attempt is one processor call of a payment.
type Attempt struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	At          time.Time `json:"at"`
	Provider    string    `json:"provider"`
	Amount      int64     `json:"amount"`
	Outcome     string    `json:"outcome"`
	Code        *string   `json:"code"`
	DeclineCode *string   `json:"declineCode"`
	Message     *string   `json:"message"`
	ProviderRef *string   `json:"providerRef"`
	Reference   string    `json:"reference"`
}

// TaxLinesOf renders a tax breakdown.
func TaxLinesOf(lines []till.TaxLine) []TaxLine {
	out := make([]TaxLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, TaxLine{Country: l.Country, Region: str(l.Region), Rate: l.Rate.String(),
			TaxableAmount: l.TaxableAmount, TaxAmount: l.TaxAmount, Reason: l.Reason})
	}
	return out
}

// PaymentOf renders a payment.
func PaymentOf(p *till.Payment) Payment {
	md := p.Metadata
	if md == nil {
		md = till.Metadata{}
	}
	items := make([]LineItem, 0, len(p.LineItems))
	for _, li := range p.LineItems {
		items = append(items, LineItem{Description: li.Description, Quantity: li.Quantity, UnitAmount: li.UnitAmount,
			Amount: li.Amount, TaxCode: str(li.TaxCode), TaxableAmount: li.Taxable, TaxAmount: li.TaxAmount, TaxRate: li.Rate.String()})
	}
	attempts := make([]Attempt, 0, len(p.Attempts))
	for _, a := range p.Attempts {
		attempts = append(attempts, Attempt{ID: a.ID, Kind: string(a.Kind), At: utc(a.At), Provider: a.Provider, Amount: a.Amount,
			Outcome: a.Outcome, Code: str(a.Code), DeclineCode: str(a.DeclineCode), Message: str(a.Message),
			ProviderRef: str(a.ProviderRef), Reference: a.Reference})
	}
	history := make([]till.StatusChange, 0, len(p.StatusHistory))
	for _, h := range p.StatusHistory {
		history = append(history, till.StatusChange{Status: h.Status, At: utc(h.At)})
	}
	var receipt *till.Receipt
	if p.Receipt != nil {
		r := *p.Receipt
		r.SentAt = utcp(r.SentAt)
		receipt = &r
	}
	return Payment{
		ID: p.ID, Object: "payment", CustomerID: str(p.CustomerID), PaymentMethodID: str(p.PaymentMethodID),
		Kind: string(p.Kind), Status: string(p.Status), Provider: p.Provider,
		AmountSubtotal: p.AmountSubtotal, TaxAmount: p.TaxAmount, AmountTotal: p.AmountTotal,
		AmountCaptured: p.AmountCaptured, AmountRefunded: p.AmountRefunded, Currency: p.Currency,
		Description: p.Description, Metadata: md, TaxBehavior: string(p.TaxBehavior), TaxBreakdown: TaxLinesOf(p.TaxBreakdown),
		LineItems: items, CatalogOrder: CatalogOrderOf(p.CatalogOrder), InvoiceID: str(p.InvoiceID), Receipt: receipt, URL: str(p.URL), SuccessURL: str(p.SuccessURL),
		ExpiresAt: utcp(p.ExpiresAt), ScheduledAt: utcp(p.ScheduledAt), Capture: p.Capture, Active: p.Active,
		Failure: p.Failure, NextAction: p.NextAction, Attempts: attempts, StatusHistory: history,
		OrderIDs: nonNil(p.OrderIDs), SubscriptionID: str(p.SubscriptionID), BillingAddress: billingAddressOf(p.BillingAddress), ObjectVersion: p.Version, CreatedAt: utc(p.CreatedAt), UpdatedAt: utc(p.UpdatedAt), Livemode: p.Livemode,
	}
}

// ProcessorCharge is the simulator's own record of one operation, served in
// test mode at GET /v1/test/processor/charges.
type ProcessorCharge struct {
	Object      string     `json:"object"`
	Reference   string     `json:"reference"`
	Kind        string     `json:"kind"`
	ParentRef   *string    `json:"parentReference"`
	ProviderRef string     `json:"providerRef"`
	Amount      int64      `json:"amount"`
	Currency    string     `json:"currency"`
	Outcome     string     `json:"outcome"`
	DeclineCode *string    `json:"declineCode"`
	Last4       *string    `json:"last4"`
	SettleAt    *time.Time `json:"settleAt"`
	CreatedAt   time.Time  `json:"createdAt"`
}

// ProcessorChargeOf renders a processor record.
func ProcessorChargeOf(r *till.ProcessorRecord) ProcessorCharge {
	return ProcessorCharge{Object: "processor_charge", Reference: r.Reference, Kind: string(r.Kind), ParentRef: str(r.ParentRef),
		ProviderRef: r.ProviderRef, Amount: r.Amount, Currency: r.Currency, Outcome: string(r.Outcome),
		DeclineCode: str(r.DeclineCode), Last4: str(r.Last4), SettleAt: utcp(r.SettleAt), CreatedAt: utc(r.CreatedAt)}
}

// ClockAdvance is the body of POST /v1/test/clock/advance.
type ClockAdvance struct {
	Seconds int64 `json:"seconds"`
}

// Clock is a test-mode account's clock.
type Clock struct {
	Object        string    `json:"object"`
	Now           time.Time `json:"now"`
	OffsetSeconds int64     `json:"offsetSeconds"`
}

// RefundRequest is the body of POST /v1/payments/{id}/refunds. Amount is
// gross, in the terms of the payment's amountTotal; omitted, everything
// still refundable is refunded.
type RefundRequest struct {
	Amount *int64 `json:"amount"`
	Reason string `json:"reason"`
}

// Refund is the refund object.
type Refund struct {
	ID           string        `json:"id"`
	Object       string        `json:"object"`
	PaymentID    string        `json:"paymentId"`
	Status       string        `json:"status"`
	Amount       int64         `json:"amount"`
	NetAmount    int64         `json:"netAmount"`
	TaxAmount    int64         `json:"taxAmount"`
	TaxBreakdown []TaxLine     `json:"taxBreakdown"`
	Currency     string        `json:"currency"`
	Reason       *string       `json:"reason"`
	Failure      *till.Failure `json:"failure"`
	CreditNoteID *string       `json:"creditNoteId"`
	Receipt      *till.Receipt `json:"receipt"`
	Attempt      Attempt       `json:"attempt"`
	CreatedAt    time.Time     `json:"createdAt"`
	UpdatedAt    time.Time     `json:"updatedAt"`
	Livemode     bool          `json:"livemode"`
}

// attemptOf renders an attempt.
func attemptOf(a till.Attempt) Attempt {
	return Attempt{ID: a.ID, Kind: string(a.Kind), At: utc(a.At), Provider: a.Provider, Amount: a.Amount,
		Outcome: a.Outcome, Code: str(a.Code), DeclineCode: str(a.DeclineCode), Message: str(a.Message),
		ProviderRef: str(a.ProviderRef), Reference: a.Reference}
}

// RefundOf renders a refund.
func RefundOf(r *till.Refund) Refund {
	var receipt *till.Receipt
	if r.Receipt != nil {
		rc := *r.Receipt
		rc.SentAt = utcp(rc.SentAt)
		receipt = &rc
	}
	return Refund{ID: r.ID, Object: "refund", PaymentID: r.PaymentID, Status: string(r.Status), Amount: r.Amount,
		NetAmount: r.Net, TaxAmount: r.Tax, TaxBreakdown: TaxLinesOf(r.Breakdown), Currency: r.Currency, Reason: str(r.Reason),
		Failure: r.Failure, CreditNoteID: str(r.CreditNoteID), Receipt: receipt, Attempt: attemptOf(r.Attempt),
		CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt), Livemode: r.Livemode}
}

// billingAddressOf renders a payment's billing address; none is nil.
func billingAddressOf(a *till.Address) *Address {
	if a == nil {
		return nil
	}
	return AddressOf(*a)
}
