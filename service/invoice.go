package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/tax"
)

// documentNumber formats a document's number: PREFIX-2026-000042 for
// invoices, PREFIX-CN-2026-000007 for credit notes.
func documentNumber(prefix string, kind till.DocumentKind, year int, seq int64) string {
	if prefix == "" {
		prefix = "INV"
	}
	if kind == till.DocCreditNote {
		return fmt.Sprintf("%s-CN-%d-%06d", prefix, year, seq)
	}
	return fmt.Sprintf("%s-%d-%06d", prefix, year, seq)
}

// sellerOf is the account as the seller on a document.
func sellerOf(a *till.Account) till.Party {
	name := a.LegalName
	if name == "" {
		name = a.Name
	}
	addr := a.Address
	if addr.Country == "" {
		addr.Country = a.OriginCountry
	}
	return till.Party{Name: name, LegalName: a.LegalName, Address: addr, VATNumber: a.VATNumber, Email: a.SupportEmail}
}

// buyerOf is the customer as the buyer on a document; the VAT number shown
// is the customer's EU (or other) VAT id, if any.
func buyerOf(c *till.Customer) till.Party {
	b := till.Party{Name: c.Name, Address: c.Address, Email: c.Email}
	if b.Name == "" {
		b.Name = c.Email
	}
	for _, id := range c.TaxIDs {
		if strings.HasSuffix(id.Type, "_vat") || id.Type == "ch_vat" {
			b.VATNumber = id.Value
			break
		}
	}
	return b
}

// paymentMethodLabel is how a card appears on documents: "Visa •••• 4242".
func paymentMethodLabel(pm *till.PaymentMethod) string {
	if pm == nil {
		return ""
	}
	brand := pm.Card.Brand
	switch brand {
	case "amex":
		brand = "American Express"
	case "unknown", "":
		brand = "Card"
	default:
		brand = strings.ToUpper(brand[:1]) + brand[1:]
	}
	return brand + " •••• " + pm.Card.Last4
}

// taxNotes are the mentions a document must carry for the tax reasons of
// its lines (Art. 226(11)–(13) of Directive 2006/112/EC).
func taxNotes(breakdown []till.TaxLine, buyer till.Party) []string {
	var notes []string
	seen := map[string]bool{}
	for _, l := range breakdown {
		var n string
		switch l.Reason {
		case till.TaxReasonReverseCharge:
			n = tax.ReverseChargeNote
			if buyer.VATNumber != "" && !strings.Contains(n, buyer.VATNumber) {
				n += " Customer VAT number: " + buyer.VATNumber + "."
			}
		case till.TaxReasonEUOSS:
			n = fmt.Sprintf("VAT charged at the rate of %s under the EU One-Stop Shop scheme (Articles 369a–369k of Directive 2006/112/EC).", l.Country)
		case till.TaxReasonNotCollecting:
			n = fmt.Sprintf("No VAT charged: the supply is taxable in %s, where the seller does not collect tax.", l.Country)
		case till.TaxReasonExempt:
			n = "Exempt supply: no VAT charged on lines marked exempt (Articles 132–136 of Directive 2006/112/EC or the corresponding national provision)."
		}
		if n != "" && !seen[n] {
			seen[n] = true
			notes = append(notes, n)
		}
	}
	return notes
}

// invoiceLines turns a payment's items into document lines with net unit
// prices.
func invoiceLines(p *till.Payment) []till.DocumentLine {
	country := ""
	reason := ""
	if len(p.TaxBreakdown) > 0 {
		country, reason = p.TaxBreakdown[0].Country, p.TaxBreakdown[0].Reason
	}
	if len(p.LineItems) == 0 {
		rate := till.Rate(0)
		if len(p.TaxBreakdown) > 0 {
			rate = p.TaxBreakdown[0].Rate
		}
		return []till.DocumentLine{{Description: p.Description, Quantity: 1, UnitNet: p.AmountSubtotal, Net: p.AmountSubtotal,
			Rate: rate, Tax: p.TaxAmount, Gross: p.AmountTotal, Country: country, Reason: reason}}
	}
	lines := make([]till.DocumentLine, 0, len(p.LineItems))
	for _, li := range p.LineItems {
		unit, _ := till.MulDiv(li.Taxable, 1, max(li.Quantity, 1))
		r := reason
		if li.TaxCode == tax.TaxCodeExempt {
			r = till.TaxReasonExempt
		}
		lines = append(lines, till.DocumentLine{Description: li.Description, Quantity: li.Quantity, UnitNet: unit, Net: li.Taxable,
			Rate: li.Rate, Tax: li.TaxAmount, Gross: li.Taxable + li.TaxAmount, Country: country, Reason: r})
	}
	return lines
}

// issueInvoice issues the invoice of a payment that has just been captured,
// in the unit of work that records the capture: its number is allocated
// there, so numbers have no gaps.
func (s *Service) issueInvoice(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment, now time.Time, cust *till.Customer, pm *till.PaymentMethod, last *lastSteps) error {
	buyer := buyerOf(cust)
	d := &till.Document{
		ID: s.ids.NewID(till.PrefixInvoice), AccountID: p.AccountID, Livemode: p.Livemode, Kind: till.DocInvoice,
		PaymentID: p.ID, CustomerID: p.CustomerID, IssueDate: now, SupplyDate: now,
		Seller: sellerOf(a), Buyer: buyer, Currency: p.Currency, TaxBehavior: p.TaxBehavior,
		Lines: invoiceLines(p), TaxSummary: p.TaxBreakdown, Subtotal: p.AmountSubtotal, Tax: p.TaxAmount, Total: p.AmountTotal,
		Notes: taxNotes(p.TaxBreakdown, buyer), PaymentMethod: paymentMethodLabel(pm), CreatedAt: now,
	}
	p.InvoiceID = d.ID
	last.add(func() error { return s.number(ctx, tx, a, d, now) })
	return nil
}

// lastSteps are what a unit of work does at its very end: allocating a
// document's number. The series counter is a hot row (on PostgreSQL it stays
// locked until the unit commits), so it is touched last, for as short a time
// as possible.
type lastSteps []func() error

func (l *lastSteps) add(f func() error) { *l = append(*l, f) }

func (l *lastSteps) run() error {
	for _, f := range *l {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// number gives a document the next number of its series, stores it and
// records its event.
func (s *Service) number(ctx context.Context, tx till.Tx, a *till.Account, d *till.Document, now time.Time) error {
	scope := till.Scope{AccountID: d.AccountID, Livemode: d.Livemode}
	year := now.UTC().Year()
	seq, err := tx.NextDocumentNumber(ctx, scope, d.Kind, year)
	if err != nil {
		return err
	}
	d.Number, d.Year, d.Sequence = documentNumber(a.InvoicePrefix, d.Kind, year, seq), year, seq
	if err := tx.CreateDocument(ctx, d); err != nil {
		return err
	}
	typ, obj := till.EventInvoiceCreated, "invoice"
	if d.Kind == till.DocCreditNote {
		typ, obj = till.EventCreditNoteCreated, "credit_note"
	}
	return s.emit(ctx, tx, scope, typ, obj, d.ID, 1, d, now)
}

// issueCreditNote issues the credit note of a refund that has just
// succeeded, in the unit of work that records it.
func (s *Service) issueCreditNote(ctx context.Context, tx till.Tx, a *till.Account, p *till.Payment, r *till.Refund, now time.Time, last *lastSteps) error {
	scope := scopeOf(p)
	var inv *till.Document
	if p.InvoiceID != "" {
		var err error
		if inv, err = tx.Document(ctx, scope, p.InvoiceID); err != nil {
			return err
		}
	}
	cust, err := tx.Customer(ctx, scope, p.CustomerID)
	if err != nil {
		return err
	}
	buyer := buyerOf(cust)
	d := &till.Document{
		ID: s.ids.NewID(till.PrefixCreditNote), AccountID: p.AccountID, Livemode: p.Livemode, Kind: till.DocCreditNote,
		PaymentID: p.ID, RefundID: r.ID, CustomerID: p.CustomerID, IssueDate: now, SupplyDate: now,
		Seller: sellerOf(a), Buyer: buyer, Currency: p.Currency, TaxBehavior: p.TaxBehavior,
		TaxSummary: r.Breakdown, Subtotal: r.Net, Tax: r.Tax, Total: r.Amount, Reason: r.Reason, CreatedAt: now,
	}
	what := p.Description
	if inv != nil {
		d.InvoiceID, d.InvoiceNo = inv.ID, inv.Number
		d.SupplyDate = inv.SupplyDate // the supply the credit note corrects
		what = "Refund for invoice " + inv.Number + ": " + p.Description
		if inv.Buyer.Name != "" {
			d.Buyer = inv.Buyer
		}
	}
	for _, l := range r.Breakdown {
		d.Lines = append(d.Lines, till.DocumentLine{Description: what, Quantity: 1, UnitNet: l.TaxableAmount, Net: l.TaxableAmount,
			Rate: l.Rate, Tax: l.TaxAmount, Gross: l.TaxableAmount + l.TaxAmount, Country: l.Country, Reason: l.Reason})
	}
	d.Notes = taxNotes(r.Breakdown, d.Buyer)
	r.CreditNoteID = d.ID
	last.add(func() error { return s.number(ctx, tx, a, d, now) })
	return nil
}

// Document returns an invoice (in_…) or credit note (cn_…) of the caller.
func (s *Service) Document(ctx context.Context, c *Caller, id string, kind till.DocumentKind) (*till.Document, error) {
	var d *till.Document
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		d, err = tx.Document(ctx, c.Scope(), id)
		return err
	})
	if err == nil && d.Kind != kind {
		return nil, till.NotFound(strings.ReplaceAll(string(kind), "_", " "), id)
	}
	return d, err
}

// ListDocuments lists the caller's invoices or credit notes, newest first.
func (s *Service) ListDocuments(ctx context.Context, c *Caller, f till.DocumentFilter) ([]*till.Document, bool, error) {
	var out []*till.Document
	var more bool
	err := s.store.View(ctx, func(tx till.Tx) (err error) {
		out, more, err = tx.ListDocuments(ctx, c.Scope(), f)
		return err
	})
	return out, more, err
}

// DocumentPDF renders a document of the caller as a PDF.
func (s *Service) DocumentPDF(ctx context.Context, c *Caller, id string, kind till.DocumentKind) (*till.Document, []byte, error) {
	d, err := s.Document(ctx, c, id, kind)
	if err != nil {
		return nil, nil, err
	}
	if s.renderer == nil {
		return nil, nil, till.Errorf(till.EUnavailable, "This server has no PDF renderer.")
	}
	b, err := s.renderer.PDF(d)
	return d, b, err
}
