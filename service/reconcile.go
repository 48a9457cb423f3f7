package service

import (
	"context"
	"fmt"

	"github.com/tillpay/till"
)

// ReconcileReport is what `till reconcile` found: every difference between
// the ledger, the payments, the refunds and the documents.
type ReconcileReport struct {
	Accounts    int
	Payments    int
	Refunds     int
	Entries     int
	Differences []string
}

// Clean reports whether nothing disagreed.
func (r *ReconcileReport) Clean() bool { return len(r.Differences) == 0 }

func (r *ReconcileReport) diff(format string, args ...any) {
	r.Differences = append(r.Differences, fmt.Sprintf(format, args...))
}

// ledgerSums are one payment's ledger totals.
type ledgerSums struct {
	currency                         string
	captured, net, tax               int64 // capture entries
	refunded, refundedNet, refundTax int64 // refund entries
	disputed                         int64
	debits, credits                  int64
	refundsByID                      map[string]int64
	captureEntries                   int
}

// Reconcile checks, for every account and mode: every journal entry
// balances and Σ debits = Σ credits per currency; each payment's capture
// entry equals its captured amounts (total, net, tax) and it has its invoice;
// each succeeded refund has exactly one refund entry of its amounts and its
// credit note, and the payment's refunded amount is their sum; nothing is
// booked for money that did not move.
func (s *Service) Reconcile(ctx context.Context) (*ReconcileReport, error) {
	rep := &ReconcileReport{}
	var accounts []*till.Account
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		accounts, err = tx.ListAccounts(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	rep.Accounts = len(accounts)
	for _, a := range accounts {
		for _, live := range []bool{false, true} {
			if err := s.reconcileScope(ctx, till.Scope{AccountID: a.ID, Livemode: live}, rep); err != nil {
				return nil, err
			}
		}
	}
	return rep, nil
}

func (s *Service) reconcileScope(ctx context.Context, scope till.Scope, rep *ReconcileReport) error {
	sums := map[string]*ledgerSums{}
	totals := map[string][2]int64{} // currency → debits, credits
	cursor := ""
	for {
		var entries []*till.JournalEntry
		var more bool
		if err := s.store.View(ctx, func(tx till.Tx) (err error) {
			entries, more, err = tx.ListJournalEntries(ctx, scope, till.LedgerFilter{Page: till.Page{Limit: 100, StartingAfter: cursor}})
			return err
		}); err != nil {
			return err
		}
		for _, e := range entries {
			rep.Entries++
			if !e.Balanced() {
				rep.diff("%s: journal entry %s does not balance", scope.AccountID, e.ID)
			}
			ls := sums[e.PaymentID]
			if ls == nil {
				ls = &ledgerSums{currency: e.Currency, refundsByID: map[string]int64{}}
				sums[e.PaymentID] = ls
			}
			t := totals[e.Currency]
			for _, p := range e.Postings {
				t[0] += p.Debit
				t[1] += p.Credit
				switch {
				case e.Kind == entryCapture && p.LedgerAccount == till.LedgerProcessorReceivable:
					ls.captured += p.Debit
				case e.Kind == entryCapture && p.LedgerAccount == till.LedgerRevenue:
					ls.net += p.Credit
				case e.Kind == entryCapture && p.LedgerAccount == till.LedgerTaxPayable:
					ls.tax += p.Credit
				case e.Kind == entryRefund && p.LedgerAccount == till.LedgerProcessorReceivable:
					ls.refunded += p.Credit
					ls.refundsByID[e.RefundID] += p.Credit
				case e.Kind == entryRefund && p.LedgerAccount == till.LedgerRevenue:
					ls.refundedNet += p.Debit
				case e.Kind == entryRefund && p.LedgerAccount == till.LedgerTaxPayable:
					ls.refundTax += p.Debit
				case e.Kind == entryDispute && p.LedgerAccount == till.LedgerDisputes:
					ls.disputed += p.Debit
				}
			}
			if e.Kind == entryCapture {
				ls.captureEntries++
			}
			totals[e.Currency] = t
		}
		if !more {
			break
		}
		cursor = entries[len(entries)-1].ID
	}
	for cur, t := range totals {
		if t[0] != t[1] {
			rep.diff("%s %s: debits %d ≠ credits %d", scope.AccountID, cur, t[0], t[1])
		}
	}
	seen := map[string]bool{}
	cursor = ""
	for {
		var payments []*till.Payment
		var more bool
		if err := s.store.View(ctx, func(tx till.Tx) (err error) {
			payments, more, err = tx.ListPayments(ctx, scope, till.PaymentFilter{Page: till.Page{Limit: 100, StartingAfter: cursor}})
			return err
		}); err != nil {
			return err
		}
		for _, p := range payments {
			rep.Payments++
			seen[p.ID] = true
			if err := s.reconcilePayment(ctx, scope, p, sums[p.ID], rep); err != nil {
				return err
			}
		}
		if !more {
			break
		}
		cursor = payments[len(payments)-1].ID
	}
	for id := range sums {
		if !seen[id] {
			rep.diff("%s: ledger entries for unknown payment %s", scope.AccountID, id)
		}
	}
	return nil
}

func (s *Service) reconcilePayment(ctx context.Context, scope till.Scope, p *till.Payment, ls *ledgerSums, rep *ReconcileReport) error {
	if ls == nil {
		ls = &ledgerSums{refundsByID: map[string]int64{}}
	}
	if ls.currency != "" && ls.currency != p.Currency {
		rep.diff("payment %s in %s booked in %s", p.ID, p.Currency, ls.currency)
	}
	captured := p.AmountCaptured > 0
	if captured {
		if ls.captureEntries != 1 || ls.captured != p.AmountCaptured || ls.net != p.AmountSubtotal || ls.tax != p.TaxAmount {
			rep.diff("payment %s captured %d (net %d, tax %d) but the ledger has %d capture entries for %d (net %d, tax %d)",
				p.ID, p.AmountCaptured, p.AmountSubtotal, p.TaxAmount, ls.captureEntries, ls.captured, ls.net, ls.tax)
		}
		if p.InvoiceID == "" {
			rep.diff("payment %s is captured but has no invoice", p.ID)
		}
	} else if ls.captureEntries > 0 || ls.refunded > 0 {
		rep.diff("payment %s (%s) captured nothing but the ledger books %d captured, %d refunded", p.ID, p.Status, ls.captured, ls.refunded)
	}
	if ls.refunded != p.AmountRefunded {
		rep.diff("payment %s refunded %d but the ledger books %d", p.ID, p.AmountRefunded, ls.refunded)
	}
	if p.AmountRefunded > p.AmountCaptured || p.RefundReserved < 0 {
		rep.diff("payment %s refunded %d (+%d under way) of %d captured", p.ID, p.AmountRefunded, p.RefundReserved, p.AmountCaptured)
	}
	if p.Status == till.StatusDisputed && ls.disputed == 0 && p.AmountCaptured > p.AmountRefunded {
		rep.diff("payment %s is disputed but no dispute is booked", p.ID)
	}
	if p.AmountRefunded == 0 && p.RefundReserved == 0 && ls.refunded == 0 {
		return nil
	}
	var refunds []*till.Refund
	if err := s.store.View(ctx, func(tx till.Tx) (err error) {
		refunds, err = tx.ListRefunds(ctx, scope, p.ID)
		return err
	}); err != nil {
		return err
	}
	var sum, net, tax int64
	for _, r := range refunds {
		rep.Refunds++
		booked := ls.refundsByID[r.ID]
		switch r.Status {
		case till.RefundSucceeded:
			sum += r.Amount
			net += r.Net
			tax += r.Tax
			if booked != r.Amount {
				rep.diff("refund %s of %d is booked as %d", r.ID, r.Amount, booked)
			}
			if r.CreditNoteID == "" {
				rep.diff("refund %s succeeded but has no credit note", r.ID)
			}
		default:
			if booked != 0 {
				rep.diff("refund %s is %s but %d is booked", r.ID, r.Status, booked)
			}
		}
	}
	if sum != p.AmountRefunded || net != ls.refundedNet || tax != ls.refundTax {
		rep.diff("payment %s: refunds sum to %d (net %d, tax %d); payment says %d, ledger net %d, tax %d",
			p.ID, sum, net, tax, p.AmountRefunded, ls.refundedNet, ls.refundTax)
	}
	return nil
}
