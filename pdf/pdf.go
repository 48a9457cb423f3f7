// Package pdf renders Till's issued documents, invoices and credit notes, as
// A4 PDF files that carry every detail Article 226 of Council Directive
// 2006/112/EC asks of a full VAT invoice (docs/invoices.md maps each point
// to where it appears).
//
// Renderer implements till.DocumentRenderer with codeberg.org/go-pdf/fpdf,
// the maintained successor of the archived jung-kurt/gofpdf. A document
// whose text is all in WinAnsiEncoding ("Bäckerei Schmidt", "Crème",
// "€") is set in the standard Helvetica faces, which nothing needs to
// embed; any other ("Łódź", "Ελλάδα") in the Go fonts, embedded as UTF-8
// TrueType subsets (fonts.go). Either way every name prints, and stays
// extractable, as written. Output is a pure function of the document: the
// same document gives the same bytes, so golden tests and caching are
// possible.
package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/tillpay/till"
)

// Producer is the PDF's fixed producer entry; it names no version, so an
// upgrade of Till alone does not change a document's bytes.
const Producer = "Till"

// Renderer renders issued documents as PDF. It holds no state: the zero
// value works as well as New's, and a Renderer is safe for concurrent use.
type Renderer struct{}

// New returns a Renderer.
func New() *Renderer { return &Renderer{} }

var _ till.DocumentRenderer = (*Renderer)(nil)

// PDF renders d. It fails with an internal error when d is nil, of an
// unknown kind or in an unknown currency, or when the PDF writer fails; it
// never panics.
func (r *Renderer) PDF(d *till.Document) ([]byte, error) {
	if d == nil {
		return nil, till.Internal(errors.New("pdf: nil document"))
	}
	if d.Kind != till.DocInvoice && d.Kind != till.DocCreditNote {
		return nil, till.Internal(fmt.Errorf("pdf: document %s has unknown kind %q", d.ID, d.Kind))
	}
	cur, ok := till.LookupCurrency(d.Currency)
	if !ok {
		return nil, till.Internal(fmt.Errorf("pdf: document %s has unknown currency %q", d.ID, d.Currency))
	}
	if err := loadCoverage(); err != nil {
		return nil, till.Internal(fmt.Errorf("pdf: fonts: %w", err))
	}
	embedded := needsEmbeddedFont(d)
	b, err := render(d, cur, embedded)
	if errors.Is(err, errNotWinAnsi) {
		// needsEmbeddedFont missed a string the writer prints (a test
		// keeps the two in step): print it as written rather than as "?".
		embedded = true
		b, err = render(d, cur, true)
	}
	if err != nil {
		return nil, err
	}
	if embedded { // the standard fonts have no ToUnicode CMap to fix
		b, _ = fixToUnicode(b)
	}
	return b, nil
}

// needsEmbeddedFont reports whether d prints a character that is not in
// WinAnsiEncoding, the encoding of the standard fonts, so that it must be
// set in the embedded Go fonts. It scans every string of d that the writer
// prints, as clean will print it: a rune no font can draw becomes "?", which
// the standard fonts have. The labels of the layout are all in the encoding.
func needsEmbeddedFont(d *till.Document) bool {
	if loadCoverage() != nil {
		return true
	}
	ss := []string{d.Number, d.InvoiceNo, refundReason(d.Reason), d.PaymentMethod, d.Currency}
	for _, p := range []*till.Party{&d.Seller, &d.Buyer} {
		ss = append(ss, p.Name, p.LegalName, p.VATNumber, p.Email)
		ss = append(ss, addressLines(p.Address)...)
	}
	for _, l := range d.Lines {
		ss = append(ss, l.Description)
	}
	for _, t := range d.TaxSummary {
		ss = append(ss, summaryLabel(t))
	}
	ss = append(ss, d.Notes...)
	for _, s := range ss {
		if !winAnsiOnly(s) {
			return true
		}
	}
	return false
}

// errNotWinAnsi reports that the writer, set in the standard fonts, was
// asked to print a character they cannot encode.
var errNotWinAnsi = errors.New("pdf: text outside WinAnsiEncoding")

// render lays d out, in the embedded fonts or the standard ones, and writes
// it as fpdf does with compression on, before fixToUnicode. In the standard
// fonts it fails with errNotWinAnsi if d prints a character they cannot
// encode.
func render(d *till.Document, cur till.Currency, embedded bool) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, till.Internal(fmt.Errorf("pdf: rendering %s: %v", d.ID, p))
		}
	}()
	w := newWriter(d, cur, embedded)
	w.render()
	if err := w.f.Error(); err != nil {
		return nil, till.Internal(fmt.Errorf("pdf: rendering %s: %w", d.ID, err))
	}
	if w.lossy {
		return nil, errNotWinAnsi
	}
	var buf bytes.Buffer
	if err := w.f.Output(&buf); err != nil {
		return nil, till.Internal(fmt.Errorf("pdf: writing %s: %w", d.ID, err))
	}
	out, _ = compressPages(buf.Bytes(), w.f.PageCount())
	return out, nil
}

// Page geometry, in millimetres.
const (
	pageW     = 210.0
	pageH     = 297.0
	marginL   = 18.0
	marginR   = 18.0
	contentW  = pageW - marginL - marginR
	top       = 16.0
	bottom    = pageH - 24.0 // content stops here; the footer sits below
	footerY   = pageH - 17.0
	lineH     = 4.4       // a 9 pt line
	smallH    = 3.8       // an 8 pt line
	rowPad    = 1.6       // padding above and below a table row's text
	cellInset = 2.0       // horizontal padding inside table cells
	ptMM      = 25.4 / 72 // one typographic point
)

// Colours, as RGB.
type rgb struct{ r, g, b int }

var (
	ink    = rgb{33, 37, 41}
	muted  = rgb{104, 112, 120}
	accent = rgb{22, 82, 148}
	rule   = rgb{214, 219, 224}
	band   = rgb{240, 243, 246}
	green  = rgb{25, 125, 80}
	orange = rgb{196, 96, 0}

	paleGreen = rgb{222, 242, 230}
)

// column is one column of the item table.
type column struct {
	title string
	w     float64
	align string
}

// writer lays out one document.
type writer struct {
	f      *fpdf.Fpdf
	d      *till.Document
	cur    till.Currency
	credit bool
	y      float64
	cols   []column
	// embedded is set when the document is set in the embedded Go fonts,
	// which take UTF-8; the standard fonts take WinAnsiEncoding.
	embedded bool
	family   string
	// lossy is set when a string could not be encoded for the standard
	// fonts.
	lossy bool
}

func newWriter(d *till.Document, cur till.Currency, embedded bool) *writer {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetCatalogSort(true)
	// The document's own date, never the clock: same document, same bytes.
	f.SetCreationDate(d.IssueDate.UTC())
	f.SetModificationDate(d.IssueDate.UTC())
	f.SetProducer(Producer, true)
	f.SetCreator(Producer, true)
	f.SetAuthor(clean(d.Seller.Name), true)
	f.SetLang("en")
	f.SetAutoPageBreak(false, 0)
	f.SetMargins(marginL, top, marginR)
	f.SetCellMargin(0)
	// fpdf would compress each page's contents with a zlib writer of its
	// own, a megabyte of tables; render compresses them with pooled ones,
	// to the same bytes.
	f.SetCompression(false)
	// fpdf loads the standard fonts' metrics when they are first set.
	w := &writer{f: f, d: d, cur: cur, credit: d.Kind == till.DocCreditNote, embedded: embedded, family: coreFamily}
	if embedded {
		f.AddUTF8FontFromBytes(embedFamily, "", goregular.TTF)
		f.AddUTF8FontFromBytes(embedFamily, "B", gobold.TTF)
		w.family = embedFamily
	}
	f.SetTitle(w.title()+" "+clean(d.Number), true)
	amount := "Net amount"
	if w.credit {
		amount = "Net credited"
	}
	w.cols = []column{
		{"Description", 82, "L"},
		{"Qty", 14, "R"},
		{"Unit price (net)", 30, "R"},
		{"VAT", 18, "R"},
		{amount, contentW - 82 - 14 - 30 - 18, "R"},
	}
	return w
}

// title is the document's kind in words.
func (w *writer) title() string {
	if w.credit {
		return "Credit note"
	}
	return "Invoice"
}

func (w *writer) font(style string, size float64, c rgb) {
	w.f.SetFont(w.family, style, size)
	w.f.SetTextColor(c.r, c.g, c.b)
}

// encode turns a cleaned string into what the current fonts take: itself
// for the embedded fonts, its WinAnsiEncoding for the standard ones.
func (w *writer) encode(s string) string {
	if w.embedded {
		return s
	}
	e, ok := toWinAnsi(s)
	if !ok {
		w.lossy = true
	}
	return e
}

// width is the width of the cleaned string s in the current font.
func (w *writer) width(s string) float64 {
	return w.f.GetStringWidth(w.encode(s))
}

// text draws s on one line in a box of width wd at (x, y).
func (w *writer) text(x, y, wd, h float64, align, s string) {
	w.f.SetXY(x, y)
	w.f.CellFormat(wd, h, w.encode(clean(s)), "", 0, align, false, 0, "")
}

// fit shortens s with an ellipsis until it is no wider than wd in the
// current font, for the few places that must stay on one line.
func (w *writer) fit(s string, wd float64) string {
	s = clean(s)
	if w.width(s) <= wd {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && w.width(string(rs)+"…") > wd {
		rs = rs[:len(rs)-1]
	}
	return strings.TrimRight(string(rs), " ") + "…"
}

func (w *writer) hline(y float64, c rgb, width float64) {
	w.f.SetDrawColor(c.r, c.g, c.b)
	w.f.SetLineWidth(width)
	w.f.Line(marginL, y, pageW-marginR, y)
}

// wrap breaks s into lines no wider than wd in the current font: at spaces
// where it can, inside a word where one word is too long, and at every line
// break of s.
func (w *writer) wrap(s string, wd float64) []string {
	var lines []string
	for _, para := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line := ""
		for _, word := range strings.Fields(clean(para)) {
			try := word
			if line != "" {
				try = line + " " + word
			}
			if w.width(try) <= wd {
				line = try
				continue
			}
			if line != "" {
				lines = append(lines, line)
			}
			line = word
			for w.width(line) > wd { // a word wider than the box
				rs := []rune(line)
				n := len(rs) - 1
				for n > 1 && w.width(string(rs[:n])) > wd {
					n--
				}
				lines = append(lines, string(rs[:n]))
				line = string(rs[n:])
			}
		}
		if line != "" || len(lines) == 0 {
			lines = append(lines, line)
		}
	}
	return lines
}

// render lays out the whole document, then stamps each page's footer once
// the page count is known.
func (w *writer) render() {
	w.f.AddPage()
	w.firstHeader()
	w.items()
	w.totals()
	w.notes()
	n := w.f.PageCount()
	for p := 1; p <= n; p++ {
		w.f.SetPage(p)
		w.footer(p, n)
	}
}

// newPage starts a continuation page with the short header.
func (w *writer) newPage() {
	w.f.AddPage()
	w.font("B", 11, ink)
	w.text(marginL, top, contentW/2, 6, "L", w.fit(w.d.Seller.Name, contentW/2-4))
	// fpdf centres text in its box, so the smaller text moves down by the
	// difference to share the seller name's baseline.
	w.font("", 9, muted)
	w.text(pageW/2, top+0.3*(11-9)*ptMM, contentW/2+marginL-marginR, 6, "R", w.title()+" "+w.d.Number+" (continued)")
	w.hline(top+8, rule, 0.3)
	w.y = top + 12
}

// firstHeader draws the first page's head: title, document details, seller
// and buyer, and the one-line statement of what was paid or credited.
func (w *writer) firstHeader() {
	d := w.d
	y := top
	w.font("B", 22, ink)
	w.text(marginL, y, 100, 10, "L", w.title())
	w.font("B", 13, accent)
	w.text(marginL, y+1, contentW, 6, "R", w.fit(d.Seller.Name, contentW-60))
	if !d.Livemode {
		w.font("B", 8, orange)
		w.text(marginL, y+7, contentW, smallH, "R", "TEST MODE · not a tax document")
	}
	y += 15

	// Document details (Art. 226(1), (2), (7)).
	type kv struct{ k, v string }
	numberLabel := "Invoice number"
	if w.credit {
		numberLabel = "Credit note number"
	}
	rows := []kv{{numberLabel, d.Number}, {"Date of issue", date(d.IssueDate)}}
	if w.credit {
		if !d.SupplyDate.IsZero() {
			rows = append(rows, kv{"Date of refund", date(d.SupplyDate)})
		}
		if d.InvoiceNo != "" {
			rows = append(rows, kv{"Corrects invoice", d.InvoiceNo})
		}
		if r := refundReason(d.Reason); r != "" {
			rows = append(rows, kv{"Reason", r})
		}
	} else {
		if !d.SupplyDate.IsZero() {
			rows = append(rows, kv{"Date of supply", date(d.SupplyDate)})
		}
		paid := "Paid"
		if d.PaymentMethod != "" {
			paid += " · " + d.PaymentMethod
		}
		rows = append(rows, kv{"Payment", paid})
	}
	for i, r := range rows {
		w.font("", 9, muted)
		w.text(marginL, y, 36, lineH, "L", r.k)
		style := ""
		if i == 0 {
			style = "B"
		}
		w.font(style, 9, ink)
		w.text(marginL+36, y, contentW-36, lineH, "L", w.fit(r.v, contentW-36))
		y += lineH
	}
	y += 6

	// Seller and buyer (Art. 226(3), (4), (5)).
	colW := 82.0
	ys := w.party(marginL, y, colW, "From", d.Seller)
	yb := w.party(marginL+92, y, colW, "Bill to", d.Buyer)
	y = max(ys, yb) + 6

	// What happened, in one line.
	// Till issues a document in the unit of work that records the payment
	// or refund, so the issue date is the date the money moved.
	stmt := moneyCode(d.Total, w.cur) + " paid on " + date(d.IssueDate)
	if w.credit {
		stmt = moneyCode(d.Total, w.cur) + " credited on " + date(d.IssueDate)
	}
	w.font("B", 13, ink)
	w.text(marginL, y, contentW, 7, "L", stmt)
	if !w.credit {
		w.badge(marginL+w.width(clean(stmt))+4, y+1, "PAID", green, paleGreen)
	}
	y += 7
	if w.credit && d.InvoiceNo != "" {
		w.font("", 9, muted)
		w.text(marginL, y, contentW, lineH, "L", "This credit note corrects invoice "+d.InvoiceNo+". All amounts below are credited to the customer.")
		y += lineH
	}
	w.y = y + 5
}

// badge draws a small rounded label at (x, y).
func (w *writer) badge(x, y float64, label string, fg, bg rgb) {
	w.font("B", 7.5, fg)
	wd := w.width(label) + 4
	w.f.SetFillColor(bg.r, bg.g, bg.b)
	w.f.RoundedRect(x, y, wd, 5, 1.2, "1234", "F")
	w.text(x, y, wd, 5, "C", label)
}

// party draws a seller or buyer block and returns the y below it.
func (w *writer) party(x, y, wd float64, heading string, p till.Party) float64 {
	w.font("B", 7.5, muted)
	w.text(x, y, wd, smallH, "L", strings.ToUpper(heading))
	y += smallH + 0.8
	w.font("B", 10, ink)
	for _, l := range w.wrap(p.Name, wd) {
		w.text(x, y, wd, 4.8, "L", l)
		y += 4.8
	}
	w.font("", 9, ink)
	var lines []string
	if p.LegalName != "" && p.LegalName != p.Name {
		lines = append(lines, p.LegalName)
	}
	lines = append(lines, addressLines(p.Address)...)
	for _, s := range lines {
		for _, l := range w.wrap(s, wd) {
			w.text(x, y, wd, lineH, "L", l)
			y += lineH
		}
	}
	if p.VATNumber != "" {
		w.font("", 9, muted)
		w.text(x, y, 13, lineH, "L", "VAT ID")
		w.font("B", 9, ink)
		w.text(x+13, y, wd-13, lineH, "L", p.VATNumber)
		y += lineH
	}
	if p.Email != "" {
		w.font("", 9, muted)
		w.text(x, y, wd, lineH, "L", p.Email)
		y += lineH
	}
	return y
}

// tableHeader draws the item table's header band.
func (w *writer) tableHeader() {
	w.font("", 8, muted)
	w.text(marginL, w.y, contentW, smallH, "R", "Amounts in "+w.cur.Code)
	w.y += smallH + 0.6
	h := 7.0
	w.f.SetFillColor(band.r, band.g, band.b)
	w.f.Rect(marginL, w.y, contentW, h, "F")
	w.font("B", 8, muted)
	x := marginL
	for _, c := range w.cols {
		w.text(x+cellInset, w.y, c.w-2*cellInset, h, c.align, c.title)
		x += c.w
	}
	w.y += h
}

// items draws the item lines (Art. 226(6), (8), (9)), paginating with the
// header repeated.
func (w *writer) items() {
	w.tableHeader()
	for i, l := range w.d.Lines {
		w.font("", 9, ink)
		desc := w.wrap(l.Description, w.cols[0].w-2*cellInset)
		if len(desc) == 1 && desc[0] == "" {
			desc = []string{"—"}
		}
		h := float64(len(desc))*lineH + 2*rowPad
		if w.y+h > bottom {
			w.newPage()
			w.tableHeader()
			w.font("", 9, ink)
		}
		y := w.y + rowPad
		for j, s := range desc {
			w.text(marginL+cellInset, y+float64(j)*lineH, w.cols[0].w-2*cellInset, lineH, "L", s)
		}
		cells := []string{
			strconv.FormatInt(l.Quantity, 10),
			money(l.UnitNet, w.cur),
			lineRate(l),
			money(l.Net, w.cur),
		}
		x := marginL + w.cols[0].w
		for k, s := range cells {
			c := w.cols[k+1]
			w.text(x+cellInset, y, c.w-2*cellInset, lineH, c.align, s)
			x += c.w
		}
		w.y += h
		if i < len(w.d.Lines)-1 {
			w.hline(w.y, rule, 0.2)
		}
	}
	w.hline(w.y, muted, 0.3)
	w.y += 7
}

// totals draws the VAT summary per rate (Art. 226(8), (9), (10)) beside the
// totals, kept together on one page.
func (w *writer) totals() {
	d := w.d
	sum := d.TaxSummary
	sw := []float64{48, 26, 26} // rate, taxable amount, VAT
	w.font("", 9, ink)
	labels := make([][]string, len(sum))
	sumH := smallH + 1 + 6
	for i, t := range sum {
		labels[i] = w.wrap(summaryLabel(t), sw[0]-2*cellInset)
		sumH += float64(len(labels[i]))*lineH + 1.2
	}
	type row struct {
		k, v string
		bold bool
	}
	var rows []row
	if w.credit {
		rows = []row{
			{"Net credited", moneyCode(d.Subtotal, w.cur), false},
			{"VAT credited", moneyCode(d.Tax, w.cur), false},
			{"Total credited", moneyCode(d.Total, w.cur), true},
		}
	} else {
		rows = []row{
			{"Subtotal (net)", moneyCode(d.Subtotal, w.cur), false},
			{"VAT", moneyCode(d.Tax, w.cur), false},
			{"Total", moneyCode(d.Total, w.cur), true},
			{"Amount paid", moneyCode(d.Total, w.cur), false},
			{"Amount due", moneyCode(0, w.cur), true},
		}
	}
	totH := float64(len(rows))*(lineH+1.6) + 6
	if w.y+max(sumH, totH) > bottom {
		w.newPage()
	}
	y0 := w.y

	// VAT summary, left.
	w.font("B", 7.5, muted)
	title := "VAT SUMMARY"
	if w.credit {
		title = "VAT CREDITED BY RATE"
	}
	w.text(marginL, w.y, 100, smallH, "L", title)
	y := w.y + smallH + 1
	w.f.SetFillColor(band.r, band.g, band.b)
	w.f.Rect(marginL, y, 100, 6, "F")
	w.font("B", 8, muted)
	x := marginL
	for i, t := range []string{"Rate", "Taxable amount", "VAT"} {
		align := "R"
		if i == 0 {
			align = "L"
		}
		w.text(x+cellInset, y, sw[i]-2*cellInset, 6, align, t)
		x += sw[i]
	}
	y += 6
	for i, t := range sum {
		y += 0.6
		w.font("", 9, ink)
		for j, l := range labels[i] {
			w.text(marginL+cellInset, y+float64(j)*lineH, sw[0]-2*cellInset, lineH, "L", l)
		}
		x = marginL + sw[0]
		for k, s := range []string{money(t.TaxableAmount, w.cur), money(t.TaxAmount, w.cur)} {
			w.text(x+cellInset, y, sw[k+1]-2*cellInset, lineH, "R", s)
			x += sw[k+1]
		}
		y += float64(len(labels[i]))*lineH + 0.6
		w.f.SetDrawColor(rule.r, rule.g, rule.b)
		w.f.SetLineWidth(0.2)
		w.f.Line(marginL, y, marginL+100, y)
	}
	ySum := y

	// Totals, right.
	tx, tw := marginL+108, contentW-108
	y = y0 + smallH + 1
	for i, r := range rows {
		if r.bold && i > 0 {
			w.f.SetDrawColor(muted.r, muted.g, muted.b)
			w.f.SetLineWidth(0.3)
			w.f.Line(tx, y, tx+tw, y)
			y += 0.8
		}
		label, value := muted, ink
		style, size := "", 9.0
		if r.bold {
			label, style, size = ink, "B", 10
		}
		if r.k == "Amount paid" {
			value = green
		}
		w.font(style, size, label)
		w.text(tx, y, tw/2, lineH+1, "L", r.k)
		w.font(style, size, value)
		w.text(tx+tw/2, y, tw/2, lineH+1, "R", r.v)
		y += lineH + 1.6
	}
	w.y = max(ySum, y) + 8
}

// notes draws the mentions the law asks for (Art. 226(11), (11a)) and the
// rounding note of inclusive prices.
func (w *writer) notes() {
	notes := append([]string(nil), w.d.Notes...)
	if w.d.TaxBehavior == till.TaxInclusive {
		notes = append(notes, "Prices include VAT. Unit prices are shown net of VAT, rounded to the currency's minor unit; "+
			"net line amounts, VAT and totals are exact.")
	}
	if len(notes) == 0 {
		return
	}
	w.font("B", 7.5, muted)
	if w.y+smallH+2+lineH > bottom {
		w.newPage()
	}
	w.text(marginL, w.y, contentW, smallH, "L", "NOTES")
	w.y += smallH + 1.5
	for _, n := range notes {
		w.font("", 9, ink)
		lines := w.wrap(n, contentW)
		h := float64(len(lines)) * lineH
		if w.y+h > bottom {
			w.newPage()
			w.font("", 9, ink)
		}
		for _, l := range lines {
			w.text(marginL, w.y, contentW, lineH, "L", l)
			w.y += lineH
		}
		w.y += 1.8
	}
}

// footer stamps page p of n.
func (w *writer) footer(p, n int) {
	d := w.d
	w.hline(footerY-2, rule, 0.3)
	parts := []string{d.Seller.Name}
	if d.Seller.VATNumber != "" {
		parts = append(parts, "VAT ID "+d.Seller.VATNumber)
	}
	if d.Seller.Email != "" {
		parts = append(parts, d.Seller.Email)
	}
	w.font("", 7.5, muted)
	w.text(marginL, footerY, contentW*0.68, smallH, "L", w.fit(strings.Join(parts, " · "), contentW*0.68-2))
	w.text(marginL+contentW*0.68, footerY, contentW*0.32, smallH, "R",
		fmt.Sprintf("%s · Page %d of %d", d.Number, p, n))
}
