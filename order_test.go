package till_test

import (
	"testing"
	"time"

	"github.com/tillpay/till"
)

// TestIntervalRenewal puts renewal n at anchor plus n intervals, keeping a
// month's day and clamping it to a shorter month's last.
func TestIntervalRenewal(t *testing.T) {
	jan31 := time.Date(2027, 1, 31, 9, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		i     till.Interval
		count int
		n     int
		want  time.Time
	}{
		{till.IntervalMonth, 1, 0, jan31},
		{till.IntervalMonth, 1, 1, time.Date(2027, 2, 28, 9, 30, 0, 0, time.UTC)},
		{till.IntervalMonth, 1, 2, time.Date(2027, 3, 31, 9, 30, 0, 0, time.UTC)},
		{till.IntervalMonth, 1, 3, time.Date(2027, 4, 30, 9, 30, 0, 0, time.UTC)},
		{till.IntervalMonth, 3, 1, time.Date(2027, 4, 30, 9, 30, 0, 0, time.UTC)},
		{till.IntervalMonth, 1, 13, time.Date(2028, 2, 29, 9, 30, 0, 0, time.UTC)},
		{till.IntervalYear, 1, 1, time.Date(2028, 1, 31, 9, 30, 0, 0, time.UTC)},
		{till.IntervalWeek, 2, 1, time.Date(2027, 2, 14, 9, 30, 0, 0, time.UTC)},
		{till.IntervalDay, 1, 1, time.Date(2027, 2, 1, 9, 30, 0, 0, time.UTC)},
	} {
		if got := tc.i.Renewal(jan31, tc.count, tc.n); !got.Equal(tc.want) {
			t.Errorf("%s×%d renewal %d: %v, want %v", tc.i, tc.count, tc.n, got, tc.want)
		}
	}
	leap := time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)
	if got := till.IntervalYear.Renewal(leap, 1, 1); !got.Equal(time.Date(2029, 2, 28, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("a year after 29 February: %v", got)
	}
}

// TestOrderStatusOf derives an order's status from its payment's.
func TestOrderStatusOf(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		o    till.Order
		ps   till.Status
		want till.OrderStatus
	}{
		{till.Order{}, "", till.OrderOpen},
		{till.Order{PaymentID: "pay_1"}, till.StatusProcessing, till.OrderProcessing},
		{till.Order{PaymentID: "pay_1"}, till.StatusRetryScheduled, till.OrderProcessing},
		{till.Order{PaymentID: "pay_1"}, till.StatusAuthorized, till.OrderProcessing},
		{till.Order{PaymentID: "pay_1"}, till.StatusFailed, till.OrderOpen},
		{till.Order{PaymentID: "pay_1"}, till.StatusCanceled, till.OrderOpen},
		{till.Order{PaymentID: "pay_1"}, till.StatusSucceeded, till.OrderPaid},
		{till.Order{PaymentID: "pay_1"}, till.StatusRefunded, till.OrderPaid},
		{till.Order{CanceledAt: &now}, "", till.OrderCanceled},
	} {
		if got := till.OrderStatusOf(&tc.o, tc.ps); got != tc.want {
			t.Errorf("%+v with payment %s: %s, want %s", tc.o, tc.ps, got, tc.want)
		}
	}
}
