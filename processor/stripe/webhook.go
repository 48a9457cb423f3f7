package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	stripe "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tillpay/till"
)

var _ till.EventReceiver = (*Processor)(nil)

// chargeEvents are the PaymentIntent events that say where a charge or a
// hold stands; their object is the PaymentIntent, whose metadata carries
// the attempt's reference.
var chargeEvents = map[stripe.EventType]bool{
	stripe.EventTypePaymentIntentSucceeded: true, stripe.EventTypePaymentIntentPaymentFailed: true,
	stripe.EventTypePaymentIntentCanceled: true, stripe.EventTypePaymentIntentRequiresAction: true,
	stripe.EventTypePaymentIntentAmountCapturableUpdated: true, stripe.EventTypePaymentIntentProcessing: true,
}

// refundEvents carry a Refund, whose metadata carries the refund's
// reference.
var refundEvents = map[stripe.EventType]bool{
	stripe.EventTypeRefundCreated: true, stripe.EventTypeRefundUpdated: true, stripe.EventTypeRefundFailed: true,
	stripe.EventTypeChargeRefundUpdated: true,
}

// ParseEvent verifies a Stripe webhook with the endpoint's signing secret
// (webhook.ConstructEvent: the Stripe-Signature header, within Stripe's
// five-minute tolerance, any API version) and reads what it reports:
//
//   - payment_intent.succeeded, .payment_failed, .canceled,
//     .requires_action, .amount_capturable_updated and .processing: the
//     charge of the intent's till_reference, mapped like Charge's answer;
//   - refund.created, refund.updated, refund.failed and
//     charge.refund.updated: the refund of its till_reference;
//   - charge.refunded: the charge was refunded (Charges copy their intent's
//     metadata);
//   - charge.dispute.created: a chargeback, whose intent is read from
//     Stripe for its till_reference (a Dispute carries no metadata of the
//     charge).
//
// Any other event is EventIgnored. A signature that does not verify is
// till.ErrEventSignature; a payload that is no Stripe event is a
// validation error.
func (p *Processor) ParseEvent(ctx context.Context, payload []byte, header, secret string) (*till.ProcessorEvent, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		for _, e := range []error{webhook.ErrNotSigned, webhook.ErrInvalidHeader, webhook.ErrNoValidSignature, webhook.ErrTooOld} {
			if errors.Is(err, e) {
				return nil, fmt.Errorf("stripe: %w: %w", till.ErrEventSignature, err)
			}
		}
		return nil, till.Errorf(till.EValidation, "The body is not a Stripe event.")
	}
	out := &till.ProcessorEvent{ID: ev.ID, Type: string(ev.Type), Livemode: ev.Livemode, Kind: till.EventIgnored}
	if ev.Data == nil {
		return out, nil
	}
	decode := func(v any) error {
		if err := json.Unmarshal(ev.Data.Raw, v); err != nil {
			return till.Errorf(till.EValidation, "The object of Stripe event %s does not parse: %v.", ev.ID, err)
		}
		return nil
	}
	switch {
	case chargeEvents[ev.Type]:
		var pi stripe.PaymentIntent
		if err := decode(&pi); err != nil {
			return nil, err
		}
		out.Kind, out.Reference, out.Result = till.EventCharge, pi.Metadata[metaReference], intentResult(&pi)
		out.Voided = pi.Status == stripe.PaymentIntentStatusCanceled
	case refundEvents[ev.Type]:
		var re stripe.Refund
		if err := decode(&re); err != nil {
			return nil, err
		}
		out.Kind, out.Reference, out.Result = till.EventRefund, re.Metadata[metaReference], refundResult(&re)
	case ev.Type == stripe.EventTypeChargeRefunded:
		var ch stripe.Charge
		if err := decode(&ch); err != nil {
			return nil, err
		}
		out.Kind, out.Reference = till.EventRefunded, ch.Metadata[metaReference]
	case ev.Type == stripe.EventTypeChargeDisputeCreated:
		var d stripe.Dispute
		if err := decode(&d); err != nil {
			return nil, err
		}
		ref, err := p.disputedReference(ctx, &d)
		if err != nil {
			return nil, err
		}
		out.Kind, out.Reference = till.EventDispute, ref
		out.Amount, out.Currency, out.DisputeRef, out.Reason = d.Amount, strings.ToUpper(string(d.Currency)), d.ID, string(d.Reason)
	}
	return out, nil
}

// disputedReference returns the till_reference of the charge dispute d is
// about, read from Stripe: the dispute names its PaymentIntent (or, for
// charges made without one, its Charge) by id only.
func (p *Processor) disputedReference(ctx context.Context, d *stripe.Dispute) (string, error) {
	if d.PaymentIntent != nil && d.PaymentIntent.ID != "" {
		if ref := d.PaymentIntent.Metadata[metaReference]; ref != "" {
			return ref, nil
		}
		pi, err := p.c.V1PaymentIntents.Retrieve(ctx, d.PaymentIntent.ID, nil)
		if err != nil {
			return "", callError(err)
		}
		return pi.Metadata[metaReference], nil
	}
	if d.Charge != nil && d.Charge.ID != "" {
		if ref := d.Charge.Metadata[metaReference]; ref != "" {
			return ref, nil
		}
		ch, err := p.c.V1Charges.Retrieve(ctx, d.Charge.ID, nil)
		if err != nil {
			return "", callError(err)
		}
		return ch.Metadata[metaReference], nil
	}
	return "", nil
}
