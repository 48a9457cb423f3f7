package till

import (
	"slices"
	"time"
)

// PaymentKind says how a payment came to be.
type PaymentKind string

// Payment kinds.
const (
	KindCharge PaymentKind = "charge" // off-session charge of a saved method
	KindLink   PaymentKind = "link"   // hosted payment link paid by the payer
)

// Payment is one charge or payment link and everything that happened to it.
// Amounts are in minor units of Currency. For exclusive tax the charged
// amount is AmountSubtotal; for inclusive tax it is AmountTotal.
type Payment struct {
	ID              string      `json:"ID"`
	AccountID       string      `json:"AccountID"`
	Livemode        bool        `json:"Livemode"`
	CustomerID      string      `json:"CustomerID"`
	PaymentMethodID string      `json:"PaymentMethodID"`
	Kind            PaymentKind `json:"Kind"`
	Status          Status      `json:"Status"`
	Provider        string      `json:"Provider"`
	Currency        string      `json:"Currency"`
	// Amount is the amount the merchant asked for, in the terms of
	// TaxBehavior: net for exclusive tax, gross for inclusive.
	Amount         int64 `json:"Amount"`
	AmountSubtotal int64 `json:"AmountSubtotal"`
	TaxAmount      int64 `json:"TaxAmount"`
	AmountTotal    int64 `json:"AmountTotal"`
	AmountCaptured int64 `json:"AmountCaptured"`
	AmountRefunded int64 `json:"AmountRefunded"`
	// RefundReserved is the gross amount of refunds sent to the processor
	// and not yet settled; it counts against what can still be refunded.
	RefundReserved int64 `json:"RefundReserved"`
	// RefundedBreakdown is, per TaxBreakdown line, the taxable amount and
	// tax of the refunds succeeded or under way.
	RefundedBreakdown []TaxLine `json:"RefundedBreakdown"`
	// CapturePlan is what a capture under way will leave: the captured
	// amounts and their tax, applied when the processor confirms.
	CapturePlan  *CapturePlan `json:"CapturePlan"`
	Description  string       `json:"Description"`
	Metadata     Metadata     `json:"Metadata"`
	TaxBehavior  TaxBehavior  `json:"TaxBehavior"`
	TaxCountry   string       `json:"TaxCountry"`
	TaxBreakdown []TaxLine    `json:"TaxBreakdown"`
	LineItems    []LineItem   `json:"LineItems"`
	// CatalogOrder is what a catalogue charge sold (nil for other
	// payments).
	CatalogOrder *CatalogOrder `json:"CatalogOrder"`
	InvoiceID    string        `json:"InvoiceID"`
	Receipt      *Receipt      `json:"Receipt"`
	ReceiptEmail string        `json:"ReceiptEmail"` // overrides the customer's email for the receipt
	SendReceipt  bool          `json:"SendReceipt"`
	URL          string        `json:"URL"`
	LinkToken    string        `json:"LinkToken"`
	// SuccessURL is where the hosted page sends the payer of a paid link.
	SuccessURL string `json:"SuccessURL"`
	// FailureURL, when set, is where the hosted page sends the payer of a
	// link whose attempt was declined (the link waits for them again).
	FailureURL    string         `json:"FailureURL,omitempty"`
	ExpiresAt     *time.Time     `json:"ExpiresAt"`
	ScheduledAt   *time.Time     `json:"ScheduledAt"`
	Capture       bool           `json:"Capture"` // false places a hold (authorize only)
	Active        bool           `json:"Active"`  // a scheduled charge that is inactive does not run
	Failure       *Failure       `json:"Failure"`
	NextAction    *NextAction    `json:"NextAction"`
	Attempts      []Attempt      `json:"Attempts"`
	StatusHistory []StatusChange `json:"StatusHistory"`
	// OrderIDs are the orders the payment pays; SubscriptionID the
	// subscription it renews.
	OrderIDs       []string `json:"OrderIDs"`
	SubscriptionID string   `json:"SubscriptionID"`
	// BillingAddress is the payer's billing address when it was given for
	// this payment (PATCH), apart from the customer's address.
	BillingAddress *Address `json:"BillingAddress"`
	// Version rises with every change (the events' objectVersion).
	Version   int64     `json:"Version"`
	CreatedAt time.Time `json:"CreatedAt"`
	UpdatedAt time.Time `json:"UpdatedAt"`
}

// CapturePlan is the outcome a capture of an authorization will have.
type CapturePlan struct {
	Amount       int64      `json:"amount"`
	Subtotal     int64      `json:"subtotal"`
	Tax          int64      `json:"tax"`
	Total        int64      `json:"total"`
	TaxBreakdown []TaxLine  `json:"taxBreakdown"`
	LineItems    []LineItem `json:"lineItems"`
}

// LastAttempt returns the newest attempt, or nil.
func (p *Payment) LastAttempt() *Attempt {
	if len(p.Attempts) == 0 {
		return nil
	}
	return &p.Attempts[len(p.Attempts)-1]
}

// Refundable is the gross amount that can still be refunded: what was
// captured less what was refunded or is being refunded.
func (p *Payment) Refundable() int64 {
	return p.AmountCaptured - p.AmountRefunded - p.RefundReserved
}

// Attempt returns the attempt with the given id, or nil.
func (p *Payment) Attempt(id string) *Attempt {
	for i := range p.Attempts {
		if p.Attempts[i].ID == id {
			return &p.Attempts[i]
		}
	}
	return nil
}

// TaxLine is one row of a payment's tax breakdown: what was taxed where, at
// which rate and why.
type TaxLine struct {
	Country       string `json:"country"`
	Region        string `json:"region,omitempty"`
	Rate          Rate   `json:"rate"`
	TaxableAmount int64  `json:"taxableAmount"`
	TaxAmount     int64  `json:"taxAmount"`
	Reason        string `json:"reason"`
	Name          string `json:"name,omitempty"`
}

// Tax reasons recorded on breakdown lines and invoices.
const (
	TaxReasonDomestic      = "domestic"
	TaxReasonEUOSS         = "eu_oss"
	TaxReasonRegistered    = "registered"
	TaxReasonReverseCharge = "reverse_charge"
	TaxReasonNotCollecting = "not_collecting"
	TaxReasonCustom        = "custom_rate"
	TaxReasonExempt        = "exempt"
)

// LineItem itemizes a charge. Amount is Quantity × UnitAmount, in the same
// terms (net or gross) as the payment's amount; the tax engine fills
// TaxAmount and Taxable.
type LineItem struct {
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitAmount  int64  `json:"unitAmount"`
	Amount      int64  `json:"amount"`
	TaxCode     string `json:"taxCode,omitempty"`
	Taxable     int64  `json:"taxableAmount"`
	TaxAmount   int64  `json:"taxAmount"`
	Rate        Rate   `json:"rate"`
}

// Receipt tracks the receipt email of a payment.
type Receipt struct {
	Email  string        `json:"email"`
	Status ReceiptStatus `json:"status"`
	SentAt *time.Time    `json:"sentAt"`
}

// ReceiptStatus is where a receipt email is.
type ReceiptStatus string

// Receipt statuses.
const (
	ReceiptPending ReceiptStatus = "pending"
	ReceiptSent    ReceiptStatus = "sent"
	ReceiptFailed  ReceiptStatus = "failed"
)

// receiptTransitions is the receipt's table: a pending receipt is sent or
// fails for good (a bounce after retries).
var receiptTransitions = map[ReceiptStatus][]ReceiptStatus{
	ReceiptPending: {ReceiptSent, ReceiptFailed},
}

// Transition moves the receipt to status to at time at, checked against
// its table, recording when it was sent, and returns the type of the event
// the change emits. A forbidden change returns a state_conflict error and
// leaves r unchanged.
func (r *Receipt) Transition(to ReceiptStatus, at time.Time) (event string, err error) {
	if !slices.Contains(receiptTransitions[r.Status], to) {
		return "", Conflict("This receipt cannot go from %s to %s.", r.Status, to)
	}
	r.Status = to
	if to == ReceiptSent {
		sent := at
		r.SentAt = &sent
		return EventReceiptSent, nil
	}
	return EventReceiptFailed, nil
}

// Failure explains why a payment failed.
type Failure struct {
	Code        string `json:"code"`
	DeclineCode string `json:"declineCode"`
	Message     string `json:"message"`
}

// NextAction is what the payer must do for a requires_action payment.
type NextAction struct {
	Type string `json:"type"` // "authenticate"
	URL  string `json:"url"`
}

// AttemptKind says what an attempt asked of the processor.
type AttemptKind string

// Attempt kinds.
const (
	AttemptCharge  AttemptKind = "charge"
	AttemptCapture AttemptKind = "capture"
	AttemptRelease AttemptKind = "release"
	AttemptRefund  AttemptKind = "refund"
)

// Attempt outcomes.
const (
	OutcomeProcessing     = "processing" // sent; outcome not yet known
	OutcomeSucceeded      = "succeeded"
	OutcomeAuthorized     = "authorized"
	OutcomeFailed         = "failed"
	OutcomeRequiresAction = "requires_action"
)

// Attempt is one call to the processor for a payment. Reference is the
// idempotent reference the processor sees: it is derived from the attempt id
// and committed before the call, so a retry after a crash reuses it and can
// never charge twice.
type Attempt struct {
	ID          string      `json:"id"`
	Kind        AttemptKind `json:"kind"`
	At          time.Time   `json:"at"`
	Provider    string      `json:"provider"`
	Amount      int64       `json:"amount"`
	Outcome     string      `json:"outcome"`
	Code        string      `json:"code"`
	DeclineCode string      `json:"declineCode"`
	Message     string      `json:"message"`
	ProviderRef string      `json:"providerRef"`
	Reference   string      `json:"reference"`
	// OffSession marks a charge of a saved method without its payer (a
	// payment link charged by the merchant, ChargeLink); a charge of kind
	// charge is off-session anyway.
	OffSession bool       `json:"offSession,omitempty"`
	SettledAt  *time.Time `json:"settledAt,omitempty"`
}

// Event is something that happened to an object, delivered to webhooks.
// Data is the object's JSON rendering at the time of the event.
type Event struct {
	ID            string
	AccountID     string
	Livemode      bool
	Type          string
	ObjectType    string // "payment", "customer", … : the type Data decodes to
	ObjectID      string
	ObjectVersion int64
	Data          []byte // the object's stored JSON document at the time of the event
	CreatedAt     time.Time
}

// IdempotencyState is where an idempotent request is.
type IdempotencyState string

// Idempotency states.
const (
	IdemInProgress IdempotencyState = "in_progress"
	IdemDone       IdempotencyState = "done"
)

// IdempotencyRecord remembers a request made with an Idempotency-Key, scoped
// to account, mode, API and key, so that a repeat gets the first outcome. It
// records what the request did (Operation, such as "charge" or "refund") and
// what made it that request (Fingerprint: for the native API its method,
// path and the SHA-256 of its body), so that the key cannot be reused for
// another request. A multi-step request (one that calls a processor) is
// first stored in progress under a lease; ResourceID names the object it
// works on, so that a retry after a crash can finish it by its operation
// instead of starting again. Result is the outcome the service stored when
// the request finished (possibly sealed); StatusCode and ResponseBody are a
// response the native API rendered before results were stored (records made
// before migration 6, replayed as they are).
type IdempotencyRecord struct {
	AccountID    string
	Livemode     bool
	API          string
	Key          string
	Operation    string
	Fingerprint  string
	State        IdempotencyState
	LeaseOwner   string
	LeaseUntil   time.Time
	ResourceID   string
	Result       []byte
	StatusCode   int
	ResponseBody []byte
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Task is one unit of background work (settle a pending attempt, reconcile an
// unsettled one, run a scheduled charge, send a receipt, deliver a webhook…).
// Workers claim due tasks under a lease; a task whose worker dies is claimed
// again when the lease runs out.
type Task struct {
	ID         string
	Kind       string
	AccountID  string
	Livemode   bool
	Ref        string // the object the task works on, e.g. a payment id
	Ref2       string // a second reference, e.g. an attempt id
	RunAt      time.Time
	Attempts   int
	LeaseOwner string
	LeaseUntil time.Time
	LastError  string
	CreatedAt  time.Time
}

// Task kinds.
const (
	TaskReconcileAttempt = "attempt.reconcile"
)
