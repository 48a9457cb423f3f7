package till

import (
	"context"
	"errors"
	"time"
)

// Processor is the boundary to a card processor (SPEC §4b). Every call that
// moves money carries Reference, an idempotent reference derived from the
// attempt: a processor that sees the same reference twice must act once and
// answer the second call with the first outcome. An error return (as opposed
// to a declined result) means the outcome is unknown: the call may or may not
// have reached the processor, and the caller must find out with Lookup, never
// by calling again with a new reference.
type Processor interface {
	// Name returns the processor's name ("simulator", "stripe").
	Name() string
	// Verify checks a card at save time. A declined result (incorrect_cvc,
	// expired_card, …) means the card must not be saved.
	Verify(ctx context.Context, r VerifyRequest) (*ProcessorResult, error)
	// Charge charges (Capture true) or authorizes (Capture false) a saved
	// method.
	Charge(ctx context.Context, r ChargeRequest) (*ProcessorResult, error)
	// Capture captures Amount of an authorized charge and releases the rest.
	Capture(ctx context.Context, r CaptureRequest) (*ProcessorResult, error)
	// Release voids an authorization.
	Release(ctx context.Context, r ReleaseRequest) (*ProcessorResult, error)
	// Refund returns Amount of a captured charge.
	Refund(ctx context.Context, r RefundRequest) (*ProcessorResult, error)
	// Lookup returns what the processor did for reference. It returns an
	// error with code resource_missing when the processor never saw it.
	Lookup(ctx context.Context, r LookupRequest) (*ProcessorResult, error)
}

// ErrProcessorTimeout is returned (wrapped) by a processor whose call timed
// out: the outcome is unknown.
var ErrProcessorTimeout = errors.New("processor did not answer in time")

// ProcessorOutcome is what a processor answered.
type ProcessorOutcome string

// Processor outcomes.
const (
	ProcessorSucceeded      ProcessorOutcome = "succeeded"       // money taken (or refunded, captured, released)
	ProcessorAuthorized     ProcessorOutcome = "authorized"      // funds held
	ProcessorPending        ProcessorOutcome = "pending"         // accepted, outcome later
	ProcessorDeclined       ProcessorOutcome = "declined"        // refused; see DeclineCode
	ProcessorRequiresAction ProcessorOutcome = "requires_action" // the issuer wants the cardholder
)

// PaymentSource is what a processor charges: a card Till vaulted (Card set)
// or a method the processor keeps (ProviderRef set).
type PaymentSource struct {
	Card        *Card
	ProviderRef string
	Fingerprint string
}

// VerifyRequest asks the processor to check a card before it is saved.
type VerifyRequest struct {
	AccountID string
	Livemode  bool
	Source    PaymentSource
}

// ChargeRequest asks the processor to charge or authorize a saved method.
type ChargeRequest struct {
	Reference     string
	AccountID     string
	Livemode      bool
	Amount        int64
	Currency      string
	Capture       bool
	OffSession    bool
	Authenticated bool // the payer completed authentication on-session
	Source        PaymentSource
	Description   string
	// At is the account's clock time of the call (test clocks move it).
	At time.Time
}

// CaptureRequest captures an authorization made under ChargeReference.
type CaptureRequest struct {
	Reference       string
	ChargeReference string
	ProviderRef     string
	Amount          int64
	Currency        string
	At              time.Time
}

// ReleaseRequest voids an authorization made under ChargeReference.
type ReleaseRequest struct {
	Reference       string
	ChargeReference string
	ProviderRef     string
	At              time.Time
}

// RefundRequest refunds part or all of a capture made under ChargeReference.
type RefundRequest struct {
	Reference       string
	ChargeReference string
	ProviderRef     string
	Amount          int64
	Currency        string
	At              time.Time
}

// LookupRequest asks what happened to Reference, as of At.
type LookupRequest struct {
	Reference string
	At        time.Time
}

// ProcessorResult is a processor's answer.
type ProcessorResult struct {
	Outcome     ProcessorOutcome
	ProviderRef string // the processor's own id for the operation
	Amount      int64
	DeclineCode string
	Message     string
	// SoftDecline marks a decline that may succeed if retried later
	// (insufficient_funds, processing_error, try_again_later).
	SoftDecline bool
	// NextActionURL is the processor's authentication URL, if it has one.
	NextActionURL string
}

// Decline codes (SPEC §1).
const (
	DeclineInsufficientFunds      = "insufficient_funds"
	DeclineGeneric                = "generic_decline"
	DeclineExpiredCard            = "expired_card"
	DeclineIncorrectCVC           = "incorrect_cvc"
	DeclineLostCard               = "lost_card"
	DeclineStolenCard             = "stolen_card"
	DeclineProcessingError        = "processing_error"
	DeclineAuthenticationRequired = "authentication_required"
	DeclineTryAgainLater          = "try_again_later"
	DeclineIncorrectNumber        = "incorrect_number"
	DeclineRefundFailed           = "refund_failed"
)

// SoftDecline reports whether a decline code may succeed when retried later
// (SPEC §11).
func SoftDecline(code string) bool {
	switch code {
	case DeclineInsufficientFunds, DeclineProcessingError, DeclineTryAgainLater:
		return true
	}
	return false
}

// MethodKeeper is a processor that keeps payment methods of its own
// (Stripe's pm_…): Till saves a reference to one and reads its card's
// details, and never sees its number. Such a processor takes no card
// numbers from Till.
type MethodKeeper interface {
	// Method returns the card details of the processor's method ref, or a
	// till.Error with code resource_missing when it has none by that name.
	Method(ctx context.Context, ref string) (CardDetails, error)
}

// EventReceiver is a processor that pushes what happened later to Till
// (Stripe's webhooks): charges that settled after the call, refunds, and
// disputes.
type EventReceiver interface {
	// ParseEvent verifies that payload was signed with secret as header
	// says, and returns what it reports. It returns ErrEventSignature
	// (wrapped) when the signature does not verify or is too old, and a
	// ProcessorEvent with Kind EventIgnored for an event Till has no use
	// for. It may ask the processor for what the event leaves out (the
	// charge a dispute is about).
	ParseEvent(ctx context.Context, payload []byte, header, secret string) (*ProcessorEvent, error)
}

// ErrEventSignature is returned (wrapped) by ParseEvent for a payload whose
// signature does not verify.
var ErrEventSignature = errors.New("the event's signature does not verify")

// ProcessorEventKind says what a pushed event is about.
type ProcessorEventKind string

// Kinds of pushed events.
const (
	// EventIgnored is an event Till does not act on.
	EventIgnored ProcessorEventKind = "ignored"
	// EventCharge reports where a charge (or hold) made under Reference
	// stands: Result as ChargeRequest's answer would give it.
	EventCharge ProcessorEventKind = "charge"
	// EventRefund reports the outcome of the refund made under Reference.
	EventRefund ProcessorEventKind = "refund"
	// EventRefunded says that the charge made under Reference was refunded
	// at the processor; the refunds Till has under way on it are asked
	// about.
	EventRefunded ProcessorEventKind = "refunded"
	// EventDispute reports a chargeback on the charge made under
	// Reference: Amount disputed, in Currency, with the processor's
	// DisputeRef and Reason.
	EventDispute ProcessorEventKind = "dispute"
)

// ProcessorEvent is what a pushed event reports.
type ProcessorEvent struct {
	// ID is the processor's id of the event (evt_…), and Type its own name
	// for it (payment_intent.succeeded).
	ID, Type string
	Livemode bool
	Kind     ProcessorEventKind
	// Reference is the Till reference of the call the event is about (the
	// charge's for EventCharge, EventRefunded and EventDispute; the
	// refund's for EventRefund); empty when the object carries none (it was
	// not made by Till).
	Reference string
	// Result is the outcome, for EventCharge and EventRefund.
	Result *ProcessorResult
	// Voided says, for EventCharge, that the charge was canceled at the
	// processor: a hold released, or a charge abandoned.
	Voided bool
	// For EventDispute.
	Amount     int64
	Currency   string
	DisputeRef string
	Reason     string
}
