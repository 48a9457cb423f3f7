package chip

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/middleware"
	"github.com/tillpay/till/service"
)

// CHIP's callback events that Till delivers, each from one core payment
// event of a purchase (README.md's table).
const (
	eventCreated        = "purchase.created"
	eventPaid           = "purchase.paid"
	eventPendingCharge  = "purchase.pending_charge"
	eventPaymentFailure = "purchase.payment_failure"
	eventHold           = "purchase.hold"
	eventCaptured       = "purchase.captured"
	eventReleased       = "purchase.released"
	eventCancelled      = "purchase.cancelled"
)

// callbackEvents are the events a success_callback receives: CHIP calls it
// when a purchase is paid, captured after a hold, or paid by /charge/.
var callbackEvents = []string{eventPaid, eventCaptured}

// Format is the CHIP dialect's webhook format (a service.WebhookFormat and
// service.AccountKeySigner): the body is the Purchase as GET
// /purchases/{id}/ shows it, at the time of the event, with the event's
// name in event_type; X-Signature is the base64 RSA PKCS #1 v1.5 signature
// of the SHA-256 of the raw body under the account's callback key, whose
// public half GET /public_key/ and Webhook.public_key show. The service
// opens the key for each delivery and hands it to Sign as its one secret,
// so the format keeps no key and needs no context to sign.
type Format struct{}

var _ service.AccountKeySigner = Format{}

// SignsWithAccountKey reports true: CHIP signs with the account's key pair.
func (Format) SignsWithAccountKey() bool { return true }

// EventTypes lists the CHIP events a webhook can subscribe to.
func (Format) EventTypes() []string {
	return []string{eventCreated, eventPaid, eventPendingCharge, eventPaymentFailure, eventHold, eventCaptured,
		eventReleased, eventCancelled}
}

// EventType returns the CHIP event of a core event, "" for one CHIP has no
// event for (every event of an object other than a purchase among them).
func (Format) EventType(ev *till.Event) string {
	if ev.ObjectType != "payment" {
		return ""
	}
	var p till.Payment
	if json.Unmarshal(ev.Data, &p) != nil || p.Kind != till.KindLink || len(p.StatusHistory) == 0 {
		return ""
	}
	switch ev.Type {
	case till.EventPaymentCreated:
		return eventCreated
	case till.EventPaymentSucceeded:
		return eventPaid
	case till.EventPaymentProcessing:
		if status(&p) == statusPendingCharge {
			return eventPendingCharge
		}
	case till.EventPaymentFailed:
		return eventPaymentFailure
	case till.EventPaymentAuthorized:
		return eventHold
	case till.EventPaymentCaptured:
		return eventCaptured
	case till.EventPaymentCanceled:
		if status(&p) == statusReleased {
			return eventReleased
		}
		return eventCancelled
	}
	return ""
}

// callback is the body of a delivery: the Purchase and the event's name.
type callback struct {
	*Purchase
	EventType string `json:"event_type"`
}

// Render returns the body of a delivery of ev: the purchase as the event
// saw it.
func (f Format) Render(ctx context.Context, ev *till.Event, ep *till.WebhookEndpoint, t time.Time, look service.WebhookLookup) ([]byte, error) {
	typ := f.EventType(ev)
	if typ == "" {
		return nil, fmt.Errorf("chip: no CHIP event for %s", ev.Type)
	}
	var p till.Payment
	if err := json.Unmarshal(ev.Data, &p); err != nil {
		return nil, fmt.Errorf("chip: render %s: %w", ev.ID, err)
	}
	v, a, err := look.Purchase(ctx, &p)
	if err != nil {
		return nil, fmt.Errorf("chip: render %s: %w", ev.ID, err)
	}
	c := &service.Caller{Account: a, Livemode: p.Livemode}
	return middleware.EncodeJSON(callback{Purchase: toPurchase(v, c, look.PublicBaseURL()), EventType: typ}), nil
}

// RenderTest refuses with state_conflict: CHIP has no test event.
func (Format) RenderTest(*till.WebhookEndpoint, time.Time) ([]byte, error) {
	return nil, till.Conflict("CHIP webhooks have no test event; pay a test-mode purchase to receive a callback.")
}

// Sign signs body with the account's callback key, secrets[0] (its PEM),
// as CHIP does. Without a key that parses, the delivery carries no
// X-Signature, which every receiver that verifies refuses.
func (Format) Sign(ep *till.WebhookEndpoint, secrets []string, msgID string, t time.Time, body []byte) map[string][]string {
	h := map[string][]string{
		"Content-Type": {"application/json"},
		"User-Agent":   {"Till-Webhooks/1 (chip)"},
	}
	if len(secrets) == 0 {
		return h
	}
	if sig, err := sign(secrets[0], body); err == nil {
		h["X-Signature"] = []string{sig}
	}
	return h
}

// sign returns the base64 RSA PKCS #1 v1.5 signature of SHA-256(body)
// under the PKCS #8 private key in keyPEM.
func sign(keyPEM string, body []byte) (string, error) {
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		return "", errors.New("chip: the callback key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return "", err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return "", errors.New("chip: the callback key is not an RSA key")
	}
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}
