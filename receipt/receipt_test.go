package receipt_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tillpay/till"
	"github.com/tillpay/till/receipt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	issued = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	now    = issued.Add(2 * time.Second)
	pdf    = []byte("%PDF-1.7\n% sample\n%%EOF\n")
)

func sampleAccount() *till.Account {
	return &till.Account{
		ID: "acct_1", Name: "Acme GmbH", LegalName: "Acme Software GmbH",
		Address:      till.Address{Line1: "Musterstraße 1", PostalCode: "10115", City: "Berlin", Country: "DE"},
		SupportEmail: "help@acme.test", ReceiptFrom: "receipts@acme.test",
		Branding: till.Branding{DisplayName: "Acme", Color: "#0a7cff"},
	}
}

func samplePayment() *till.Payment {
	return &till.Payment{
		ID: "pay_1a2b3c", AccountID: "acct_1", Currency: "EUR", Status: till.StatusSucceeded,
		Amount: 1000, AmountSubtotal: 1000, TaxAmount: 190, AmountTotal: 1190, AmountCaptured: 1190,
		Description: "Pro plan, March", TaxBehavior: till.TaxExclusive, TaxCountry: "DE",
		TaxBreakdown: []till.TaxLine{{Country: "DE", Rate: 190000, TaxableAmount: 1000, TaxAmount: 190, Reason: till.TaxReasonDomestic, Name: "VAT"}},
		LineItems: []till.LineItem{
			{Description: "Pro seat", Quantity: 2, UnitAmount: 400, Amount: 800, Taxable: 800, TaxAmount: 152, Rate: 190000},
			{Description: "Support add-on", Quantity: 1, UnitAmount: 200, Amount: 200, Taxable: 200, TaxAmount: 38, Rate: 190000},
		},
		SendReceipt: true,
	}
}

func sampleInvoice() *till.Document {
	return &till.Document{
		ID: "in_1", AccountID: "acct_1", Kind: till.DocInvoice, Number: "ACME-2026-000042", Year: 2026, Sequence: 42,
		PaymentID: "pay_1a2b3c", IssueDate: issued, SupplyDate: issued, Currency: "EUR", TaxBehavior: till.TaxExclusive,
		Lines: []till.DocumentLine{
			{Description: "Pro seat", Quantity: 2, UnitNet: 400, Net: 800, Rate: 190000, Tax: 152, Gross: 952},
			{Description: "Support add-on", Quantity: 1, UnitNet: 200, Net: 200, Rate: 190000, Tax: 38, Gross: 238},
		},
		TaxSummary: []till.TaxLine{{Country: "DE", Rate: 190000, TaxableAmount: 1000, TaxAmount: 190, Reason: till.TaxReasonDomestic, Name: "VAT"}},
		Subtotal:   1000, Tax: 190, Total: 1190,
		PaymentMethod: "Visa •••• 4242",
	}
}

func sampleRefund() (*till.Refund, *till.Document) {
	r := &till.Refund{
		ID: "re_9z8y7x", AccountID: "acct_1", PaymentID: "pay_1a2b3c", Status: till.RefundSucceeded,
		Amount: 595, Net: 500, Tax: 95, Currency: "EUR", Reason: "requested_by_customer",
		Breakdown: []till.TaxLine{{Country: "DE", Rate: 190000, TaxableAmount: 500, TaxAmount: 95, Reason: till.TaxReasonDomestic, Name: "VAT"}},
	}
	cn := &till.Document{
		ID: "cn_1", AccountID: "acct_1", Kind: till.DocCreditNote, Number: "ACME-CN-2026-000007",
		PaymentID: "pay_1a2b3c", RefundID: r.ID, InvoiceID: "in_1", InvoiceNo: "ACME-2026-000042",
		IssueDate: issued.Add(48 * time.Hour), SupplyDate: issued.Add(48 * time.Hour), Currency: "EUR",
		Lines:      []till.DocumentLine{{Description: "Refund for invoice ACME-2026-000042: Pro plan, March", Quantity: 1, UnitNet: 500, Net: 500, Rate: 190000, Tax: 95, Gross: 595}},
		TaxSummary: r.Breakdown, Subtotal: 500, Tax: 95, Total: 595, Reason: r.Reason,
	}
	return r, cn
}

// MustPayment builds the sample payment receipt with the given changes.
func MustPayment(tb testing.TB, edit func(*till.Account, *till.Payment, *till.Document)) *till.Email {
	tb.Helper()
	a, p, inv := sampleAccount(), samplePayment(), sampleInvoice()
	if edit != nil {
		edit(a, p, inv)
	}
	e, err := receipt.Payment(a, p, inv, pdf, "jane.doe@example.test", now)
	if err != nil {
		tb.Fatalf("receipt.Payment: %v", err)
	}
	return e
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./receipt -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./receipt -update rewrites it)\n--- got ---\n%s", name, got)
	}
}

func TestGolden(t *testing.T) {
	pay := MustPayment(t, nil)
	r, cn := sampleRefund()
	ref, err := receipt.Refund(sampleAccount(), samplePayment(), r, cn, pdf, "jane.doe@example.test", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		e    *till.Email
	}{{"payment", pay}, {"refund", ref}} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name+".txt", tc.e.Text)
			golden(t, tc.name+".html", tc.e.HTML)
		})
	}
}

func TestPaymentFields(t *testing.T) {
	e := MustPayment(t, nil)
	checks := []struct{ what, got, want string }{
		{"From", e.From, `"Acme" <receipts@acme.test>`},
		{"To", e.To, "jane.doe@example.test"},
		{"Subject", e.Subject, "Your receipt from Acme — 11.90 EUR"},
		{"MessageID", e.MessageID, "<receipt.pay_1a2b3c@till>"},
		{"PaymentID", e.PaymentID, "pay_1a2b3c"},
		{"AccountID", e.AccountID, "acct_1"},
		{"RefundID", e.RefundID, ""},
		{"ID", e.ID, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if !e.CreatedAt.Equal(now) {
		t.Errorf("CreatedAt = %v, want %v", e.CreatedAt, now)
	}
	for _, part := range []string{e.Text, e.HTML} {
		for _, want := range []string{"Acme", "14 March 2026", "Pro plan, March", "Pro seat", "ACME-2026-000042",
			"10.00 EUR", "VAT 19 %", "1.90 EUR", "11.90 EUR", "Visa •••• 4242", "help@acme.test", "4.00 EUR"} {
			if !strings.Contains(part, want) {
				t.Errorf("part lacks %q", want)
			}
		}
	}
	// A resend builds the same message id.
	if again := MustPayment(t, nil); again.MessageID != e.MessageID {
		t.Errorf("MessageID changed between builds: %q, %q", e.MessageID, again.MessageID)
	}
}

func TestRefundFields(t *testing.T) {
	r, cn := sampleRefund()
	e, err := receipt.Refund(sampleAccount(), samplePayment(), r, cn, pdf, "jane.doe@example.test", now)
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "Your refund from Acme — 5.95 EUR" {
		t.Errorf("Subject = %q", e.Subject)
	}
	if e.MessageID != "<refund.re_9z8y7x@till>" || e.RefundID != "re_9z8y7x" || e.PaymentID != "pay_1a2b3c" {
		t.Errorf("ids = %q %q %q", e.MessageID, e.RefundID, e.PaymentID)
	}
	if len(e.Attachments) != 1 || e.Attachments[0].Name != "ACME-CN-2026-000007.pdf" {
		t.Errorf("attachments = %+v", e.Attachments)
	}
	for _, want := range []string{"ACME-CN-2026-000007", "ACME-2026-000042", "Requested by customer", "5.00 EUR", "0.95 EUR", "5.95 EUR", "16 March 2026"} {
		if !strings.Contains(e.Text, want) || !strings.Contains(e.HTML, want) {
			t.Errorf("refund receipt lacks %q", want)
		}
	}

	// Without a credit note the refund's own figures are shown.
	e, err = receipt.Refund(sampleAccount(), samplePayment(), r, nil, nil, "jane.doe@example.test", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Attachments) != 0 || !strings.Contains(e.Text, "Total refunded: 5.95 EUR") || !strings.Contains(e.Text, "VAT 19 % on 5.00 EUR: 0.95 EUR") {
		t.Errorf("refund without credit note:\n%s", e.Text)
	}
}

func TestEscaping(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	e := MustPayment(t, func(a *till.Account, p *till.Payment, inv *till.Document) {
		p.Description = evil
		inv.Lines[0].Description = evil
		a.Branding.DisplayName = "Acme <b>&</b>"
		a.Address.Line1 = evil
		a.SupportEmail = `x"><script>@acme.test`
		a.Branding.Color = `red;background:url(http://evil.test/x.png)`
	})
	if strings.Contains(e.HTML, "<script") || strings.Contains(e.HTML, "<b>") {
		t.Fatalf("HTML carries unescaped markup:\n%s", e.HTML)
	}
	if !strings.Contains(e.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("HTML lacks the escaped description")
	}
	if strings.Contains(e.HTML, "evil.test") || !strings.Contains(e.HTML, "background-color:"+receipt.DefaultColor) {
		t.Errorf("an invalid brand colour reached the HTML")
	}
	if strings.Contains(e.HTML, "http://") || strings.Contains(e.HTML, "https://") || strings.Contains(e.HTML, "<img") ||
		strings.Contains(e.HTML, "<link") || strings.Contains(e.HTML, "<style") {
		t.Errorf("HTML refers to something external or carries a stylesheet")
	}
	// The text part is plain text: the description shows as written.
	if !strings.Contains(e.Text, "Description: "+evil) {
		t.Errorf("text part lacks the description as written:\n%s", e.Text)
	}
}

func TestHeadersHaveNoLineBreaks(t *testing.T) {
	for _, name := range []string{"Evil\r\nBcc: victim@example.test", "Evil\nX-Injected: 1", "Evil\u2028Line", "Tab\tName\x00"} {
		e := MustPayment(t, func(a *till.Account, p *till.Payment, _ *till.Document) {
			a.Branding.DisplayName = name
			p.Description = name
		})
		for what, h := range map[string]string{"Subject": e.Subject, "From": e.From, "To": e.To, "MessageID": e.MessageID} {
			if strings.ContainsAny(h, "\r\n\x00\u2028") {
				t.Errorf("%s = %q carries a line break", what, h)
			}
		}
		if !strings.HasPrefix(e.Subject, "Your receipt from Evil") && !strings.HasPrefix(e.Subject, "Your receipt from Tab Name") {
			t.Errorf("Subject = %q", e.Subject)
		}
	}
	// A recipient or sender with a line break is refused, not cleaned.
	a, p := sampleAccount(), samplePayment()
	if _, err := receipt.Payment(a, p, nil, nil, "jane@example.test\r\nBcc: x@example.test", now); !errors.Is(err, receipt.ErrNoRecipient) {
		t.Errorf("recipient with CRLF: err = %v", err)
	}
	a.ReceiptFrom = "r@acme.test\r\nBcc: x@example.test"
	if _, err := receipt.Payment(a, p, nil, nil, "jane@example.test", now); err == nil {
		t.Errorf("sender with CRLF accepted")
	}
}

func TestCurrencies(t *testing.T) {
	for _, tc := range []struct {
		code                     string
		subtotal, tax, total     int64
		wantTotal, wantSub, wTax string
	}{
		{"JPY", 1000, 100, 1100, "1100 JPY", "1000 JPY", "100 JPY"},
		{"KWD", 1000, 50, 1050, "1.050 KWD", "1.000 KWD", "0.050 KWD"},
		{"EUR", 5, 1, 6, "0.06 EUR", "0.05 EUR", "0.01 EUR"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			a, p, inv := sampleAccount(), samplePayment(), sampleInvoice()
			p.Currency, inv.Currency = tc.code, tc.code
			inv.Subtotal, inv.Tax, inv.Total = tc.subtotal, tc.tax, tc.total
			inv.TaxSummary = []till.TaxLine{{Rate: 100000, TaxableAmount: tc.subtotal, TaxAmount: tc.tax, Name: "VAT"}}
			inv.Lines = []till.DocumentLine{{Description: "Thing", Quantity: 1, UnitNet: tc.subtotal, Net: tc.subtotal}}
			e, err := receipt.Payment(a, p, inv, pdf, "jane@example.test", now)
			if err != nil {
				t.Fatal(err)
			}
			if want := "Your receipt from Acme — " + tc.wantTotal; e.Subject != want {
				t.Errorf("Subject = %q, want %q", e.Subject, want)
			}
			for _, want := range []string{"Total paid: " + tc.wantTotal, "Subtotal: " + tc.wantSub, "VAT 10 % on " + tc.wantSub + ": " + tc.wTax} {
				if !strings.Contains(e.Text, want) {
					t.Errorf("text lacks %q:\n%s", want, e.Text)
				}
			}
			if !strings.Contains(e.HTML, tc.wantTotal) {
				t.Errorf("HTML lacks %q", tc.wantTotal)
			}
		})
	}
	p := samplePayment()
	p.Currency = "XXX"
	if _, err := receipt.Payment(sampleAccount(), p, nil, nil, "jane@example.test", now); err == nil {
		t.Error("unknown currency accepted")
	}
}

func TestAttachment(t *testing.T) {
	e := MustPayment(t, nil)
	if len(e.Attachments) != 1 {
		t.Fatalf("attachments = %d, want 1", len(e.Attachments))
	}
	at := e.Attachments[0]
	if at.Name != "ACME-2026-000042.pdf" || at.ContentType != "application/pdf" || !bytes.Equal(at.Data, pdf) {
		t.Errorf("attachment = %q %q %q", at.Name, at.ContentType, at.Data)
	}
	if !strings.Contains(e.Text, "attached as ACME-2026-000042.pdf") {
		t.Errorf("text does not mention the attachment")
	}
	e, err := receipt.Payment(sampleAccount(), samplePayment(), sampleInvoice(), nil, "jane@example.test", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Attachments) != 0 || strings.Contains(e.Text, "attached") {
		t.Errorf("no PDF, yet an attachment: %+v", e.Attachments)
	}
}

func TestWithoutInvoice(t *testing.T) {
	e, err := receipt.Payment(sampleAccount(), samplePayment(), nil, nil, "jane@example.test", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Total paid: 11.90 EUR", "Subtotal: 10.00 EUR", "VAT 19 % on 10.00 EUR: 1.90 EUR", "2 x 4.00 EUR = 8.00 EUR", "14 March 2026"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, e.Text)
		}
	}
	if strings.Contains(e.Text, "Invoice:") {
		t.Errorf("text names an invoice it does not have")
	}
}

func TestSender(t *testing.T) {
	for _, tc := range []struct {
		name, receiptFrom, support, want string
		err                              error
	}{
		{"receiptFrom", "receipts@acme.test", "help@acme.test", `"Acme" <receipts@acme.test>`, nil},
		{"receiptFrom with name", "Acme Billing <billing@acme.test>", "", `"Acme Billing" <billing@acme.test>`, nil},
		{"support fallback", "", "help@acme.test", `"Acme" <help@acme.test>`, nil},
		{"neither", "", " ", "", receipt.ErrNoSender},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := sampleAccount()
			a.ReceiptFrom, a.SupportEmail = tc.receiptFrom, tc.support
			e, err := receipt.Payment(a, samplePayment(), nil, nil, "jane@example.test", now)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.From != tc.want {
				t.Errorf("From = %q, want %q", e.From, tc.want)
			}
		})
	}
	a := sampleAccount()
	a.Branding.DisplayName = "Müller & Söhne"
	e, err := receipt.Payment(a, samplePayment(), nil, nil, "jane@example.test", now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsFunc(e.From, func(r rune) bool { return r > 127 }) || !strings.Contains(e.From, "<receipts@acme.test>") {
		t.Errorf("From = %q, want an RFC 2047-encoded name", e.From)
	}
	for _, to := range []string{"", "not an address", "a@b@c"} {
		if _, err := receipt.Payment(sampleAccount(), samplePayment(), nil, nil, to, now); !errors.Is(err, receipt.ErrNoRecipient) {
			t.Errorf("to %q: err = %v, want ErrNoRecipient", to, err)
		}
	}
}

func TestBrandColor(t *testing.T) {
	for _, tc := range []struct{ in, bg, fg string }{
		{"#0A7CFF", "#0a7cff", "#111111"}, // WCAG: black contrasts more than white
		{"#1d4ed8", "#1d4ed8", "#ffffff"},
		{"#fe0", "#ffee00", "#111111"},
		{"", receipt.DefaultColor, "#ffffff"},
		{"#ffffff", "#ffffff", "#111111"},
		{"blue", receipt.DefaultColor, "#ffffff"},
	} {
		e := MustPayment(t, func(a *till.Account, _ *till.Payment, _ *till.Document) { a.Branding.Color = tc.in })
		want := "background-color:" + tc.bg + ";color:" + tc.fg
		if !strings.Contains(e.HTML, want) {
			t.Errorf("colour %q: HTML lacks %q", tc.in, want)
		}
	}
}
