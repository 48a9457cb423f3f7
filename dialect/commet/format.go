package commet

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// Commet's webhook event types that Till delivers, each from one of Till's
// core events (the README's table).
const (
	eventPaymentReceived      = "payment.received"
	eventPaymentFailed        = "payment.failed"
	eventPaymentLinkCreated   = "payment_link.created"
	eventPaymentLinkCompleted = "payment_link.completed"
	eventPaymentLinkFailed    = "payment_link.failed"
	eventPaymentLinkCanceled  = "payment_link.canceled"
	eventInvoiceCreated       = "invoice.created"
	eventCustomerCreated      = "customer.created"
	eventCustomerUpdated      = "customer.updated"
)

// eventTest is the event of a test delivery (POST /webhooks/{id}/test).
const eventTest = "webhook.test"

// Format is the Commet dialect's webhook format (a service.WebhookFormat):
// Commet's envelope {event, timestamp, organizationId, mode, apiVersion,
// data}, signed in X-Commet-Signature with the hex HMAC-SHA256 of the raw
// body under the endpoint's secret, which is what the SDK's
// webhooks.verify({payload, signature, secret}) checks.
type Format struct{}

var _ service.WebhookFormat = Format{}

// EventTypes lists the Commet events an endpoint can subscribe to.
func (Format) EventTypes() []string {
	return []string{eventPaymentReceived, eventPaymentFailed, eventPaymentLinkCreated, eventPaymentLinkCompleted,
		eventPaymentLinkFailed, eventPaymentLinkCanceled, eventInvoiceCreated, eventCustomerCreated, eventCustomerUpdated}
}

// EventType returns the Commet event of a core event, "" for one Commet
// has no event for.
func (Format) EventType(ev *till.Event) string {
	if ev.ObjectType == "payment" {
		var p struct{ Kind till.PaymentKind }
		if json.Unmarshal(ev.Data, &p) != nil {
			return ""
		}
		link := p.Kind == till.KindLink
		switch ev.Type {
		case till.EventPaymentSucceeded, till.EventPaymentCaptured:
			return eventPaymentReceived
		case till.EventPaymentFailed:
			if link {
				return eventPaymentLinkFailed
			}
			return eventPaymentFailed
		case till.EventPaymentCreated:
			if link {
				return eventPaymentLinkCreated
			}
		case till.EventPaymentLinkPaid:
			return eventPaymentLinkCompleted
		case till.EventPaymentCanceled, till.EventPaymentExpired:
			if link {
				return eventPaymentLinkCanceled
			}
		}
		return ""
	}
	switch ev.Type {
	case till.EventInvoiceCreated:
		return eventInvoiceCreated
	case till.EventCustomerCreated:
		return eventCustomerCreated
	case till.EventCustomerUpdated:
		return eventCustomerUpdated
	}
	return ""
}

// webhookEnvelope is the body of every Commet delivery.
type webhookEnvelope struct {
	Event          string `json:"event"`
	Timestamp      string `json:"timestamp"`
	OrganizationID string `json:"organizationId"`
	Mode           string `json:"mode"`
	APIVersion     string `json:"apiVersion"`
	Data           any    `json:"data"`
}

// mode is Commet's name of a mode: its test mode is "sandbox".
func mode(livemode bool) string {
	if livemode {
		return "live"
	}
	return "sandbox"
}

// Render returns the body of a delivery of ev to ep at t.
func (f Format) Render(ctx context.Context, ev *till.Event, ep *till.WebhookEndpoint, t time.Time, look service.WebhookLookup) ([]byte, error) {
	typ := f.EventType(ev)
	var data any
	var err error
	switch typ {
	case "":
		return nil, fmt.Errorf("commet: no Commet event for %s", ev.Type)
	case eventInvoiceCreated:
		data, err = invoiceData(ev)
	case eventCustomerCreated, eventCustomerUpdated:
		var c till.Customer
		if err = json.Unmarshal(ev.Data, &c); err == nil {
			data = customerOf(&c)
		}
	default:
		var p till.Payment
		if err = json.Unmarshal(ev.Data, &p); err == nil {
			data, err = paymentData(ctx, typ, &p, look)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("commet: render %s: %w", ev.ID, err)
	}
	return middleware.EncodeJSON(webhookEnvelope{Event: typ, Timestamp: timestamp(t), OrganizationID: ep.AccountID, Mode: mode(ep.Livemode),
		APIVersion: APIVersion, Data: data}), nil
}

// timestamp renders t as Commet does: ISO 8601 in UTC with milliseconds.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// RenderTest returns the body of a test delivery.
func (Format) RenderTest(ep *till.WebhookEndpoint, t time.Time) ([]byte, error) {
	return middleware.EncodeJSON(webhookEnvelope{Event: eventTest, Timestamp: timestamp(t), OrganizationID: ep.AccountID, Mode: mode(ep.Livemode),
		APIVersion: APIVersion, Data: map[string]string{"webhookId": ep.ID, "message": "This is a test event from Till."}}), nil
}

// Sign signs body with the endpoint's current secret, as Commet does.
func (Format) Sign(ep *till.WebhookEndpoint, secrets []string, msgID string, t time.Time, body []byte) map[string][]string {
	var head struct{ Event string }
	json.Unmarshal(body, &head)
	h := map[string][]string{
		"Content-Type":       {"application/json"},
		"User-Agent":         {"Till-Webhooks/1 (commet)"},
		"X-Commet-Event":     {head.Event},
		"X-Commet-Timestamp": {timestamp(t)},
		"X-Commet-Delivery":  {msgID},
	}
	if len(secrets) > 0 {
		m := hmac.New(sha256.New, []byte(secrets[0]))
		m.Write(body)
		h["X-Commet-Signature"] = []string{hex.EncodeToString(m.Sum(nil))}
	}
	return h
}

// Data of the payment events, in the field names of the SDK's types.
type (
	paymentReceived struct {
		InvoiceID            string  `json:"invoiceId"`
		InvoiceNumber        string  `json:"invoiceNumber"`
		InvoiceTotal         int64   `json:"invoiceTotal"`
		CustomerID           *string `json:"customerId"`
		SubscriptionID       *string `json:"subscriptionId"`
		PaymentTransactionID string  `json:"paymentTransactionId"`
		Provider             string  `json:"provider"`
		GrossAmount          int64   `json:"grossAmount"`
		Currency             string  `json:"currency"`
		// OrgNetAmount is the gross amount: Till charges no fees.
		OrgNetAmount  int64   `json:"orgNetAmount"`
		CustomerEmail *string `json:"customerEmail"`
		PaidAt        string  `json:"paidAt,omitempty"`
	}
	paymentFailed struct {
		InvoiceID      string  `json:"invoiceId"`
		InvoiceNumber  string  `json:"invoiceNumber"`
		CustomerID     *string `json:"customerId"`
		SubscriptionID *string `json:"subscriptionId"`
		FailureCode    string  `json:"failureCode"`
		FailureMessage string  `json:"failureMessage"`
		RecoveryURL    *string `json:"recoveryUrl"`
	}
	paymentLink struct {
		PaymentID   string  `json:"paymentId"`
		Status      string  `json:"status"`
		Amount      int64   `json:"amount"`
		Currency    string  `json:"currency"`
		Description string  `json:"description"`
		CustomerID  *string `json:"customerId"`
		// Set on payment_link.completed.
		InvoiceID            *string `json:"invoiceId,omitempty"`
		InvoiceNumber        *string `json:"invoiceNumber,omitempty"`
		PaymentTransactionID *string `json:"paymentTransactionId,omitempty"`
		// Set on payment_link.failed.
		FailureCode    *string `json:"failureCode,omitempty"`
		FailureMessage *string `json:"failureMessage,omitempty"`
	}
	invoiceCreated struct {
		InvoiceID      string  `json:"invoiceId"`
		InvoiceNumber  string  `json:"invoiceNumber"`
		InvoiceStatus  string  `json:"invoiceStatus"`
		PeriodStart    string  `json:"periodStart"`
		PeriodEnd      string  `json:"periodEnd"`
		IssueDate      string  `json:"issueDate"`
		DueDate        string  `json:"dueDate"`
		Currency       string  `json:"currency"`
		Subtotal       int64   `json:"subtotal"`
		Total          int64   `json:"total"`
		CustomerID     *string `json:"customerId"`
		SubscriptionID *string `json:"subscriptionId"`
	}
)

// failureOf returns a failed payment's code (the decline code when there
// is one) and message.
func failureOf(p *till.Payment) (code, msg string) {
	if p.Failure == nil {
		return "unknown", "The payment failed."
	}
	code = p.Failure.DeclineCode
	if code == "" {
		code = p.Failure.Code
	}
	return code, p.Failure.Message
}

func paymentData(ctx context.Context, typ string, p *till.Payment, look service.WebhookLookup) (any, error) {
	invoiceNumber := ""
	if p.InvoiceID != "" {
		doc, err := look.Document(ctx, till.Scope{AccountID: p.AccountID, Livemode: p.Livemode}, p.InvoiceID)
		if err != nil {
			return nil, err
		}
		invoiceNumber = doc.Number
	}
	switch typ {
	case eventPaymentReceived:
		out := paymentReceived{InvoiceID: p.InvoiceID, InvoiceNumber: invoiceNumber, InvoiceTotal: p.AmountTotal,
			CustomerID: optional(p.CustomerID), PaymentTransactionID: p.ID, Provider: p.Provider, GrossAmount: p.AmountTotal,
			Currency: p.Currency, OrgNetAmount: p.AmountTotal}
		if p.Receipt != nil {
			out.CustomerEmail = optional(p.Receipt.Email)
		}
		if n := len(p.StatusHistory); n > 0 {
			out.PaidAt = timestamp(p.StatusHistory[n-1].At)
		}
		return out, nil
	case eventPaymentFailed:
		code, msg := failureOf(p)
		return paymentFailed{InvoiceID: p.InvoiceID, InvoiceNumber: invoiceNumber, CustomerID: optional(p.CustomerID),
			FailureCode: code, FailureMessage: msg}, nil
	}
	out := paymentLink{PaymentID: p.ID, Status: statusOf(p.Status), Amount: p.AmountTotal, Currency: p.Currency,
		Description: p.Description, CustomerID: optional(p.CustomerID)}
	switch typ {
	case eventPaymentLinkCompleted:
		out.InvoiceID, out.InvoiceNumber, out.PaymentTransactionID = &p.InvoiceID, &invoiceNumber, &p.ID
	case eventPaymentLinkFailed:
		code, msg := failureOf(p)
		out.FailureCode, out.FailureMessage = &code, &msg
	}
	return out, nil
}

func invoiceData(ev *till.Event) (any, error) {
	var d till.Document
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return nil, err
	}
	day := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	return invoiceCreated{InvoiceID: d.ID, InvoiceNumber: d.Number, InvoiceStatus: "paid", PeriodStart: day(d.SupplyDate),
		PeriodEnd: day(d.SupplyDate), IssueDate: day(d.IssueDate), DueDate: day(d.IssueDate), Currency: d.Currency,
		Subtotal: d.Subtotal, Total: d.Total, CustomerID: optional(d.CustomerID)}, nil
}
