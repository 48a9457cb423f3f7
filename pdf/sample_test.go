package pdf

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tillpay/till"
)

var (
	writeSamples = flag.Bool("write-samples", false, "write the sample PDFs and the PNGs of their first pages to docs/")
	sampleDir    = flag.String("sample-dir", "", "where -write-samples puts the sample PDFs (default: a temporary directory)")
)

// TestSample regenerates the rendered samples shown in docs/invoices.md:
//
//	go test ./pdf -run TestSample -args -write-samples
//
// It writes the sample PDFs (to -sample-dir, or a temporary directory) and
// converts page 1 of each to docs/<name>.png with pdftoppm (Debian's
// poppler-utils) at 80 dpi.
func TestSample(t *testing.T) {
	if !*writeSamples {
		t.Skip("run with -args -write-samples to regenerate docs/invoice-sample.png and docs/credit-note-sample.png")
	}
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Fatal("pdftoppm not found: apt-get install -y poppler-utils")
	}
	dir := *sampleDir
	if dir == "" {
		dir = t.TempDir()
	}
	samples := []struct {
		name string
		doc  *till.Document
	}{
		{"invoice-sample", reverseChargeInvoice()},
		{"credit-note-sample", creditNote()},
	}
	for _, s := range samples {
		b := MustRender(t, s.doc)
		pdfPath := filepath.Join(dir, s.name+".pdf")
		if err := os.WriteFile(pdfPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		png := filepath.Join("..", "docs", s.name)
		out, err := exec.Command("pdftoppm", "-png", "-r", "80", "-singlefile", "-f", "1", "-l", "1", pdfPath, png).CombinedOutput()
		if err != nil {
			t.Fatalf("pdftoppm %s: %v: %s", s.name, err, strings.TrimSpace(string(out)))
		}
		t.Logf("wrote %s and %s.png", pdfPath, png)
	}
}

// MustRender renders d or fails the test.
func MustRender(tb testing.TB, d *till.Document) []byte {
	tb.Helper()
	b, err := New().PDF(d)
	if err != nil {
		tb.Fatalf("render %s: %v", d.Number, err)
	}
	return b
}
