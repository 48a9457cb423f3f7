package pdf

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tillpay/till"
)

// embeddedSamples are the samples that need the embedded fonts; the others
// are set in the standard ones. Both paths are covered by every test that
// renders the samples.
var embeddedSamples = map[string]bool{"oss-greece": true, "long-100": true}

// TestFontPath checks which faces each document is set in, and that a
// document in the standard fonts embeds none while one in the Go fonts
// embeds them with a fixed ToUnicode CMap.
func TestFontPath(t *testing.T) {
	with := func(f func(d *till.Document)) func() *till.Document {
		return func() *till.Document {
			d := complete(domesticInvoice())
			f(d)
			return d
		}
	}
	docs := append([]struct {
		name string
		doc  func() *till.Document
	}(nil), samples...)
	docs = append(docs, []struct {
		name string
		doc  func() *till.Document
	}{
		{"danish", with(func(d *till.Document) { d.Buyer.Address.City = "Ærøskøbing" })},
		{"french", with(func(d *till.Document) { d.Lines[0].Description = "Crème brûlée, 12 × 80 g — « maison »" })},
		{"euro and quotes", with(func(d *till.Document) {
			d.Notes = []string{"Total in € ‚incl.‘ „VAT“ … ‰ ™ † ‡ ƒ"}
		})},
		{"š ž œ ÿ are in cp1252", with(func(d *till.Document) { d.Buyer.Name = "Šimon Žák, Œuvre, Ÿ" })},
		{"emoji and CJK print as ?", with(func(d *till.Document) { d.Buyer.Name = "Jana 😀 Müller 株式会社" })},
		{"controls", with(func(d *till.Document) { d.Lines[0].Description = "a\u0085b\u00a0c\td" })},
		{"polish", with(func(d *till.Document) { d.Buyer.Address.City = "Łódź" })},
		{"hungarian ő", with(func(d *till.Document) { d.Buyer.Name = "Kővári Ödön" })},
		{"cyrillic note", with(func(d *till.Document) { d.Notes = []string{"Спасибо"} })},
		{"greek rate name", with(func(d *till.Document) {
			d.Lines[0].Reason = till.TaxReasonCustom
			complete(d)
			d.TaxSummary[0].Name = "ΦΠΑ"
		})},
		{"romanian ș", with(func(d *till.Document) { d.Seller.Address.Line2 = "Strada Școlii" })},
	}...)
	want := map[string]bool{"polish": true, "hungarian ő": true, "cyrillic note": true, "greek rate name": true, "romanian ș": true}
	for k := range embeddedSamples {
		want[k] = true
	}
	for _, s := range docs {
		t.Run(s.name, func(t *testing.T) {
			d := s.doc()
			if got := needsEmbeddedFont(d); got != want[s.name] {
				t.Fatalf("needsEmbeddedFont = %v, want %v", got, want[s.name])
			}
			b := MustRender(t, d)
			if want[s.name] {
				for _, m := range []string{"/FontFile2", "/Subtype /Type0", "/ToUnicode"} {
					if !bytes.Contains(b, []byte(m)) {
						t.Errorf("embedded-font PDF lacks %s", m)
					}
				}
				if bytes.Contains(b, []byte("<0000> <FFFF> <0000>")) {
					t.Error("the ToUnicode CMap is not fixed")
				}
			} else {
				for _, m := range []string{"/FontFile", "/Type0", "/ToUnicode", "/FontDescriptor"} {
					if bytes.Contains(b, []byte(m)) {
						t.Errorf("standard-font PDF has %s", m)
					}
				}
				for _, m := range []string{"/BaseFont /Helvetica\n", "/BaseFont /Helvetica-Bold\n", "/Encoding /WinAnsiEncoding"} {
					if !bytes.Contains(b, []byte(m)) {
						t.Errorf("standard-font PDF lacks %q", m)
					}
				}
			}
			checkXref(t, b)
			// Either way the text reads back as written.
			all := flat(MustExtract(t, b))
			for _, s := range []string{clean(d.Buyer.Name), firstWords(clean(d.Lines[0].Description), 3), d.Number} {
				if !strings.Contains(all, s) {
					t.Errorf("text lacks %q:\n%s", s, all)
				}
			}
			for _, n := range d.Notes {
				if !strings.Contains(all, n) {
					t.Errorf("text lacks the note %q:\n%s", n, all)
				}
			}
		})
	}
}

// TestFontScanComplete keeps needsEmbeddedFont in step with what the writer
// prints: a character outside WinAnsiEncoding in any string field of a
// document that the writer prints must make needsEmbeddedFont say so, or
// the document would be rendered twice (PDF falls back when the standard
// fonts cannot encode a string). And no sample needs the fallback.
func TestFontScanComplete(t *testing.T) {
	for _, s := range samples {
		d := s.doc()
		cur, _ := till.LookupCurrency(d.Currency)
		if _, err := render(d, cur, needsEmbeddedFont(d)); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}

	custom := domesticInvoice()
	for i := range custom.Lines {
		custom.Lines[i].Reason = till.TaxReasonCustom
	}
	complete(custom)
	custom.TaxSummary[0].Name = "City tax"
	withRegion := reverseChargeInvoice()
	withRegion.TaxSummary[0].Region = "75"
	printedFields := 0
	for _, base := range []*till.Document{custom, withRegion, creditNote(), inclusiveMixedInvoice()} {
		cur, _ := till.LookupCurrency(base.Currency)
		for _, path := range stringFields(reflect.ValueOf(base).Elem(), "Document") {
			d := cloneDoc(base)
			f := fieldByPath(reflect.ValueOf(d).Elem(), path)
			f.SetString(f.String() + " Ł")
			_, err := render(d, cur, false)
			if !errors.Is(err, errNotWinAnsi) {
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				continue // not printed
			}
			printedFields++
			if !needsEmbeddedFont(d) {
				t.Errorf("%s %s: the writer prints it, needsEmbeddedFont does not scan it", base.Number, path)
			}
		}
	}
	if printedFields < 20 {
		t.Errorf("only %d printed fields found; the test has lost its reach", printedFields)
	}
}

// stringFields lists the paths of the string fields under v, a struct.
func stringFields(v reflect.Value, at string) []string {
	var out []string
	switch v.Kind() {
	case reflect.String:
		out = append(out, at)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out = append(out, stringFields(v.Field(i), at+"."+v.Type().Field(i).Name)...)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			out = append(out, stringFields(v.Index(i), at+"["+strconv.Itoa(i)+"]")...)
		}
	}
	return out
}

// fieldByPath finds the field stringFields named path in v.
func fieldByPath(v reflect.Value, path string) reflect.Value {
	for _, part := range strings.Split(path, ".")[1:] {
		name, idx, isIdx := strings.Cut(part, "[")
		v = v.FieldByName(name)
		if isIdx {
			i, _ := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			v = v.Index(i)
		}
	}
	return v
}

// cloneDoc copies d deeply enough to change any of its strings.
func cloneDoc(d *till.Document) *till.Document {
	c := *d
	c.Lines = append([]till.DocumentLine(nil), d.Lines...)
	c.TaxSummary = append([]till.TaxLine(nil), d.TaxSummary...)
	c.Notes = append([]string(nil), d.Notes...)
	return &c
}

// TestWinAnsi checks the encoding table read from fpdf against the code
// page.
func TestWinAnsi(t *testing.T) {
	if n := len(winAnsi()); n != 123 {
		t.Errorf("%d non-ASCII runes in WinAnsiEncoding, want 123", n)
	}
	for in, want := range map[string]string{
		"Müller":           "M\xfcller",
		"€ „“ • · – … — ™": "\x80 \x84\x93 \x95 \xb7 \x96 \x85 \x97 \x99",
		"Ærø Crème":        "\xc6r\xf8 Cr\xe8me",
		"Šž Œÿ Ÿ":          "\x8a\x9e \x8c\xff \x9f",
		"plain":            "plain",
	} {
		got, ok := toWinAnsi(in)
		if !ok || got != want {
			t.Errorf("toWinAnsi(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got, ok := toWinAnsi("Łódź"); ok || got != "?\xf3d?" {
		t.Errorf("toWinAnsi(Łódź) = %q, %v", got, ok)
	}
}

// TestCompressPages checks that the pages render compresses with pooled
// writers come out as fpdf compresses them itself, byte for byte, in both
// pairs of faces and over several pages, and that an unknown file passes
// unchanged.
func TestCompressPages(t *testing.T) {
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			d := s.doc()
			cur, _ := till.LookupCurrency(d.Currency)
			embedded := needsEmbeddedFont(d)
			if embedded != embeddedSamples[s.name] {
				t.Fatalf("needsEmbeddedFont = %v, want %v", embedded, embeddedSamples[s.name])
			}
			w := newWriter(d, cur, embedded)
			w.f.SetCompression(true)
			w.render()
			var want bytes.Buffer
			if err := w.f.Output(&want); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second time with a reused writer
				got, err := render(d, cur, embedded)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want.Bytes()) {
					t.Fatalf("render differs from fpdf's compressed output (%d bytes, want %d)", len(got), want.Len())
				}
			}
		})
	}
	if b, ok := compressPages([]byte("%PDF-1.3\nnot fpdf"), 1); ok || string(b) != "%PDF-1.3\nnot fpdf" {
		t.Error("compressPages changed a file it does not know")
	}
}
