package service

import (
	"testing"

	"github.com/tillpay/till"
	"pgregory.net/rapid"
)

// TestOrderLineItemsShareTheDiscount checks the line items of an order:
// the discount is shared over the item lines exactly (no unit lost or
// made up, no line below zero), each line keeps quantity × unitAmount =
// amount, shipping is a line of its own, and the lines sum to the charged
// amount.
func TestOrderLineItemsShareTheDiscount(t *testing.T) {
	eur := till.Currency{Code: "EUR", Exponent: 2}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 6).Draw(t, "lines")
		ord := &till.CatalogOrder{CouponCode: "C"}
		for range n {
			q := rapid.Int64Range(1, 50).Draw(t, "quantity")
			u := rapid.Int64Range(0, 1_000_000).Draw(t, "unit")
			ord.Lines = append(ord.Lines, till.CatalogLine{Description: "line", Quantity: q, UnitPrice: u, Amount: q * u})
			ord.Subtotal += q * u
		}
		ord.Discount = rapid.Int64Range(0, ord.Subtotal).Draw(t, "discount")
		var rate *till.ShippingRate
		if rapid.Bool().Draw(t, "shipping") {
			rate = &till.ShippingRate{Provider: "dhl", Country: "DE", Amount: rapid.Int64Range(0, 10_000).Draw(t, "shipping amount")}
			ord.Shipping = rate.Amount
		}
		items := orderLineItems(ord, rate, eur)
		want := n
		if rate != nil {
			want++
		}
		if len(items) != want {
			t.Fatalf("%d line items, want %d", len(items), want)
		}
		var sum int64
		for i, li := range items {
			if li.Amount < 0 || li.Quantity*li.UnitAmount != li.Amount {
				t.Fatalf("line %d: %+v", i, li)
			}
			sum += li.Amount
		}
		if sum != ord.Subtotal-ord.Discount+ord.Shipping {
			t.Fatalf("lines sum to %d, want %d − %d + %d", sum, ord.Subtotal, ord.Discount, ord.Shipping)
		}
	})
}

// TestCouponDiscount checks percentages rounded half up and fixed amounts
// capped at the subtotal, in the coupon's currency only.
func TestCouponDiscount(t *testing.T) {
	eur := till.Currency{Code: "EUR", Exponent: 2}
	for _, tc := range []struct {
		coupon   till.Coupon
		subtotal int64
		want     int64
		err      bool
	}{
		{till.Coupon{PercentOff: 100_000}, 4497, 450, false}, // 449.7 → 450
		{till.Coupon{PercentOff: 125_000}, 1000, 125, false},
		{till.Coupon{PercentOff: 50_000}, 1, 0, false},  // 0.05 → 0
		{till.Coupon{PercentOff: 500_000}, 1, 1, false}, // 0.5 → 1 (half up)
		{till.Coupon{AmountOff: 300, Currency: "EUR"}, 1000, 300, false},
		{till.Coupon{AmountOff: 3000, Currency: "EUR"}, 1000, 1000, false},
		{till.Coupon{AmountOff: 300, Currency: "USD"}, 1000, 0, true},
	} {
		got, err := couponDiscount(&tc.coupon, tc.subtotal, eur)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%+v of %d: %d, %v; want %d", tc.coupon, tc.subtotal, got, err, tc.want)
		}
	}
}
