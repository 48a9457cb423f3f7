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
	// Locate the cross-reference table through startxref.
	tail := bytes.LastIndex(pdf, []byte("startxref\n"))
	if tail < 0 {
		return pdf, false
	}
	numEnd := bytes.IndexByte(pdf[tail+10:], '\n')
	if numEnd < 0 {
		return pdf, false
	}
	xref, err := strconv.Atoi(string(pdf[tail+10 : tail+10+numEnd]))
	if err != nil || xref <= 0 || xref >= tail || !bytes.HasPrefix(pdf[xref:], []byte("xref\n0 ")) {
		return pdf, false
	}
	hdrEnd := bytes.IndexByte(pdf[xref+7:], '\n')
	if hdrEnd < 0 {
		return pdf, false
	}
	count, err := strconv.Atoi(string(pdf[xref+7 : xref+7+hdrEnd]))
	entries := xref + 7 + hdrEnd + 1
	if err != nil || count < 1 || entries+20*count > tail {
		return pdf, false
	}

	// Replace the streams in the body, remembering where and by how much.
	type shift struct{ at, delta int }
	var shifts []shift
	body := pdf[:xref]
	var out bytes.Buffer
	out.Grow(len(pdf) + 4096)
	for from := 0; ; {
		i := bytes.Index(body[from:], badStream)
		if i < 0 {
			out.Write(body[from:])
			break
		}
		out.Write(body[from : from+i])
		out.Write(goodStream)
		shifts = append(shifts, shift{from + i, len(goodStream) - len(badStream)})
		from += i + len(badStream)
	}
	if len(shifts) == 0 {
		return pdf, false
	}
	moved := func(off int) int {
		d := 0
		for _, s := range shifts {
			if s.at < off {
				d += s.delta
			}
		}
		return off + d
	}

	// Rewrite the table: the same entries with shifted offsets.
	newXref := out.Len()
	out.Write(pdf[xref:entries])
	for i := range count {
		e := pdf[entries+20*i : entries+20*i+20]
		if e[10] != ' ' || e[19] != '\n' {
			return pdf, false
		}
		if e[17] != 'n' {
			out.Write(e)
			continue
		}
		off, err := strconv.Atoi(string(e[:10]))
		if err != nil {
			return pdf, false
		}
		fmt.Fprintf(&out, "%010d", moved(off))
		out.Write(e[10:])
	}
	out.Write(pdf[entries+20*count : tail])
	fmt.Fprintf(&out, "startxref\n%d", newXref)
	out.Write(pdf[tail+10+numEnd:])
	return out.Bytes(), true
}
