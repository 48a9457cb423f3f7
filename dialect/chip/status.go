package chip

import (
	"time"

	"github.com/tillpay/till"
)

// CHIP's purchase statuses that Till produces (README.md maps each core
// status; sent, viewed, overdue, blocked, preauthorized, cleared and
// settled are never produced: Till sends no invoices, records no page
// views, ends a purchase at its due time, has no fraud scoring or
// zero-amount preauthorization, and settles no funds).
const (
	statusCreated        = "created"
	statusError          = "error"
	statusCancelled      = "cancelled"
	statusExpired        = "expired"
	statusHold           = "hold"
	statusReleased       = "released"
	statusPendingRelease = "pending_release"
	statusPendingCapture = "pending_capture"
	statusPaid           = "paid"
	statusPendingExecute = "pending_execute"
	statusPendingCharge  = "pending_charge"
	statusChargeback     = "chargeback"
	statusPendingRefund  = "pending_refund"
	statusRefunded       = "refunded"
)

// status is the CHIP status of payment p now.
func status(p *till.Payment) string {
	last := p.LastAttempt()
	inFlight := last != nil && last.Outcome == till.OutcomeProcessing
	switch p.Status {
	case till.StatusAuthorized:
		switch {
		case inFlight && last.Kind == till.AttemptCapture:
			return statusPendingCapture
		case inFlight && last.Kind == till.AttemptRelease:
			return statusPendingRelease
		}
	case till.StatusSucceeded, till.StatusPartiallyRefunded, till.StatusRefunded:
		if p.RefundReserved > 0 {
			return statusPendingRefund
		}
	case till.StatusPending:
		if p.Failure != nil {
			return statusError
		}
	}
	n := len(p.StatusHistory)
	return historyStatus(p, p.Status, p.StatusHistory[n-1].At, n > 1 && p.StatusHistory[n-2].Status == till.StatusAuthorized)
}

// historyStatus is the CHIP status of core status s entered at time at;
// fromHold says the status before it was authorized.
func historyStatus(p *till.Payment, s till.Status, at time.Time, fromHold bool) string {
	switch s {
	case till.StatusPending, till.StatusScheduled:
		return statusCreated
	case till.StatusProcessing:
		// The attempt that started with the move tells who pays: the
		// merchant with a recurring token, or the payer on the page.
		for _, a := range p.Attempts {
			if a.Kind == till.AttemptCharge && a.At.Equal(at) && a.OffSession {
				return statusPendingCharge
			}
		}
		return statusPendingExecute
	case till.StatusRequiresAction:
		return statusPendingExecute
	case till.StatusAuthorized:
		return statusHold
	case till.StatusSucceeded:
		return statusPaid
	case till.StatusFailed, till.StatusRetryScheduled:
		return statusError
	case till.StatusCanceled:
		if fromHold {
			return statusReleased
		}
		return statusCancelled
	case till.StatusExpired:
		return statusExpired
	case till.StatusPartiallyRefunded, till.StatusRefunded:
		return statusRefunded
	case till.StatusDisputed:
		return statusChargeback
	}
	return statusError
}

// statusHistory is p's history in CHIP's statuses, oldest first; a core
// change that leaves the CHIP status as it was (failed, then pending again:
// error) is one entry.
func statusHistory(p *till.Payment) []StatusEntry {
	out := []StatusEntry{}
	for i, h := range p.StatusHistory {
		st := historyStatus(p, h.Status, h.At, i > 0 && p.StatusHistory[i-1].Status == till.StatusAuthorized)
		if h.Status == till.StatusPending && i > 0 {
			st = statusError // a link back to pending after a failed attempt
		}
		if len(out) > 0 && out[len(out)-1].Status == st {
			continue
		}
		out = append(out, StatusEntry{Status: st, Timestamp: h.At.Unix()})
	}
	return out
}
