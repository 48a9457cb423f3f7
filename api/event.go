package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tillpay/till"
)

// APIVersion is the version of the native API's object shapes. An event
// names it so that a receiver knows how to read data.object; it changes only
// when a rendered object changes incompatibly.
const APIVersion = "2026-12-01"

// Event is the public event object (SPEC §12), as GET /v1/events returns it
// and webhooks deliver it: data.object is the object at the time of the
// event, rendered exactly as the native API renders it.
type Event struct {
	ID            string    `json:"id"`
	Object        string    `json:"object"`
	Type          string    `json:"type"`
	APIVersion    string    `json:"apiVersion"`
	CreatedAt     time.Time `json:"createdAt"`
	Livemode      bool      `json:"livemode"`
	ObjectID      string    `json:"objectId"`
	ObjectVersion int64     `json:"objectVersion"`
	Data          EventData `json:"data"`
}

// EventData holds the object an event is about: a Payment, Refund,
// Customer, PaymentMethod, Document, WebhookEndpoint or Account.
type EventData struct {
	Object any `json:"object"`
}

// EventOf renders a stored event. It decodes e.Data, the domain object's
// stored JSON document, by e.ObjectType and renders it with the native
// renderer of that type, so no field the native API withholds (a payment's
// link token, a card's sealed number, an account's sealed processor secrets)
// can appear. An account renders for e.Livemode.
//
// A payment method renders with isDefault false: the stored document does
// not say whether it was its customer's default.
//
// EventOf returns an internal error for a nil event, an unknown object type,
// data that does not decode, or data about another object than e.ObjectID.
func EventOf(e *till.Event) (Event, error) {
	if e == nil {
		return Event{}, till.Internal(fmt.Errorf("api: render a nil event"))
	}
	obj, id, err := eventObject(e)
	if err != nil {
		return Event{}, till.Internal(fmt.Errorf("api: event %s: %w", e.ID, err))
	}
	if id != e.ObjectID {
		return Event{}, till.Internal(fmt.Errorf("api: event %s of %s holds the data of %q", e.ID, e.ObjectID, id))
	}
	return Event{
		ID: e.ID, Object: "event", Type: e.Type, APIVersion: APIVersion, CreatedAt: utc(e.CreatedAt),
		Livemode: e.Livemode, ObjectID: e.ObjectID, ObjectVersion: e.ObjectVersion, Data: EventData{Object: obj},
	}, nil
}

// eventObject decodes an event's data into its domain type and returns the
// native rendering and the decoded object's id.
func eventObject(e *till.Event) (any, string, error) {
	switch e.ObjectType {
	case "payment":
		var p till.Payment
		if err := decodeEventData(e, &p); err != nil {
			return nil, "", err
		}
		return PaymentOf(&p), p.ID, nil
	case "refund":
		var r till.Refund
		if err := decodeEventData(e, &r); err != nil {
			return nil, "", err
		}
		return RefundOf(&r), r.ID, nil
	case "customer":
		var c till.Customer
		if err := decodeEventData(e, &c); err != nil {
			return nil, "", err
		}
		return CustomerOf(&c), c.ID, nil
	case "payment_method":
		var pm till.PaymentMethod
		if err := decodeEventData(e, &pm); err != nil {
			return nil, "", err
		}
		return PaymentMethodOf(&pm, false), pm.ID, nil
	case string(till.DocInvoice), string(till.DocCreditNote):
		var d till.Document
		if err := decodeEventData(e, &d); err != nil {
			return nil, "", err
		}
		if string(d.Kind) != e.ObjectType {
			return nil, "", fmt.Errorf("a %s event holds a document of kind %q", e.ObjectType, d.Kind)
		}
		return DocumentOf(&d), d.ID, nil
	case "webhook_endpoint":
		var w till.WebhookEndpoint
		if err := decodeEventData(e, &w); err != nil {
			return nil, "", err
		}
		return WebhookEndpointOf(&w), w.ID, nil
	case "account":
		var a till.Account
		if err := decodeEventData(e, &a); err != nil {
			return nil, "", err
		}
		return AccountOf(&a, e.Livemode), a.ID, nil
	}
	return nil, "", fmt.Errorf("unknown object type %q", e.ObjectType)
}

func decodeEventData(e *till.Event, v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decode %s data: %w", e.ObjectType, err)
	}
	return nil
}

// EventBody renders an event as a webhook delivery carries it: the event
// object's JSON, exactly as GET /v1/events/{id} shows it in data.
func EventBody(e *till.Event) ([]byte, error) {
	ev, err := EventOf(e)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return nil, till.Internal(fmt.Errorf("api: encode event %s: %w", e.ID, err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
