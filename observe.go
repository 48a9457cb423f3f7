package till

import "time"

// Observer receives measurements of the service's work; package metrics
// exports them to Prometheus. Its methods are called on hot paths, after
// the change they report has committed, so they must be cheap, never block
// and be safe for concurrent use.
type Observer interface {
	// ChargeFinished reports the outcome of a charge request that ran (not
	// a replay): the payment's status when the request answered
	// (succeeded, failed, processing, requires_action, authorized,
	// scheduled), or "error" when it answered an error without a payment.
	ChargeFinished(status Status)
	// WebhookDelivered reports one delivery attempt: delivered is a 2xx in
	// time; latency is the HTTP round trip.
	WebhookDelivered(delivered bool, latency time.Duration)
}

// NopObserver observes nothing.
type NopObserver struct{}

func (NopObserver) ChargeFinished(Status)                {}
func (NopObserver) WebhookDelivered(bool, time.Duration) {}
