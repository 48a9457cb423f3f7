package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strconv"
	"strings"
)

// fpdf (v0.12.0) gives every UTF-8 font a ToUnicode CMap, the table a viewer
// uses to turn the drawn glyph codes back into text for copying, searching
// and screen readers. Its CMap maps all 65,536 codes with the single range
// "<0000> <FFFF> <0000>", which ISO 32000-1 §9.10.3 does not allow: a bfrange
// may only vary the last byte of the code. Readers that follow the rule
// (PDFium, hence Chrome; several Go libraries) map only the first 256 codes
// correctly, and "Łódź" or "Ελλάδα" come out as garbage. fixToUnicode
// replaces each such CMap with a conforming one, 248 ranges of 256 codes
// (the surrogate block left out), and rewrites the cross-reference table
// for the shifted objects.

// fpdfToUnicode is the CMap fpdf writes, byte for byte.
const fpdfToUnicode = "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo\n" +
	"<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
	"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n1 beginbfrange\n<0000> <FFFF> <0000>\nendbfrange\n" +
	"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"

// badStream is fpdf's ToUnicode stream object body as it appears in the file.
var badStream = []byte("<</Length " + strconv.Itoa(len(fpdfToUnicode)) + ">>\nstream\n" + fpdfToUnicode + "\nendstream")

// goodStream is the replacement: the same identity mapping in conforming
// ranges, compressed.
var goodStream = func() []byte {
	var cm strings.Builder
	cm.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo\n" +
		"<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	var ranges []string
	for hi := 0; hi <= 0xFF; hi++ {
		if hi >= 0xD8 && hi <= 0xDF { // UTF-16 surrogates are not characters
			continue
		}
		ranges = append(ranges, fmt.Sprintf("<%02X00> <%02XFF> <%02X00>\n", hi, hi, hi))
	}
	for len(ranges) > 0 { // at most 100 ranges per block (PDF Reference, CMap syntax)
		n := min(len(ranges), 100)
		fmt.Fprintf(&cm, "%d beginbfrange\n", n)
		for _, r := range ranges[:n] {
			cm.WriteString(r)
		}
		cm.WriteString("endbfrange\n")
		ranges = ranges[n:]
	}
	cm.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend")
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	w.Write([]byte(cm.String()))
	w.Close()
	return append([]byte("<</Length "+strconv.Itoa(z.Len())+"/Filter /FlateDecode>>\nstream\n"),
		append(z.Bytes(), "\nendstream"...)...)
}()

// fixToUnicode returns pdf with fpdf's ToUnicode CMaps replaced by
// conforming ones and its cross-reference table and startxref adjusted. It
// reports false, and returns pdf unchanged, when the file is not laid out
// as fpdf v0.12.0 writes it (one classic xref section, 20-byte entries).
func fixToUnicode(pdf []byte) ([]byte, bool) {
	x, ok := parseXref(pdf)
	if !ok {
		return pdf, false
	}
	var sp []splice
	body := pdf[:x.at]
	for from := 0; ; {
		i := bytes.Index(body[from:], badStream)
		if i < 0 {
			break
		}
		sp = append(sp, splice{at: from + i, end: from + i + len(badStream), with: goodStream})
		from += i + len(badStream)
	}
	if len(sp) == 0 {
		return pdf, false
	}
	return applySplices(pdf, x, sp)
}
