package till

import (
	"context"
	"time"
)

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

// QueueDepth is how many background tasks of one kind are queued, and how
// many of them are due (their run time has come by the wall clock).
type QueueDepth struct {
	Kind   string
	Queued int64
	Due    int64
}

// QueueCounter is implemented by stores that can count their queued tasks by
// kind, for /metrics. It reads outside any unit of work and must be cheap
// enough to run on every scrape.
type QueueCounter interface {
	QueueDepths(ctx context.Context, now time.Time) ([]QueueDepth, error)
}

// CommitObserver receives each commit of a store's writer: how many units of
// work it carried (SQLite commits several at once; PostgreSQL one) and how
// long the COMMIT took. It is called on the writer's path and must not block.
type CommitObserver func(units int, commit time.Duration)
