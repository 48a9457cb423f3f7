package pdf

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tillpay/till"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// samples are the documents every test renders.
var samples = []struct {
	name string
	doc  func() *till.Document
}{
	{"domestic", domesticInvoice},
	{"reverse-charge", reverseChargeInvoice},
	{"inclusive-mixed", inclusiveMixedInvoice},
	{"oss-greece", ossInvoice},
	{"jpy", jpyInvoice},
	{"kwd", kwdInvoice},
	{"long-100", func() *till.Document { return longInvoice(100) }},
	{"credit-note", creditNote},
}

// flat is the text of all pages with lines joined by spaces, for phrases
// that may wrap.
func flat(pages []page) string {
	var all []string
	for _, p := range pages {
		all = append(all, p...)
	}
	return strings.Join(all, " ")
}

// firstWords is the start of s, short enough to sit on a line's first row.
func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}

// checkArticle226 asserts that the text of the rendered d carries each
// detail Article 226 of Directive 2006/112/EC asks of a full invoice, and
// the rest of what Till prints, in the document's own figures.
func checkArticle226(t *testing.T, d *till.Document, pages []page) {
	t.Helper()
	cur, _ := till.LookupCurrency(d.Currency)
	p1 := pages[0]
	all := flat(pages)
	need := func(ok bool, what string) {
		t.Helper()
		if !ok {
			t.Errorf("%s: missing %s\n%s", d.Number, what, allText(pages))
		}
	}
	// (1) date of issue, (2) the sequential number.
	need(p1.has("Date of issue", date(d.IssueDate)), "(1) date of issue")
	label := "Invoice number"
	if d.Kind == till.DocCreditNote {
		label = "Credit note number"
	}
	need(p1.has(label, d.Number), "(2) number")
	// (3) the seller's VAT number; (4) the buyer's, where it has one.
	need(p1.has("VAT ID", d.Seller.VATNumber), "(3) seller VAT number")
	if d.Buyer.VATNumber != "" {
		need(strings.Contains(p1.text(), d.Buyer.VATNumber), "(4) buyer VAT number")
	}
	// (5) full names and addresses.
	for _, s := range append([]string{d.Seller.Name, d.Buyer.Name}, append(addressLines(d.Seller.Address), addressLines(d.Buyer.Address)...)...) {
		need(strings.Contains(p1.text(), s), fmt.Sprintf("(5) %q", s))
	}
	// (6) quantity and nature; (8) unit price net of tax; (9) the rate.
	for _, l := range d.Lines {
		found := false
		for _, p := range pages {
			found = found || p.has(firstWords(l.Description, 3), strconv.FormatInt(l.Quantity, 10), money(l.UnitNet, cur), lineRate(l), money(l.Net, cur))
		}
		need(found, fmt.Sprintf("(6)(8)(9) line %q", l.Description))
	}
	// (7) date of supply (of the refund, for a credit note).
	if d.Kind == till.DocCreditNote {
		need(p1.has("Date of refund", date(d.SupplyDate)), "(7) date of refund")
	} else {
		need(p1.has("Date of supply", date(d.SupplyDate)), "(7) date of supply")
	}
	// (8) taxable amount per rate, (9) rate, (10) VAT per rate.
	for _, s := range d.TaxSummary {
		found := false
		for _, p := range pages {
			found = found || p.has(summaryLabel(s), money(s.TaxableAmount, cur), money(s.TaxAmount, cur))
		}
		need(found, fmt.Sprintf("(8)(10) summary row %s", summaryLabel(s)))
	}
	// (10) VAT payable and the totals.
	if d.Kind == till.DocCreditNote {
		need(strings.Contains(all, "Net credited | "+moneyCode(d.Subtotal, cur)), "net credited")
		need(strings.Contains(all, "VAT credited | "+moneyCode(d.Tax, cur)), "(10) VAT credited")
		need(strings.Contains(all, "Total credited | "+moneyCode(d.Total, cur)), "total credited")
		need(p1.has("Credit note"), "title")
		need(p1.has("Corrects invoice", d.InvoiceNo), "corrected invoice")
		need(p1.has("Reason", refundReason(d.Reason)), "reason")
	} else {
		need(strings.Contains(all, "Subtotal (net) | "+moneyCode(d.Subtotal, cur)), "subtotal")
		need(strings.Contains(all, "VAT | "+moneyCode(d.Tax, cur)), "(10) VAT")
		need(strings.Contains(all, "Total | "+moneyCode(d.Total, cur)), "total")
		need(p1.has("Payment", "Paid", d.PaymentMethod), "paid and payment method")
	}
	// (11), (11a): the mentions.
	for _, n := range d.Notes {
		need(strings.Contains(all, n), fmt.Sprintf("(11) note %q", n))
	}
	// Every page: its number of the total, and the document's number.
	for i, p := range pages {
		need(p.has(d.Number, fmt.Sprintf("Page %d of %d", i+1, len(pages))), fmt.Sprintf("footer of page %d", i+1))
	}
}

func TestArticle226(t *testing.T) {
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			d := s.doc()
			checkArticle226(t, d, MustExtract(t, MustRender(t, d)))
		})
	}
}

// TestFigures checks the figures of each sample as written out by hand, so
// a mistake shared by the fixtures and the renderer cannot hide.
func TestFigures(t *testing.T) {
	tests := []struct {
		name  string
		doc   *till.Document
		lines [][]string // each: parts that one line must hold in order
		text  []string   // phrases anywhere, wrapped lines joined
		not   []string
	}{
		{"domestic", domesticInvoice(), [][]string{
			{"Invoice number", "BS-2026-000042"},
			{"Date of issue", "14 March 2026"},
			{"Bäckerei Schmidt GmbH", "Jana Müller"},
			{"Hauptstraße 12", "Lindenstraße 5"},
			{"VAT ID", "DE123456789"},
			{"Catering platter „Brotzeit“", "2", "89.00", "19 %", "178.00"},
			{"Delivery within Munich", "1", "15.00", "19 %", "15.00"},
			{"19 % · DE", "193.00", "36.67"},
			{"Subtotal (net)", "EUR 193.00"}, {"VAT", "EUR 36.67"}, {"Total", "EUR 229.67"},
			{"Amount due", "EUR 0.00"},
			{"EUR 229.67 paid on 14 March 2026"},
		}, nil, nil},
		{"reverse charge", reverseChargeInvoice(), [][]string{
			{"Date of supply", "12 March 2026"},
			{"Pâtisserie Lefèvre SARL"},
			{"VAT ID", "DE123456789", "VAT ID", "FR12345678901"},
			{"Two-day on-site baking workshop", "2", "950.00", "0 %", "1,900.00"},
			{"0 % · FR · reverse charge", "3,340.00", "0.00"},
			{"VAT", "EUR 0.00"}, {"Total", "EUR 3,340.00"},
		}, []string{"Reverse charge: VAT to be accounted for by the recipient under Article 196 of Council Directive 2006/112/EC. Customer VAT number: FR12345678901."}, nil},
		{"inclusive, mixed rates, exempt", inclusiveMixedInvoice(), [][]string{
			{"Filter coffee beans", "3", "9.34", "7 %", "28.01"},
			{"Bread-baking course", "1", "50.00", "exempt", "50.00"},
			{"7 % · DE", "60.63", "4.24"},
			{"19 % · DE", "25.18", "4.79"},
			{"0 % · DE · exempt", "50.00", "0.00"},
			{"Subtotal (net)", "EUR 135.81"}, {"VAT", "EUR 9.03"}, {"Total", "EUR 144.84"},
		}, []string{"Exempt supply: no VAT charged on lines marked exempt.", "Unit prices are shown net of VAT, rounded"}, nil},
		{"OSS to Greece", ossInvoice(), [][]string{
			{"Ελένη Παπαδοπούλου"}, {"105 63 Αθήνα"}, {"Greece"},
			{"shipped to Αθήνα, Ελλάδα", "2", "24.90", "24 %", "49.80"},
			{"24 % · GR · EU OSS", "49.80", "11.95"},
		}, []string{"One-Stop Shop"}, nil},
		{"JPY", jpyInvoice(), [][]string{
			{"Gyokuro green tea", "3", "12,000", "10 %", "36,000"},
			{"Tea ceremony whisk", "1", "4,580", "10 %", "4,580"},
			{"10 % · JP", "40,580", "4,058"},
			{"Subtotal (net)", "JPY 40,580"}, {"VAT", "JPY 4,058"}, {"Total", "JPY 44,638"},
			{"Amounts in JPY"},
		}, nil, []string{"44,638.", "4,058.", ".00"}},
		{"KWD", kwdInvoice(), [][]string{
			{"Frozen pretzel dough", "2", "617.284", "0 %", "1,234.568"},
			{"0 % · KW · not collected", "1,234.568", "0.000"},
			{"Total", "KWD 1,234.568"}, {"Amount due", "KWD 0.000"},
			{"Kuwait"},
		}, nil, nil},
		{"credit note", creditNote(), [][]string{
			{"Credit note"},
			{"Credit note number", "BS-CN-2026-000007"},
			{"Date of issue", "20 March 2026"},
			{"Corrects invoice", "BS-2026-000042"},
			{"Reason", "Requested by the customer"},
			{"Refund for invoice BS-2026-000042", "1", "89.00", "19 %", "89.00"},
			{"19 % · DE", "89.00", "16.91"},
			{"Net credited", "EUR 89.00"}, {"VAT credited", "EUR 16.91"}, {"Total credited", "EUR 105.91"},
			{"EUR 105.91 credited on 20 March 2026"},
		}, []string{"This credit note corrects invoice BS-2026-000042."}, []string{"Amount due", "Paid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := MustExtract(t, MustRender(t, tt.doc))
			all := flat(pages)
			for _, parts := range tt.lines {
				found := false
				for _, p := range pages {
					found = found || p.has(parts...)
				}
				if !found {
					t.Errorf("no line holds %q\n%s", parts, allText(pages))
				}
			}
			for _, s := range tt.text {
				if !strings.Contains(all, s) {
					t.Errorf("text lacks %q", s)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(all, s) {
					t.Errorf("text has %q, which it must not", s)
				}
			}
		})
	}
}

// TestPagination renders 100 lines: several pages, each with the table
// header and "Page i of N", every line exactly once and the totals at the
// end.
func TestPagination(t *testing.T) {
	d := longInvoice(100)
	pages := MustExtract(t, MustRender(t, d))
	if len(pages) < 3 {
		t.Fatalf("100 lines on %d pages, want at least 3", len(pages))
	}
	header := []string{"Description", "Qty", "Unit price (net)", "VAT", "Net amount"}
	item := regexp.MustCompile(`^Item (\d{3}):`)
	seen := map[string]int{}
	for i, p := range pages {
		if !p.has(header...) {
			t.Errorf("page %d has no table header", i+1)
		}
		if i > 0 && !p.has("Bäckerei Schmidt GmbH", "Invoice BS-2026-000047 (continued)") {
			t.Errorf("page %d has no running header:\n%s", i+1, p.text())
		}
		if !p.has(fmt.Sprintf("Page %d of %d", i+1, len(pages))) {
			t.Errorf("page %d lacks its page number", i+1)
		}
		for _, l := range p {
			if m := item.FindStringSubmatch(l); m != nil {
				seen[m[1]]++
			}
		}
	}
	for i := 1; i <= 100; i++ {
		if n := seen[fmt.Sprintf("%03d", i)]; n != 1 {
			t.Errorf("item %03d printed %d times", i, n)
		}
	}
	last := pages[len(pages)-1]
	cur, _ := till.LookupCurrency("EUR")
	if !last.has("Total", moneyCode(d.Total, cur)) {
		t.Errorf("last page lacks the total %s", moneyCode(d.Total, cur))
	}
}

// TestLongDescriptionWraps checks that a description wider than its column
// breaks onto further lines within it, and that a single overlong word is
// cut rather than overflowing.
func TestLongDescriptionWraps(t *testing.T) {
	d := domesticInvoice()
	long := strings.Repeat("Sauerteigbrot ", 30) + strings.Repeat("X", 120)
	d.Lines[0].Description = long
	complete(d)
	pages := MustExtract(t, MustRender(t, d))
	var got []string
	for _, l := range pages[0] {
		if strings.HasPrefix(l, "Sauerteigbrot") || strings.HasPrefix(l, "XXX") {
			got = append(got, strings.SplitN(l, " | ", 2)[0])
		}
	}
	if len(got) < 5 {
		t.Fatalf("description on %d lines, want it wrapped over several:\n%s", len(got), pages[0].text())
	}
	if j := strings.Join(got, " "); strings.ReplaceAll(j, " ", "") != strings.ReplaceAll(long, " ", "") {
		t.Errorf("wrapped text differs from the description:\n%s", j)
	}
	for _, l := range got {
		if len([]rune(l)) > 60 {
			t.Errorf("line %q is too long for the description column", l)
		}
	}
}

// TestTestMode marks documents of test mode.
func TestTestMode(t *testing.T) {
	d := domesticInvoice()
	d.Livemode = false
	if txt := flat(MustExtract(t, MustRender(t, d))); !strings.Contains(txt, "TEST MODE") {
		t.Error("a test-mode invoice is not marked")
	}
	if txt := flat(MustExtract(t, MustRender(t, domesticInvoice()))); strings.Contains(txt, "TEST MODE") {
		t.Error("a live invoice is marked as test mode")
	}
}

// TestUndrawableText replaces what the fonts cannot draw and still renders.
func TestUndrawableText(t *testing.T) {
	d := domesticInvoice()
	d.Buyer.Name = "Jana 😀 Müller 株式会社"
	d.Lines[0].Description = "Torte\twith\x00control\ncharacters"
	complete(d)
	pages := MustExtract(t, MustRender(t, d))
	if !pages[0].has("Jana ? Müller ????") {
		t.Errorf("undrawable runes not replaced:\n%s", pages[0].text())
	}
	if !pages[0].has("Torte with control") {
		t.Errorf("control characters not cleaned:\n%s", pages[0].text())
	}
}

func TestErrors(t *testing.T) {
	unknownCurrency := domesticInvoice()
	unknownCurrency.Currency = "XXX"
	unknownKind := domesticInvoice()
	unknownKind.Kind = "receipt"
	for name, d := range map[string]*till.Document{"nil": nil, "currency": unknownCurrency, "kind": unknownKind} {
		t.Run(name, func(t *testing.T) {
			b, err := New().PDF(d)
			if err == nil || b != nil {
				t.Fatalf("PDF() = %d bytes, %v; want an error", len(b), err)
			}
			if till.ErrorCode(err) != till.EInternal {
				t.Errorf("code %q, want %q", till.ErrorCode(err), till.EInternal)
			}
		})
	}
}

// TestDeterministic renders each sample twice, and concurrently: the bytes
// are the same, dated by the document, with a fixed producer.
func TestDeterministic(t *testing.T) {
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			want := MustRender(t, s.doc())
			var wg sync.WaitGroup
			got := make([][]byte, 4)
			for i := range got {
				wg.Go(func() { got[i] = MustRender(t, s.doc()) })
			}
			wg.Wait()
			for i, g := range got {
				if !bytes.Equal(g, want) {
					t.Fatalf("render %d differs from the first", i)
				}
			}
			d := s.doc()
			stamp := "(D:" + d.IssueDate.UTC().Format("20060102150405") + ")"
			if !bytes.Contains(want, []byte("/CreationDate "+stamp)) || !bytes.Contains(want, []byte("/ModDate "+stamp)) {
				t.Errorf("dates are not the document's %s", stamp)
			}
			if bytes.Contains(want, []byte("/Producer (FPDF")) {
				t.Error("producer names fpdf's version")
			}
		})
	}
}

// TestGolden compares the text of each sample with testdata/<name>.txt;
// -update rewrites the files.
func TestGolden(t *testing.T) {
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			got := allText(MustExtract(t, MustRender(t, s.doc())))
			path := filepath.Join("testdata", s.name+".txt")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./pdf -run TestGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("text of %s differs from %s (go test ./pdf -run TestGolden -update rewrites it):\n%s", s.name, path, got)
			}
		})
	}
}

// TestToUnicode shows why fixToUnicode exists: on fpdf's own output a
// reader that keeps to ISO 32000 garbles every character above U+00FF,
// and on the fixed output it reads them all. The fixed file's
// cross-reference table points at its objects.
func TestToUnicode(t *testing.T) {
	d := ossInvoice()
	cur, _ := till.LookupCurrency(d.Currency)
	raw, err := render(d, cur, true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(flat(MustExtract(t, raw)), "Αθήνα") {
		t.Fatal("fpdf's CMap reads correctly now; fixToUnicode may no longer be needed")
	}
	fixed, ok := fixToUnicode(raw)
	if !ok {
		t.Fatal("fixToUnicode did not recognise fpdf's output")
	}
	if bytes.Contains(fixed, []byte("<0000> <FFFF> <0000>")) {
		t.Error("the non-conforming range is still there")
	}
	if got := flat(MustExtract(t, fixed)); !strings.Contains(got, "Ελένη Παπαδοπούλου") || !strings.Contains(got, "Αθήνα, Ελλάδα") {
		t.Errorf("fixed PDF does not read back:\n%s", got)
	}
	checkXref(t, fixed)
	if b, ok := fixToUnicode([]byte("%PDF-1.3\nnot fpdf")); ok || string(b) != "%PDF-1.3\nnot fpdf" {
		t.Error("fixToUnicode changed a file it does not know")
	}
}

// checkXref asserts that every in-use entry of the cross-reference table
// points at the start of its object, and startxref at the table.
func checkXref(t *testing.T, b []byte) {
	t.Helper()
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n?$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref")
	}
	x, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[x:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the table", x)
	}
	lines := strings.Split(string(b[x:]), "\n")
	n, _ := strconv.Atoi(strings.Fields(lines[1])[1])
	for i := 1; i < n; i++ {
		e := lines[2+i]
		off, _ := strconv.Atoi(e[:10])
		if want := fmt.Sprintf("%d 0 obj", i); !bytes.HasPrefix(b[off:], []byte(want)) {
			t.Errorf("xref entry %d points at %q", i, b[off:min(off+12, len(b))])
		}
	}
}

// TestPoppler reads the samples with poppler's pdftotext, where installed,
// as a second, independent reader.
func TestPoppler(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not installed (apt-get install poppler-utils)")
	}
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			d := s.doc()
			path := filepath.Join(t.TempDir(), "doc.pdf")
			if err := os.WriteFile(path, MustRender(t, d), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", path, "-").CombinedOutput()
			if err != nil {
				t.Fatalf("pdftotext: %v: %s", err, out)
			}
			txt := string(out)
			if strings.Contains(txt, "Syntax Error") {
				t.Errorf("poppler reports errors:\n%s", txt)
			}
			cur, _ := till.LookupCurrency(d.Currency)
			for _, want := range []string{d.Number, d.Seller.Name, d.Buyer.Name, d.Seller.VATNumber, d.Buyer.VATNumber, moneyCode(d.Total, cur)} {
				if !strings.Contains(txt, want) {
					t.Errorf("pdftotext output lacks %q", want)
				}
			}
		})
	}
}

func TestMoney(t *testing.T) {
	eur, _ := till.LookupCurrency("EUR")
	jpy, _ := till.LookupCurrency("JPY")
	kwd, _ := till.LookupCurrency("KWD")
	tests := []struct {
		amount int64
		cur    till.Currency
		want   string
	}{
		{0, eur, "0.00"},
		{5, eur, "0.05"},
		{119000, eur, "1,190.00"},
		{-119000, eur, "-1,190.00"},
		{99999999999900, eur, "999,999,999,999.00"},
		{0, jpy, "0"},
		{999, jpy, "999"},
		{1000, jpy, "1,000"},
		{44638, jpy, "44,638"},
		{1, kwd, "0.001"},
		{1234568, kwd, "1,234.568"},
	}
	for _, tt := range tests {
		if got := money(tt.amount, tt.cur); got != tt.want {
			t.Errorf("money(%d, %s) = %q, want %q", tt.amount, tt.cur.Code, got, tt.want)
		}
	}
	if got := moneyCode(119000, eur); got != "EUR 1,190.00" {
		t.Errorf("moneyCode = %q", got)
	}
}

func TestAddressLines(t *testing.T) {
	tests := []struct {
		a    till.Address
		want string
	}{
		{till.Address{Line1: "Hauptstraße 12", City: "München", PostalCode: "80331", Country: "de"}, "Hauptstraße 12|80331 München|Germany"},
		{till.Address{Line1: "1 Main St", Line2: "Suite 5", City: "Albany", State: "NY", PostalCode: "12207", Country: "US"}, "1 Main St|Suite 5|Albany, NY 12207|United States"},
		{till.Address{Line1: "10 Downing Street", City: "London", PostalCode: "SW1A 2AA", Country: "GB"}, "10 Downing Street|London|SW1A 2AA|United Kingdom"},
		{till.Address{City: "Αθήνα", Country: "EL"}, "Αθήνα|Greece"},
		{till.Address{Country: "ZZ"}, "ZZ"},
		{till.Address{}, ""},
	}
	for _, tt := range tests {
		if got := strings.Join(addressLines(tt.a), "|"); got != tt.want {
			t.Errorf("addressLines(%+v) = %q, want %q", tt.a, got, tt.want)
		}
	}
}

// BenchmarkPDF renders documents whose text is all in WinAnsiEncoding, the
// common case, set in the standard fonts.
func BenchmarkPDF(b *testing.B) {
	long := longInvoice(100)
	long.Buyer = janaMueller()
	benchmarkRender(b, false, []benchDoc{
		{"invoice", reverseChargeInvoice()},
		{"credit-note", creditNote()},
		{"100-lines", long},
	})
}

// BenchmarkPDFEmbedded renders documents that need the embedded Go fonts.
func BenchmarkPDFEmbedded(b *testing.B) {
	benchmarkRender(b, true, []benchDoc{
		{"oss-greece", ossInvoice()},
		{"100-lines", longInvoice(100)},
	})
}

type benchDoc struct {
	name string
	doc  *till.Document
}

func benchmarkRender(b *testing.B, embedded bool, docs []benchDoc) {
	for _, s := range docs {
		b.Run(s.name, func(b *testing.B) {
			if got := needsEmbeddedFont(s.doc); got != embedded {
				b.Fatalf("needsEmbeddedFont = %v, want %v", got, embedded)
			}
			r := New()
			b.ReportAllocs()
			var size int
			for b.Loop() {
				out, err := r.PDF(s.doc)
				if err != nil {
					b.Fatal(err)
				}
				size = len(out)
			}
			b.ReportMetric(float64(size), "bytes/pdf")
		})
	}
}

// TestLongNames keeps overlong names inside their boxes: the header
// shortens the seller's name, a long custom rate name wraps in the VAT
// summary beside its amounts.
func TestLongNames(t *testing.T) {
	d := domesticInvoice()
	d.Seller.Name = "Bäckerei, Konditorei und Café Schmidt & Söhne Gesellschaft mit beschränkter Haftung, Zweigniederlassung München-Schwabing"
	for i := range d.Lines {
		d.Lines[i].Reason = till.TaxReasonCustom
	}
	complete(d)
	d.TaxSummary[0].Name = "Landeshauptstadt München Sonderabgabe für Backwaren und Konditoreierzeugnisse"
	pages := MustExtract(t, MustRender(t, d))
	if !pages[0].has("Bäckerei, Konditorei und Café", "…") {
		t.Errorf("header does not shorten the seller's name:\n%s", pages[0].text())
	}
	if !pages[0].has("19 % · DE · Landeshauptstadt", "193.00", "36.67") {
		t.Errorf("summary row lost its amounts:\n%s", pages[0].text())
	}
	if !strings.Contains(flat(pages), "Konditoreierzeugnisse") {
		t.Error("the rate name was cut instead of wrapped")
	}
}
