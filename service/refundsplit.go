package service

import (
	"sort"

	"github.com/tillpay/till"
)

// refundSplit divides a refund of amount (gross) among the lines of p's tax
// breakdown and, within each line, into taxable amount and tax. Shares are
// proportional and computed cumulatively: the refunds of a payment together
// never exceed any line, and once everything is refunded they have returned
// exactly each line's taxable amount and tax. p.RefundedBreakdown holds what
// earlier refunds (succeeded or under way) took.
func refundSplit(p *till.Payment, amount int64) []till.TaxLine {
	n := len(p.TaxBreakdown)
	gross := make([]int64, n)
	already := make([]int64, n)
	alreadyTax := make([]int64, n)
	var total, prev int64
	for i, l := range p.TaxBreakdown {
		gross[i] = l.TaxableAmount + l.TaxAmount
		total += gross[i]
		if i < len(p.RefundedBreakdown) {
			already[i] = p.RefundedBreakdown[i].TaxableAmount + p.RefundedBreakdown[i].TaxAmount
			alreadyTax[i] = p.RefundedBreakdown[i].TaxAmount
		}
		prev += already[i]
	}
	out := make([]till.TaxLine, n)
	for i, l := range p.TaxBreakdown {
		out[i] = till.TaxLine{Country: l.Country, Region: l.Region, Rate: l.Rate, Reason: l.Reason, Name: l.Name}
	}
	if total == 0 || amount <= 0 {
		return out
	}
	// Cumulative target per line: the largest-remainder apportionment of
	// everything refunded so far, this refund included.
	cum := min(prev+amount, total)
	target := make([]int64, n)
	rems := make([]int64, n)
	var assigned int64
	for i := range n {
		q, r, _ := till.MulDivFloor(cum, gross[i], total)
		target[i], rems[i] = q, r
		assigned += q
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rems[order[a]] > rems[order[b]] })
	for k := 0; assigned < cum; k++ {
		target[order[k%n]]++
		assigned++
	}
	// This refund's gross per line; a line whose target fell below what it
	// already gave (an apportionment artefact after a failed refund) gives
	// nothing, and the difference is taken where there is room.
	delta := make([]int64, n)
	var sum int64
	for i := range n {
		delta[i] = max(0, min(target[i]-already[i], gross[i]-already[i]))
		sum += delta[i]
	}
	for i := 0; sum != amount && i < n; i++ {
		j := order[i]
		if sum < amount {
			add := min(amount-sum, gross[j]-already[j]-delta[j])
			delta[j] += add
			sum += add
		} else {
			sub := min(sum-amount, delta[j])
			delta[j] -= sub
			sum -= sub
		}
	}
	for i, l := range p.TaxBreakdown {
		taxTarget, _ := till.MulDiv(l.TaxAmount, already[i]+delta[i], gross[i])
		if gross[i] == 0 {
			taxTarget = 0
		}
		tax := max(0, min(taxTarget-alreadyTax[i], delta[i]))
		out[i].TaxAmount = tax
		out[i].TaxableAmount = delta[i] - tax
	}
	return out
}

// addBreakdown adds (sign +1) or removes (sign −1) a refund's split from a
// payment's refunded breakdown.
func addBreakdown(p *till.Payment, split []till.TaxLine, sign int64) {
	for len(p.RefundedBreakdown) < len(split) {
		l := p.TaxBreakdown[len(p.RefundedBreakdown)]
		p.RefundedBreakdown = append(p.RefundedBreakdown, till.TaxLine{Country: l.Country, Region: l.Region, Rate: l.Rate, Reason: l.Reason})
	}
	for i, l := range split {
		p.RefundedBreakdown[i].TaxableAmount += sign * l.TaxableAmount
		p.RefundedBreakdown[i].TaxAmount += sign * l.TaxAmount
	}
}
