package till

import (
	"fmt"
	"slices"
	"time"
)

// Status is where a payment is in its life (SPEC §5).
type Status string

// The payment statuses.
const (
	StatusPending           Status = "pending"
	StatusScheduled         Status = "scheduled"
	StatusProcessing        Status = "processing"
	StatusRequiresAction    Status = "requires_action"
	StatusAuthorized        Status = "authorized"
	StatusSucceeded         Status = "succeeded"
	StatusFailed            Status = "failed"
	StatusRetryScheduled    Status = "retry_scheduled"
	StatusCanceled          Status = "canceled"
	StatusExpired           Status = "expired"
	StatusPartiallyRefunded Status = "partially_refunded"
	StatusRefunded          Status = "refunded"
	StatusDisputed          Status = "disputed"
)

// Statuses lists every status.
var Statuses = []Status{
	StatusPending, StatusScheduled, StatusProcessing, StatusRequiresAction, StatusAuthorized,
	StatusSucceeded, StatusFailed, StatusRetryScheduled, StatusCanceled, StatusExpired,
	StatusPartiallyRefunded, StatusRefunded, StatusDisputed,
}

// transitions is the one table of allowed status changes. A partially
// refunded payment may be partially refunded again; that is the only change
// from a status to itself.
var transitions = map[Status][]Status{
	StatusPending:           {StatusProcessing, StatusCanceled, StatusExpired},
	StatusScheduled:         {StatusProcessing, StatusCanceled},
	StatusProcessing:        {StatusSucceeded, StatusAuthorized, StatusFailed, StatusRequiresAction},
	StatusRequiresAction:    {StatusProcessing, StatusCanceled, StatusExpired},
	StatusAuthorized:        {StatusSucceeded, StatusCanceled},
	StatusSucceeded:         {StatusPartiallyRefunded, StatusRefunded, StatusDisputed},
	StatusFailed:            {StatusRetryScheduled, StatusPending},
	StatusRetryScheduled:    {StatusProcessing, StatusCanceled},
	StatusCanceled:          nil,
	StatusExpired:           nil,
	StatusPartiallyRefunded: {StatusPartiallyRefunded, StatusRefunded, StatusDisputed},
	StatusRefunded:          {StatusDisputed},
	StatusDisputed:          nil,
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// Terminal reports whether no transition leads out of s other than refunds
// and disputes; a request that produced a payment in such a status is over.
func (s Status) Terminal() bool {
	switch s {
	case StatusPending, StatusScheduled, StatusProcessing, StatusRetryScheduled:
		return false
	}
	return true
}

// CanTransition reports whether the table allows from → to.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// StatusChange is one entry of a payment's statusHistory.
type StatusChange struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
}

// eventFor names the event a transition into s emits. Leaving authorized for
// succeeded is a capture.
func eventFor(from, to Status) string {
	switch to {
	case StatusSucceeded:
		if from == StatusAuthorized {
			return EventPaymentCaptured
		}
		return EventPaymentSucceeded
	case StatusPartiallyRefunded, StatusRefunded:
		return EventPaymentRefunded
	}
	return "payment." + string(to)
}

// initialStatuses are the statuses a payment may be created in: a link
// waiting for its payer, a scheduled charge, a charge being attempted.
var initialStatuses = []Status{StatusPending, StatusScheduled, StatusProcessing}

// Start gives a new payment its first status at time at, recorded in
// StatusHistory. A status a payment cannot start in is refused.
func (p *Payment) Start(status Status, at time.Time) error {
	if p.Status != "" || !slices.Contains(initialStatuses, status) {
		return fmt.Errorf("till: a payment cannot start as %q (it is %q)", status, p.Status)
	}
	p.Status = status
	p.StatusHistory = []StatusChange{{Status: status, At: at}}
	return nil
}

// Transition moves p to status to at time at, checked against the one
// transition table. It records the change in StatusHistory, bumps Version and
// returns the type of the event the change emits. A forbidden change returns
// a state_conflict error and leaves p unchanged.
func (p *Payment) Transition(to Status, at time.Time) (event string, err error) {
	if !CanTransition(p.Status, to) {
		return "", Conflict("This payment cannot go from %s to %s.", p.Status, to)
	}
	from := p.Status
	p.Status = to
	p.StatusHistory = append(p.StatusHistory, StatusChange{Status: to, At: at})
	p.UpdatedAt = at
	p.Version++
	return eventFor(from, to), nil
}

// Event types (SPEC §12). The set is append-only.
const (
	EventPaymentSucceeded      = "payment.succeeded"
	EventPaymentFailed         = "payment.failed"
	EventPaymentProcessing     = "payment.processing"
	EventPaymentAuthorized     = "payment.authorized"
	EventPaymentCaptured       = "payment.captured"
	EventPaymentCanceled       = "payment.canceled"
	EventPaymentExpired        = "payment.expired"
	EventPaymentRetryScheduled = "payment.retry_scheduled"
	EventPaymentRefunded       = "payment.refunded"
	EventPaymentDisputed       = "payment.disputed"
	EventPaymentRequiresAction = "payment.requires_action"
	EventPaymentPending        = "payment.pending"
	EventPaymentScheduled      = "payment.scheduled"
	EventPaymentCreated        = "payment.created"
	EventRefundSucceeded       = "refund.succeeded"
	EventRefundFailed          = "refund.failed"
	EventInvoiceCreated        = "invoice.created"
	EventCreditNoteCreated     = "credit_note.created"
	EventReceiptSent           = "receipt.sent"
	EventReceiptFailed         = "receipt.failed"
	EventCustomerCreated       = "customer.created"
	EventCustomerUpdated       = "customer.updated"
	EventCustomerDeleted       = "customer.deleted"
	EventPaymentMethodAttached = "payment_method.attached"
	EventPaymentMethodDetached = "payment_method.detached"
	EventPaymentLinkPaid       = "payment_link.paid"
	// EventWebhookEndpointDisabled: Till disabled an endpoint that kept
	// failing (WebhookDisableAfter).
	EventWebhookEndpointDisabled = "webhook_endpoint.disabled"
)

// EventTypes lists every event type, in the order of the constants.
var EventTypes = []string{
	EventPaymentSucceeded, EventPaymentFailed, EventPaymentProcessing, EventPaymentAuthorized, EventPaymentCaptured,
	EventPaymentCanceled, EventPaymentExpired, EventPaymentRetryScheduled, EventPaymentRefunded, EventPaymentDisputed,
	EventPaymentRequiresAction, EventPaymentPending, EventPaymentScheduled, EventPaymentCreated, EventRefundSucceeded,
	EventRefundFailed, EventInvoiceCreated, EventCreditNoteCreated, EventReceiptSent, EventReceiptFailed,
	EventCustomerCreated, EventCustomerUpdated, EventCustomerDeleted, EventPaymentMethodAttached,
	EventPaymentMethodDetached, EventPaymentLinkPaid, EventWebhookEndpointDisabled,
}
