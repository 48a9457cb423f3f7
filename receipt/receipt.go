// Package receipt composes the receipt emails Till sends for succeeded
// payments and refunds (SPEC §9): a subject, a plain-text part and an HTML
// part rendered from embedded templates, and the invoice or credit note PDF
// attached. It only builds messages; sending them is the job of a
// till.Mailer (package smtp, or the service's local mailbox).
//
// The package is pure: it reads the account, the payment and the document it
// is given and the time it is told, and calls nothing else.
package receipt

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"math"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/tillpay/till"
)

// ErrNoSender is returned when the account has neither a receiptFrom nor a
// supportEmail address, so a receipt has nobody to come from. The service
// reports it on the receipt (status failed) instead of inventing a sender.
var ErrNoSender = errors.New("receipt: the account has no receiptFrom or supportEmail address")

// ErrNoRecipient is returned when the address a receipt is for is empty or
// not an email address.
var ErrNoRecipient = errors.New("receipt: no valid recipient address")

// DefaultColor is the brand colour used when the account has none, or one
// that is not a #rgb or #rrggbb hex colour.
const DefaultColor = "#1f2937"

// PDFContentType is the content type of the attached document.
const PDFContentType = "application/pdf"

//go:embed templates/*
var templateFS embed.FS

var (
	htmlTmpl = htmltemplate.Must(htmltemplate.New("receipt.html.tmpl").ParseFS(templateFS, "templates/receipt.html.tmpl"))
	textTmpl = texttemplate.Must(texttemplate.New("receipt.txt.tmpl").ParseFS(templateFS, "templates/receipt.txt.tmpl"))
)

// MessageID returns the Message-ID of the receipt of payment paymentID:
// "<receipt.{paymentID}@till>". It is the same every time the receipt is
// built, so a resend is recognisable as the same message.
func MessageID(paymentID string) string { return "<receipt." + idPart(paymentID) + "@till>" }

// RefundMessageID returns the Message-ID of the receipt of refund refundID:
// "<refund.{refundID}@till>".
func RefundMessageID(refundID string) string { return "<refund." + idPart(refundID) + "@till>" }

// Payment builds the receipt of a succeeded payment p of account a, sent to
// the address to. inv is the payment's invoice: its number, lines, tax
// summary, totals and payment method are what the receipt shows, and pdf, its
// rendering, is attached as "{number}.pdf". When inv is nil the receipt
// shows the payment's own figures; when pdf is empty nothing is attached.
// now is the time the message is composed (Email.CreatedAt).
//
// Payment returns ErrNoSender when the account has no sender address,
// ErrNoRecipient when to is not an address, and an error for a payment in an
// unknown currency. The returned Email has no ID; the caller assigns one.
func Payment(a *till.Account, p *till.Payment, inv *till.Document, pdf []byte, to string, now time.Time) (*till.Email, error) {
	if a == nil || p == nil {
		return nil, errors.New("receipt: account and payment are required")
	}
	cur, ok := till.LookupCurrency(p.Currency)
	if !ok {
		return nil, fmt.Errorf("receipt: payment %s has unknown currency %q", p.ID, p.Currency)
	}
	v := newView(a, cur)
	v.Refund = false
	v.Title = "Receipt"
	v.Heading = "Thank you for your payment"
	v.TotalLabel = "Total paid"
	v.DocLabel = "Invoice"
	v.Description = oneLine(p.Description)
	v.PaymentID = p.ID

	total, subtotal, tax := p.AmountTotal, p.AmountSubtotal, p.TaxAmount
	summary := p.TaxBreakdown
	date := now
	if inv != nil {
		total, subtotal, tax = inv.Total, inv.Subtotal, inv.Tax
		summary = inv.TaxSummary
		v.DocNumber = oneLine(inv.Number)
		v.PaymentMethod = oneLine(inv.PaymentMethod)
		v.Notes = lines(inv.Notes)
		if !inv.SupplyDate.IsZero() {
			date = inv.SupplyDate
		}
		for _, l := range inv.Lines {
			v.Lines = append(v.Lines, v.line(l.Description, l.Quantity, l.UnitNet, l.Net))
		}
	} else {
		for _, l := range p.LineItems {
			v.Lines = append(v.Lines, v.line(l.Description, l.Quantity, 0, l.Taxable))
		}
	}
	v.fill(total, subtotal, tax, summary, date)

	name := p.ID
	if inv != nil && inv.Number != "" {
		name = inv.Number
	}
	e, err := v.email(a, to, "Your receipt from "+v.Merchant+" — "+v.Total, attach(name, pdf))
	if err != nil {
		return nil, err
	}
	e.AccountID, e.Livemode, e.PaymentID = p.AccountID, p.Livemode, p.ID
	e.MessageID = MessageID(p.ID)
	e.CreatedAt = now
	return e, nil
}

// Refund builds the receipt of a succeeded refund r of payment p, sent to
// the address to. cn is the refund's credit note: its number, tax summary
// and totals are what the receipt shows, and pdf, its rendering, is attached
// as "{number}.pdf". When cn is nil the receipt shows the refund's own
// figures; when pdf is empty nothing is attached. now is the time the
// message is composed.
//
// Refund returns the same errors as Payment.
func Refund(a *till.Account, p *till.Payment, r *till.Refund, cn *till.Document, pdf []byte, to string, now time.Time) (*till.Email, error) {
	if a == nil || p == nil || r == nil {
		return nil, errors.New("receipt: account, payment and refund are required")
	}
	code := r.Currency
	if code == "" {
		code = p.Currency
	}
	cur, ok := till.LookupCurrency(code)
	if !ok {
		return nil, fmt.Errorf("receipt: refund %s has unknown currency %q", r.ID, code)
	}
	v := newView(a, cur)
	v.Refund = true
	v.Title = "Refund"
	v.Heading = "Your refund is on its way"
	v.TotalLabel = "Total refunded"
	v.DocLabel = "Credit note"
	v.Description = oneLine(p.Description)
	v.PaymentID = p.ID
	v.Reason = reasonLabel(r.Reason)

	total, subtotal, tax := r.Amount, r.Net, r.Tax
	summary := r.Breakdown
	date := now
	if cn != nil {
		total, subtotal, tax = cn.Total, cn.Subtotal, cn.Tax
		summary = cn.TaxSummary
		v.DocNumber = oneLine(cn.Number)
		v.InvoiceNumber = oneLine(cn.InvoiceNo)
		v.PaymentMethod = oneLine(cn.PaymentMethod)
		v.Notes = lines(cn.Notes)
		if !cn.IssueDate.IsZero() {
			date = cn.IssueDate
		}
		for _, l := range cn.Lines {
			v.Lines = append(v.Lines, v.line(l.Description, l.Quantity, l.UnitNet, l.Net))
		}
	}
	v.fill(total, subtotal, tax, summary, date)

	name := r.ID
	if cn != nil && cn.Number != "" {
		name = cn.Number
	}
	e, err := v.email(a, to, "Your refund from "+v.Merchant+" — "+v.Total, attach(name, pdf))
	if err != nil {
		return nil, err
	}
	e.AccountID, e.Livemode, e.PaymentID, e.RefundID = p.AccountID, p.Livemode, p.ID, r.ID
	e.MessageID = RefundMessageID(r.ID)
	e.CreatedAt = now
	return e, nil
}

// view is what the templates render. Every string in it may come from the
// merchant or the customer: html/template escapes it in the HTML part, and
// the text part is plain text, where nothing needs escaping.
type view struct {
	Refund        bool
	Title         string // "Receipt" or "Refund"
	Heading       string
	Merchant      string
	Company       string // the merchant's legal name, for the footer
	Color         string // validated #rrggbb
	OnColor       string // text colour readable on Color
	Date          string
	Description   string
	PaymentID     string
	DocLabel      string // "Invoice" or "Credit note"
	DocNumber     string
	InvoiceNumber string // credit notes: the invoice they correct
	Reason        string // refunds: why
	PaymentMethod string
	Lines         []lineView
	Subtotal      string
	Taxes         []taxView
	Tax           string
	TotalLabel    string
	Total         string
	Notes         []string
	SupportEmail  string
	Address       []string // the merchant's postal address, one line each
	Attachment    string   // file name of the attached PDF, if any

	cur till.Currency
}

type lineView struct {
	Description string
	Quantity    int64
	UnitNet     string // empty when unknown
	Net         string
}

type taxView struct {
	Label   string // "VAT 19 %", "Reverse charge"
	Taxable string
	Tax     string
}

func newView(a *till.Account, cur till.Currency) *view {
	color, on := brandColor(a.Branding.Color)
	v := &view{
		Merchant:     merchantName(a),
		Company:      companyName(a),
		Color:        color,
		OnColor:      on,
		SupportEmail: oneLine(a.SupportEmail),
		cur:          cur,
	}
	v.Address = addressLines(a.Address)
	return v
}

// money renders a minor-unit amount as "11.90 EUR".
func (v *view) money(amount int64) string {
	return till.FormatAmount(amount, v.cur) + " " + v.cur.Code
}

func (v *view) line(desc string, qty, unitNet, net int64) lineView {
	l := lineView{Description: oneLine(desc), Quantity: qty, Net: v.money(net)}
	if unitNet != 0 {
		l.UnitNet = v.money(unitNet)
	} else if qty > 0 && net%qty == 0 {
		l.UnitNet = v.money(net / qty)
	}
	return l
}

func (v *view) fill(total, subtotal, tax int64, summary []till.TaxLine, date time.Time) {
	v.Total = v.money(total)
	v.Subtotal = v.money(subtotal)
	v.Tax = v.money(tax)
	v.Date = date.UTC().Format("2 January 2006")
	for _, t := range summary {
		v.Taxes = append(v.Taxes, taxView{Label: taxLabel(t), Taxable: v.money(t.TaxableAmount), Tax: v.money(t.TaxAmount)})
	}
}

// email renders both parts and fills the addresses, the subject and the
// attachments.
func (v *view) email(a *till.Account, to, subject string, files []till.Attachment) (*till.Email, error) {
	if len(files) > 0 {
		v.Attachment = files[0].Name
	}
	from, err := sender(a, v.Merchant)
	if err != nil {
		return nil, err
	}
	rcpt, err := mail.ParseAddress(strings.TrimSpace(to))
	if err != nil || strings.ContainsAny(to, "\r\n") {
		return nil, ErrNoRecipient
	}
	var html, text bytes.Buffer
	if err := htmlTmpl.Execute(&html, v); err != nil {
		return nil, fmt.Errorf("receipt: render HTML: %w", err)
	}
	if err := textTmpl.Execute(&text, v); err != nil {
		return nil, fmt.Errorf("receipt: render text: %w", err)
	}
	return &till.Email{
		From:        from,
		To:          rcpt.Address,
		Subject:     oneLine(subject),
		Text:        text.String(),
		HTML:        html.String(),
		Attachments: files,
	}, nil
}

// attach returns the document PDF as an attachment named "{name}.pdf", or
// nothing when there is no PDF.
func attach(name string, pdf []byte) []till.Attachment {
	if len(pdf) == 0 {
		return nil
	}
	return []till.Attachment{{Name: fileName(name) + ".pdf", ContentType: PDFContentType, Data: pdf}}
}

// sender returns the From address: the account's receiptFrom, or its
// supportEmail, with the merchant's name as display name unless the address
// names one itself.
func sender(a *till.Account, merchant string) (string, error) {
	raw := strings.TrimSpace(a.ReceiptFrom)
	if raw == "" {
		raw = strings.TrimSpace(a.SupportEmail)
	}
	if raw == "" {
		return "", ErrNoSender
	}
	if strings.ContainsAny(raw, "\r\n") {
		return "", fmt.Errorf("receipt: sender address contains a line break")
	}
	addr, err := mail.ParseAddress(raw)
	if err != nil {
		return "", fmt.Errorf("receipt: sender address %q: %w", raw, err)
	}
	if addr.Name == "" {
		addr.Name = merchant
	}
	return addr.String(), nil
}

// merchantName is the name the customer knows the merchant by.
func merchantName(a *till.Account) string {
	for _, s := range []string{a.Branding.DisplayName, a.Name, a.LegalName} {
		if s = oneLine(s); s != "" {
			return s
		}
	}
	return "Till"
}

// companyName is the merchant's legal name, shown with its address.
func companyName(a *till.Account) string {
	for _, s := range []string{a.LegalName, a.Name} {
		if s = oneLine(s); s != "" {
			return s
		}
	}
	return merchantName(a)
}

var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// brandColor validates a #rgb or #rrggbb colour, normalises it to lower-case
// #rrggbb, and picks black or white text for it, whichever contrasts more.
func brandColor(c string) (color, on string) {
	c = strings.TrimSpace(c)
	if !hexColor.MatchString(c) {
		c = DefaultColor
	}
	c = strings.ToLower(c)
	if len(c) == 4 {
		c = "#" + strings.Repeat(c[1:2], 2) + strings.Repeat(c[2:3], 2) + strings.Repeat(c[3:4], 2)
	}
	r, _ := strconv.ParseUint(c[1:3], 16, 8)
	g, _ := strconv.ParseUint(c[3:5], 16, 8)
	b, _ := strconv.ParseUint(c[5:7], 16, 8)
	if contrast(r, g, b, 255) >= contrast(r, g, b, 0) {
		return c, "#ffffff"
	}
	return c, "#111111"
}

// contrast returns the WCAG contrast ratio, times 1000, of the colour r g b
// against the grey level grey.
func contrast(r, g, b, grey uint64) int64 {
	l1 := luminance(r, g, b)
	l2 := luminance(grey, grey, grey)
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return int64((l1 + 0.05) / (l2 + 0.05) * 1000)
}

// luminance is the WCAG relative luminance of an sRGB colour.
func luminance(r, g, b uint64) float64 {
	lin := func(c uint64) float64 {
		x := float64(c) / 255
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}
