package chip

import (
	"testing"
	"time"

	"github.com/tillpay/till"
)

// chipStatuses are the 21 purchase statuses of seed 001.
var chipStatuses = map[string]bool{
	"created": true, "sent": true, "viewed": true, "error": true, "cancelled": true, "overdue": true, "expired": true,
	"blocked": true, "hold": true, "released": true, "pending_release": true, "pending_capture": true,
	"preauthorized": true, "paid": true, "pending_execute": true, "pending_charge": true, "cleared": true,
	"settled": true, "chargeback": true, "pending_refund": true, "refunded": true,
}

// TestEveryStatusMaps: every core status has a CHIP status, and the states
// inside a core status (an attempt in flight, a refund under way, a link
// back to pending after a decline, a released hold) have theirs.
func TestEveryStatusMaps(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := map[till.Status]string{
		till.StatusPending: "created", till.StatusScheduled: "created", till.StatusProcessing: "pending_execute",
		till.StatusRequiresAction: "pending_execute", till.StatusAuthorized: "hold", till.StatusSucceeded: "paid",
		till.StatusFailed: "error", till.StatusRetryScheduled: "error", till.StatusCanceled: "cancelled",
		till.StatusExpired: "expired", till.StatusPartiallyRefunded: "refunded", till.StatusRefunded: "refunded",
		till.StatusDisputed: "chargeback",
	}
	for _, s := range till.Statuses {
		p := &till.Payment{Status: s, StatusHistory: []till.StatusChange{{Status: s, At: at}}}
		got := status(p)
		if !chipStatuses[got] || got != want[s] {
			t.Errorf("core %s is CHIP %q, want %q", s, got, want[s])
		}
	}
	attempt := func(kind till.AttemptKind, offSession bool) []till.Attempt {
		return []till.Attempt{{Kind: kind, At: at, Outcome: till.OutcomeProcessing, OffSession: offSession}}
	}
	for _, tc := range []struct {
		name string
		p    till.Payment
		want string
	}{
		{"merchant's recurring charge", till.Payment{Status: till.StatusProcessing, Attempts: attempt(till.AttemptCharge, true)}, "pending_charge"},
		{"payer on the page", till.Payment{Status: till.StatusProcessing, Attempts: attempt(till.AttemptCharge, false)}, "pending_execute"},
		{"capture in flight", till.Payment{Status: till.StatusAuthorized, Attempts: attempt(till.AttemptCapture, false)}, "pending_capture"},
		{"release in flight", till.Payment{Status: till.StatusAuthorized, Attempts: attempt(till.AttemptRelease, false)}, "pending_release"},
		{"refund under way", till.Payment{Status: till.StatusSucceeded, RefundReserved: 1}, "pending_refund"},
		{"partial refund under way", till.Payment{Status: till.StatusPartiallyRefunded, RefundReserved: 1}, "pending_refund"},
		{"declined link waiting again", till.Payment{Status: till.StatusPending, Failure: &till.Failure{DeclineCode: "generic_decline"}}, "error"},
	} {
		p := tc.p
		p.StatusHistory = []till.StatusChange{{Status: p.Status, At: at}}
		if got := status(&p); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	released := &till.Payment{Status: till.StatusCanceled, StatusHistory: []till.StatusChange{
		{Status: till.StatusPending, At: at}, {Status: till.StatusProcessing, At: at}, {Status: till.StatusAuthorized, At: at},
		{Status: till.StatusCanceled, At: at}}}
	if got := status(released); got != "released" {
		t.Errorf("released hold: %q", got)
	}
	var hist []string
	for _, h := range statusHistory(released) {
		hist = append(hist, h.Status)
	}
	if got := len(hist); got != 4 || hist[3] != "released" || hist[2] != "hold" {
		t.Errorf("released hold's history: %v", hist)
	}
}
