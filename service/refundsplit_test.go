package service

import (
	"testing"

	"github.com/tillpay/till"
	"pgregory.net/rapid"
)

// TestRefundSplitProperties refunds random payments in random steps: every
// refund's parts sum to its amount, no line is ever over-refunded, and a
// full refund returns exactly each line's taxable amount and tax.
func TestRefundSplitProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nLines := rapid.IntRange(1, 4).Draw(t, "lines")
		p := &till.Payment{}
		for i := range nLines {
			taxable := rapid.Int64Range(0, 1_000_000).Draw(t, "taxable")
			rate := till.Rate(rapid.Int64Range(0, 270_000).Draw(t, "rate"))
			tax, _ := till.MulDiv(taxable, int64(rate), till.RateScale)
			p.TaxBreakdown = append(p.TaxBreakdown, till.TaxLine{Country: "DE", Rate: rate, TaxableAmount: taxable, TaxAmount: tax, Reason: "domestic"})
			p.AmountTotal += taxable + tax
			_ = i
		}
		if p.AmountTotal == 0 {
			return
		}
		var refunded int64
		for refunded < p.AmountTotal {
			amount := rapid.Int64Range(1, p.AmountTotal-refunded).Draw(t, "amount")
			if rapid.Bool().Draw(t, "rest") {
				amount = p.AmountTotal - refunded
			}
			split := refundSplit(p, amount)
			var sum int64
			for _, l := range split {
				if l.TaxableAmount < 0 || l.TaxAmount < 0 {
					t.Fatalf("negative part: %+v", split)
				}
				sum += l.TaxableAmount + l.TaxAmount
			}
			if sum != amount {
				t.Fatalf("parts sum to %d, refund is %d", sum, amount)
			}
			// A failed refund is undone now and then, to exercise reordering.
			if rapid.IntRange(0, 4).Draw(t, "fail") == 0 {
				addBreakdown(p, split, 1)
				addBreakdown(p, split, -1)
				continue
			}
			addBreakdown(p, split, 1)
			refunded += amount
			for i, l := range p.RefundedBreakdown {
				b := p.TaxBreakdown[i]
				if l.TaxableAmount > b.TaxableAmount || l.TaxAmount > b.TaxAmount {
					t.Fatalf("line %d over-refunded: %+v of %+v", i, l, b)
				}
			}
		}
		for i, l := range p.RefundedBreakdown {
			b := p.TaxBreakdown[i]
			if l.TaxableAmount != b.TaxableAmount || l.TaxAmount != b.TaxAmount {
				t.Fatalf("full refund of line %d returned %+v, want %+v", i, l, b)
			}
		}
	})
}

func TestRefundSplitExample(t *testing.T) {
	p := &till.Payment{AmountTotal: 1190, TaxBreakdown: []till.TaxLine{{Country: "DE", Rate: 190000, TaxableAmount: 1000, TaxAmount: 190}}}
	s := refundSplit(p, 595)
	if s[0].TaxableAmount != 500 || s[0].TaxAmount != 95 {
		t.Fatalf("half refund: %+v", s)
	}
	addBreakdown(p, s, 1)
	s = refundSplit(p, 1)
	if s[0].TaxableAmount+s[0].TaxAmount != 1 {
		t.Fatalf("one cent: %+v", s)
	}
}
