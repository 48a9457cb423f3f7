package api

import (
	"time"

	"github.com/tillpay/till"
)

// Document is an invoice (object "invoice") or credit note (object
// "credit_note"): immutable once issued.
type Document struct {
	ID            string         `json:"id"`
	Object        string         `json:"object"`
	Number        string         `json:"number"`
	PaymentID     string         `json:"paymentId"`
	RefundID      *string        `json:"refundId"`
	InvoiceID     *string        `json:"invoiceId"`
	InvoiceNumber *string        `json:"invoiceNumber"`
	CustomerID    string         `json:"customerId"`
	IssueDate     time.Time      `json:"issueDate"`
	SupplyDate    time.Time      `json:"supplyDate"`
	Seller        Party          `json:"seller"`
	Buyer         Party          `json:"buyer"`
	Currency      string         `json:"currency"`
	TaxBehavior   string         `json:"taxBehavior"`
	Lines         []DocumentLine `json:"lines"`
	TaxSummary    []TaxLine      `json:"taxSummary"`
	Subtotal      int64          `json:"subtotal"`
	TaxAmount     int64          `json:"taxAmount"`
	Total         int64          `json:"total"`
	Notes         []string       `json:"notes"`
	PaymentMethod *string        `json:"paymentMethod"`
	Reason        *string        `json:"reason"`
	PDFURL        string         `json:"pdfUrl"`
	Livemode      bool           `json:"livemode"`
	CreatedAt     time.Time      `json:"createdAt"`
}

// Party is the seller or buyer of a document.
type Party struct {
	Name      string   `json:"name"`
	Address   *Address `json:"address"`
	VATNumber *string  `json:"vatNumber"`
	Email     *string  `json:"email"`
}

// DocumentLine is one line of a document; unitNet is the unit price net of
// tax.
type DocumentLine struct {
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitNet     int64  `json:"unitNet"`
	Net         int64  `json:"net"`
	TaxRate     string `json:"taxRate"`
	TaxAmount   int64  `json:"taxAmount"`
	Gross       int64  `json:"gross"`
}

func partyOf(p till.Party) Party {
	return Party{Name: p.Name, Address: AddressOf(p.Address), VATNumber: str(p.VATNumber), Email: str(p.Email)}
}

// DocumentOf renders a document; pdfURL is where its PDF is served.
func DocumentOf(d *till.Document) Document {
	lines := make([]DocumentLine, 0, len(d.Lines))
	for _, l := range d.Lines {
		lines = append(lines, DocumentLine{Description: l.Description, Quantity: l.Quantity, UnitNet: l.UnitNet, Net: l.Net,
			TaxRate: l.Rate.String(), TaxAmount: l.Tax, Gross: l.Gross})
	}
	notes := d.Notes
	if notes == nil {
		notes = []string{}
	}
	path := "/v1/invoices/"
	if d.Kind == till.DocCreditNote {
		path = "/v1/credit-notes/"
	}
	return Document{
		ID: d.ID, Object: string(d.Kind), Number: d.Number, PaymentID: d.PaymentID, RefundID: str(d.RefundID),
		InvoiceID: str(d.InvoiceID), InvoiceNumber: str(d.InvoiceNo), CustomerID: d.CustomerID,
		IssueDate: utc(d.IssueDate), SupplyDate: utc(d.SupplyDate), Seller: partyOf(d.Seller), Buyer: partyOf(d.Buyer),
		Currency: d.Currency, TaxBehavior: string(d.TaxBehavior), Lines: lines, TaxSummary: TaxLinesOf(d.TaxSummary),
		Subtotal: d.Subtotal, TaxAmount: d.Tax, Total: d.Total, Notes: notes, PaymentMethod: str(d.PaymentMethod),
		Reason: str(d.Reason), PDFURL: path + d.ID + "/pdf", Livemode: d.Livemode, CreatedAt: utc(d.CreatedAt),
	}
}

// JournalEntry is a balanced set of ledger postings.
type JournalEntry struct {
	ID        string         `json:"id"`
	Object    string         `json:"object"`
	Kind      string         `json:"kind"`
	Currency  string         `json:"currency"`
	PaymentID *string        `json:"paymentId"`
	RefundID  *string        `json:"refundId"`
	Postings  []till.Posting `json:"postings"`
	Livemode  bool           `json:"livemode"`
	CreatedAt time.Time      `json:"createdAt"`
}

// JournalEntryOf renders a journal entry.
func JournalEntryOf(e *till.JournalEntry) JournalEntry {
	return JournalEntry{ID: e.ID, Object: "ledger_entry", Kind: e.Kind, Currency: e.Currency, PaymentID: str(e.PaymentID),
		RefundID: str(e.RefundID), Postings: e.Postings, Livemode: e.Livemode, CreatedAt: utc(e.CreatedAt)}
}

// Balance is an account's money per currency, from its ledger.
type Balance struct {
	Object   string            `json:"object"`
	Livemode bool              `json:"livemode"`
	Balances []CurrencyBalance `json:"balances"`
}

// CurrencyBalance is one currency of a Balance.
type CurrencyBalance struct {
	Currency   string `json:"currency"`
	Collected  int64  `json:"collected"`
	Refunded   int64  `json:"refunded"`
	Disputed   int64  `json:"disputed"`
	TaxPayable int64  `json:"taxPayable"`
	Net        int64  `json:"net"`
}

// Email is a message of the local mailbox (test mode).
type Email struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	MessageID   string            `json:"messageId"`
	From        string            `json:"from"`
	To          string            `json:"to"`
	Subject     string            `json:"subject"`
	Text        string            `json:"text"`
	HTML        string            `json:"html"`
	Attachments []EmailAttachment `json:"attachments"`
	PaymentID   *string           `json:"paymentId"`
	RefundID    *string           `json:"refundId"`
	CreatedAt   time.Time         `json:"createdAt"`
}

// EmailAttachment describes an attachment; its bytes are not listed.
type EmailAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int    `json:"size"`
}

// EmailOf renders a mailbox message.
func EmailOf(e *till.Email) Email {
	att := make([]EmailAttachment, 0, len(e.Attachments))
	for _, a := range e.Attachments {
		size := a.Size
		if a.Data != nil {
			size = len(a.Data)
		}
		att = append(att, EmailAttachment{Name: a.Name, ContentType: a.ContentType, Size: size})
	}
	return Email{ID: e.ID, Object: "email", MessageID: e.MessageID, From: e.From, To: e.To, Subject: e.Subject, Text: e.Text,
		HTML: e.HTML, Attachments: att, PaymentID: str(e.PaymentID), RefundID: str(e.RefundID), CreatedAt: utc(e.CreatedAt)}
}
