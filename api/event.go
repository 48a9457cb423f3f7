package api

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tillpay/till"
)

// APIVersion names the shape of the native API's objects; every rendered
// event carries it, so a receiver knows how to read data.object.
const APIVersion = "2026-12-01"

// Event is the event object (SPEC §12): what happened (type) to which
// object, the object as the native API renders it at that moment, and the
// object's version, which rises with every change so that a receiver can
// discard stale events.
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

// EventData holds the event's object.
type EventData struct {
	Object any `json:"object"`
}

// EventOf renders a stored event: its domain snapshot is decoded by object
// type and rendered as the native API renders that object. A saved payment
// method is rendered without its default flag (isDefault is false): the
// default is the customer's setting, carried by customer events. An object
// type it does not know is an error.
func EventOf(e *till.Event) (Event, error) {
	obj, err := eventObject(e.ObjectType, e.Data)
	if err != nil {
		return Event{}, fmt.Errorf("api: event %s: %w", e.ID, err)
	}
	return Event{ID: e.ID, Object: "event", Type: e.Type, APIVersion: APIVersion, CreatedAt: utc(e.CreatedAt),
		Livemode: e.Livemode, ObjectID: e.ObjectID, ObjectVersion: e.ObjectVersion, Data: EventData{Object: obj}}, nil
}

func eventObject(kind string, data []byte) (any, error) {
	switch kind {
	case "payment":
		return decodeAs(data, PaymentOf)
	case "customer":
		return decodeAs(data, CustomerOf)
	case "payment_method":
		return decodeAs(data, func(pm *till.PaymentMethod) PaymentMethod { return PaymentMethodOf(pm, false) })
	case "refund":
		return decodeAs(data, RefundOf)
	case "invoice", "credit_note":
		return decodeAs(data, DocumentOf)
	}
	return nil, fmt.Errorf("no rendering for objects of type %q", kind)
}

func decodeAs[T, V any](data []byte, render func(*T) V) (any, error) {
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, err
	}
	return render(v), nil
}
