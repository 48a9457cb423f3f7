package service

import (
	"context"
	"time"

	"github.com/tillpay/till"
)

// Journal entry kinds.
const (
	entryCapture = "capture"
	entryRefund  = "refund"
	entryDispute = "dispute"
)

// post appends a balanced journal entry, dropping zero postings.
func (s *Service) post(ctx context.Context, tx till.Tx, p *till.Payment, refundID, kind string, now time.Time, postings ...till.Posting) error {
	e := &till.JournalEntry{ID: s.ids.NewID(till.PrefixLedgerEntry), AccountID: p.AccountID, Livemode: p.Livemode,
		Currency: p.Currency, Kind: kind, PaymentID: p.ID, RefundID: refundID, CreatedAt: now}
	for _, ps := range postings {
		if ps.Debit != 0 || ps.Credit != 0 {
			e.Postings = append(e.Postings, ps)
		}
	}
	if len(e.Postings) == 0 {
		return nil
	}
	return tx.CreateJournalEntry(ctx, e)
}

// postCapture records captured money: the processor owes the total, of which
// the net is revenue and the tax is owed to the tax authorities.
func (s *Service) postCapture(ctx context.Context, tx till.Tx, p *till.Payment, now time.Time) error {
	return s.post(ctx, tx, p, "", entryCapture, now,
		till.Posting{LedgerAccount: till.LedgerProcessorReceivable, Debit: p.AmountTotal},
		till.Posting{LedgerAccount: till.LedgerRevenue, Credit: p.AmountSubtotal},
		till.Posting{LedgerAccount: till.LedgerTaxPayable, Credit: p.TaxAmount})
}

// postRefund reverses a refund's share of a capture: revenue and tax payable
// go down, and so does what the processor owes.
func (s *Service) postRefund(ctx context.Context, tx till.Tx, p *till.Payment, r *till.Refund, now time.Time) error {
	return s.post(ctx, tx, p, r.ID, entryRefund, now,
		till.Posting{LedgerAccount: till.LedgerRevenue, Debit: r.Net},
		till.Posting{LedgerAccount: till.LedgerTaxPayable, Debit: r.Tax},
		till.Posting{LedgerAccount: till.LedgerProcessorReceivable, Credit: r.Amount})
}

// postDispute records a chargeback: the processor takes back amount, booked
// as a dispute loss.
func (s *Service) postDispute(ctx context.Context, tx till.Tx, p *till.Payment, amount int64, now time.Time) error {
	return s.post(ctx, tx, p, "", entryDispute, now,
		till.Posting{LedgerAccount: till.LedgerDisputes, Debit: amount},
		till.Posting{LedgerAccount: till.LedgerProcessorReceivable, Credit: amount})
}

// Balance is one currency's money of an account in one mode.
type Balance struct {
	Currency   string
	Collected  int64 // captured, gross
	Refunded   int64 // refunded, gross
	Disputed   int64 // lost to chargebacks
	TaxPayable int64 // tax collected minus tax refunded
	Net        int64 // what the processor owes: collected − refunded − disputed
}

// Balances sums the caller's ledger per currency.
func (s *Service) Balances(ctx context.Context, c *Caller) ([]Balance, error) {
	var rows []till.LedgerBalance
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		rows, err = tx.LedgerBalances(ctx, c.Scope())
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []Balance
	idx := map[string]int{}
	for _, r := range rows {
		i, ok := idx[r.Currency]
		if !ok {
			i = len(out)
			idx[r.Currency] = i
			out = append(out, Balance{Currency: r.Currency})
		}
		b := &out[i]
		switch r.LedgerAccount {
		case till.LedgerProcessorReceivable:
			b.Collected = r.Debits
			b.Net = r.Debits - r.Credits
		case till.LedgerTaxPayable:
			b.TaxPayable = r.Credits - r.Debits
		case till.LedgerDisputes:
			b.Disputed = r.Debits - r.Credits
		}
	}
	for i := range out {
		out[i].Refunded = out[i].Collected - out[i].Net - out[i].Disputed
	}
	return out, nil
}

// JournalEntries lists the caller's journal entries, newest first.
func (s *Service) JournalEntries(ctx context.Context, c *Caller, f till.LedgerFilter) ([]*till.JournalEntry, bool, error) {
	var out []*till.JournalEntry
	var more bool
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		out, more, err = tx.ListJournalEntries(ctx, c.Scope(), f)
		return err
	})
	return out, more, err
}
