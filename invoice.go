package till

import (
	"context"
	"slices"
	"time"
)

// DocumentKind says whether a Document is an invoice or a credit note.
type DocumentKind string

// Document kinds; each has its own gap-free number series.
const (
	DocInvoice    DocumentKind = "invoice"
	DocCreditNote DocumentKind = "credit_note"
)

// Document is an issued invoice or credit note. It holds everything Article
// 226 of the EU VAT Directive (2006/112/EC) asks of a full invoice, frozen
// at issue: an issued document is never changed.
type Document struct {
	ID        string       `json:"ID"` // in_… or cn_…
	AccountID string       `json:"AccountID"`
	Livemode  bool         `json:"Livemode"`
	Kind      DocumentKind `json:"Kind"`
	// Number is "{prefix}-{year}-{sequence}" for invoices and
	// "{prefix}-CN-{year}-{sequence}" for credit notes, gap-free per
	// account, mode, kind and year.
	Number   string `json:"Number"`
	Year     int    `json:"Year"`
	Sequence int64  `json:"Sequence"`

	PaymentID  string `json:"PaymentID"`
	RefundID   string `json:"RefundID"`  // credit notes: the refund they document
	InvoiceID  string `json:"InvoiceID"` // credit notes: the invoice they correct
	InvoiceNo  string `json:"InvoiceNo"` // credit notes: that invoice's number
	CustomerID string `json:"CustomerID"`

	IssueDate  time.Time `json:"IssueDate"`  // date of issue (Art. 226(1))
	SupplyDate time.Time `json:"SupplyDate"` // date of the supply or payment (Art. 226(7))
	Seller     Party     `json:"Seller"`
	Buyer      Party     `json:"Buyer"`
	Currency   string    `json:"Currency"`
	// TaxBehavior is how the payment's amounts were expressed; the lines
	// always show net unit prices.
	TaxBehavior TaxBehavior    `json:"TaxBehavior"`
	Lines       []DocumentLine `json:"Lines"`
	// TaxSummary is the taxable amount and tax per rate (Art. 226(8), (10)).
	TaxSummary []TaxLine `json:"TaxSummary"`
	Subtotal   int64     `json:"Subtotal"`
	Tax        int64     `json:"Tax"`
	Total      int64     `json:"Total"`
	// Notes carry the mentions the law requires where they apply: "Reverse
	// charge", the OSS or exemption reason, the reason of a credit note.
	Notes         []string  `json:"Notes"`
	PaymentMethod string    `json:"PaymentMethod"` // e.g. "Visa •••• 4242"
	Reason        string    `json:"Reason"`        // credit notes: why the refund was made
	CreatedAt     time.Time `json:"CreatedAt"`
}

// Party is the seller or the buyer on a document.
type Party struct {
	Name      string  `json:"name"`
	LegalName string  `json:"legalName,omitempty"`
	Address   Address `json:"address"`
	VATNumber string  `json:"vatNumber,omitempty"`
	Email     string  `json:"email,omitempty"`
}

// DocumentLine is one line of a document: what was supplied, how much, the
// net unit price, the rate and the tax (Art. 226(6), (8), (9)).
type DocumentLine struct {
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	// UnitNet is the unit price net of tax. For inclusive pricing it is
	// rounded to the minor unit; Net is exact.
	UnitNet int64  `json:"unitNet"`
	Net     int64  `json:"net"`
	Rate    Rate   `json:"rate"`
	Tax     int64  `json:"tax"`
	Gross   int64  `json:"gross"`
	Country string `json:"country,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// DocumentRenderer renders an issued document as a PDF.
type DocumentRenderer interface {
	PDF(d *Document) ([]byte, error)
}

// RefundStatus is where a refund is.
type RefundStatus string

// Refund statuses.
const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// refundTransitions is the refund's table: a pending refund succeeds or
// fails, once.
var refundTransitions = map[RefundStatus][]RefundStatus{
	RefundPending: {RefundSucceeded, RefundFailed},
}

// Transition moves r to status to at time at, checked against its table,
// bumps its version and returns the type of the event the change emits. A
// forbidden change returns a state_conflict error and leaves r unchanged.
func (r *Refund) Transition(to RefundStatus, at time.Time) (event string, err error) {
	if !slices.Contains(refundTransitions[r.Status], to) {
		return "", Conflict("This refund cannot go from %s to %s.", r.Status, to)
	}
	r.Status = to
	r.Version++
	r.UpdatedAt = at
	if to == RefundSucceeded {
		return EventRefundSucceeded, nil
	}
	return EventRefundFailed, nil
}

// Refund returns part or all of a captured payment. Amount is gross (in the
// terms of the payment's AmountTotal); Tax is the refunded tax, its exact
// proportional share, and Breakdown splits both by the payment's rates.
type Refund struct {
	ID           string       `json:"ID"`
	AccountID    string       `json:"AccountID"`
	Livemode     bool         `json:"Livemode"`
	PaymentID    string       `json:"PaymentID"`
	Status       RefundStatus `json:"Status"`
	Amount       int64        `json:"Amount"`
	Net          int64        `json:"Net"`
	Tax          int64        `json:"Tax"`
	Breakdown    []TaxLine    `json:"Breakdown"`
	Currency     string       `json:"Currency"`
	Reason       string       `json:"Reason"`
	Failure      *Failure     `json:"Failure"`
	Attempt      Attempt      `json:"Attempt"`
	CreditNoteID string       `json:"CreditNoteID"`
	Receipt      *Receipt     `json:"Receipt"`
	Version      int64        `json:"Version"`
	CreatedAt    time.Time    `json:"CreatedAt"`
	UpdatedAt    time.Time    `json:"UpdatedAt"`
}

// Refund reasons.
var RefundReasons = map[string]bool{"requested_by_customer": true, "duplicate": true, "fraudulent": true}

// Ledger accounts of the double-entry journal (SPEC §10).
const (
	LedgerProcessorReceivable = "processor_receivable" // money the processor owes the merchant
	LedgerRevenue             = "revenue"              // net sales
	LedgerTaxPayable          = "tax_payable"          // tax owed to the tax authorities
	LedgerDisputes            = "disputes"             // money lost to chargebacks
)

// Posting is one side of a journal entry.
type Posting struct {
	LedgerAccount string `json:"ledgerAccount"`
	Debit         int64  `json:"debit"`
	Credit        int64  `json:"credit"`
}

// JournalEntry is a balanced set of postings in one currency: Σ debits =
// Σ credits. Entries are only ever appended; a reversal is a new entry.
type JournalEntry struct {
	ID        string    `json:"ID"` // le_…
	AccountID string    `json:"AccountID"`
	Livemode  bool      `json:"Livemode"`
	Currency  string    `json:"Currency"`
	Kind      string    `json:"Kind"` // capture | refund | dispute
	PaymentID string    `json:"PaymentID"`
	RefundID  string    `json:"RefundID"`
	Postings  []Posting `json:"Postings"`
	CreatedAt time.Time `json:"CreatedAt"`
}

// Balanced reports whether the entry's debits equal its credits and every
// posting is one-sided and non-negative.
func (e *JournalEntry) Balanced() bool {
	var dr, cr int64
	for _, p := range e.Postings {
		if p.Debit < 0 || p.Credit < 0 || (p.Debit > 0) == (p.Credit > 0) {
			return false
		}
		dr += p.Debit
		cr += p.Credit
	}
	return dr == cr && dr > 0
}

// LedgerBalance is one ledger account's totals in one currency.
type LedgerBalance struct {
	Currency      string
	LedgerAccount string
	Debits        int64
	Credits       int64
}

// Email is one message to send: a receipt, with its document attached.
type Email struct {
	ID          string       `json:"ID"` // em_…
	AccountID   string       `json:"AccountID"`
	Livemode    bool         `json:"Livemode"`
	MessageID   string       `json:"MessageID"` // stable per receipt, so a resend is recognisable
	From        string       `json:"From"`
	To          string       `json:"To"`
	Subject     string       `json:"Subject"`
	Text        string       `json:"Text"`
	HTML        string       `json:"HTML"`
	Attachments []Attachment `json:"Attachments"`
	PaymentID   string       `json:"PaymentID"`
	RefundID    string       `json:"RefundID"`
	CreatedAt   time.Time    `json:"CreatedAt"`
}

// Attachment is a file attached to an email. Size is len(Data), kept also
// where the bytes are not (the local mailbox).
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Data        []byte `json:"data,omitempty"`
	Size        int    `json:"size"`
}

// Mailer sends email. An error means the message may not have been sent and
// is retried later.
type Mailer interface {
	Send(ctx context.Context, m *Email) error
}
