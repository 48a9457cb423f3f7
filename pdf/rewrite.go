package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strconv"
	"sync"
)

// The renderer edits fpdf's output in place twice: fixToUnicode replaces
// its ToUnicode CMaps (tounicode.go), and compressPages compresses the page
// contents. Both replace byte ranges inside objects and then rewrite the
// cross-reference table for the objects that moved.

// xrefTable locates the one classic cross-reference section fpdf writes.
type xrefTable struct {
	at      int // offset of "xref"
	entries int // offset of the first 20-byte entry
	count   int // number of entries, object 0 included
	tail    int // offset of "startxref\n"
	numEnd  int // length of the number after startxref
}

// parseXref finds the cross-reference table through startxref. It reports
// false when pdf is not laid out as fpdf v0.12.0 writes it (one classic
// xref section, 20-byte entries).
func parseXref(pdf []byte) (xrefTable, bool) {
	var x xrefTable
	x.tail = bytes.LastIndex(pdf, []byte("startxref\n"))
	if x.tail < 0 {
		return x, false
	}
	x.numEnd = bytes.IndexByte(pdf[x.tail+10:], '\n')
	if x.numEnd < 0 {
		return x, false
	}
	var err error
	x.at, err = strconv.Atoi(string(pdf[x.tail+10 : x.tail+10+x.numEnd]))
	if err != nil || x.at <= 0 || x.at >= x.tail || !bytes.HasPrefix(pdf[x.at:], []byte("xref\n0 ")) {
		return x, false
	}
	hdrEnd := bytes.IndexByte(pdf[x.at+7:], '\n')
	if hdrEnd < 0 {
		return x, false
	}
	x.count, err = strconv.Atoi(string(pdf[x.at+7 : x.at+7+hdrEnd]))
	x.entries = x.at + 7 + hdrEnd + 1
	if err != nil || x.count < 1 || x.entries+20*x.count > x.tail {
		return x, false
	}
	return x, true
}

// entry is the table's entry for object i.
func (x xrefTable) entry(pdf []byte, i int) []byte {
	return pdf[x.entries+20*i : x.entries+20*i+20]
}

// offset is where object i starts, if the table has it in use.
func (x xrefTable) offset(pdf []byte, i int) (int, bool) {
	if i <= 0 || i >= x.count {
		return 0, false
	}
	e := x.entry(pdf, i)
	if e[10] != ' ' || e[17] != 'n' || e[19] != '\n' {
		return 0, false
	}
	off, err := strconv.Atoi(string(e[:10]))
	if err != nil || off >= x.at || !bytes.HasPrefix(pdf[off:], []byte(strconv.Itoa(i)+" 0 obj\n")) {
		return 0, false
	}
	return off, true
}

// splice replaces pdf[at:end], inside one object, with with.
type splice struct {
	at, end int
	with    []byte
}

// applySplices returns pdf with the splices, in order and apart, applied
// to its body, and its cross-reference table and startxref adjusted. It
// reports false, and returns pdf unchanged, when the table is not as
// parseXref expects.
func applySplices(pdf []byte, x xrefTable, sp []splice) ([]byte, bool) {
	grow := 0
	for i, s := range sp {
		if s.at > s.end || s.end > x.at || (i > 0 && s.at < sp[i-1].end) {
			return pdf, false
		}
		grow += len(s.with) - (s.end - s.at)
	}
	moved := func(off int) int {
		d := 0
		for _, s := range sp {
			if s.at >= off {
				break
			}
			d += len(s.with) - (s.end - s.at)
		}
		return off + d
	}
	var out bytes.Buffer
	out.Grow(len(pdf) + grow + 16)
	from := 0
	for _, s := range sp {
		out.Write(pdf[from:s.at])
		out.Write(s.with)
		from = s.end
	}
	out.Write(pdf[from:x.at])

	// The table: the same entries with shifted offsets.
	newXref := out.Len()
	out.Write(pdf[x.at:x.entries])
	for i := range x.count {
		e := x.entry(pdf, i)
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
	out.Write(pdf[x.entries+20*x.count : x.tail])
	fmt.Fprintf(&out, "startxref\n%d", newXref)
	out.Write(pdf[x.tail+10+x.numEnd:])
	return out.Bytes(), true
}

// zlibWriters reuses zlib writers: each holds about a megabyte of tables,
// which fpdf allocates afresh for every stream it compresses. A reset writer
// writes the same bytes as a new one.
var zlibWriters = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed) // fpdf's level
	return w
}}

// compressPages returns pdf, written by fpdf with compression off, with the
// contents of its pages compressed as fpdf compresses them: the result is
// the file fpdf writes with compression on, byte for byte, without its
// allocations. It reports false, and returns pdf unchanged (a valid, larger
// PDF), when the file is not laid out as fpdf v0.12.0 writes it: page n in
// object 1+2n, its contents in the next.
func compressPages(pdf []byte, pages int) ([]byte, bool) {
	x, ok := parseXref(pdf)
	if !ok {
		return pdf, false
	}
	zw := zlibWriters.Get().(*zlib.Writer)
	defer zlibWriters.Put(zw)
	sp := make([]splice, 0, pages)
	for n := 1; n <= pages; n++ {
		page, contents := 1+2*n, 2+2*n
		po, ok1 := x.offset(pdf, page)
		co, ok2 := x.offset(pdf, contents)
		if !ok1 || !ok2 || po >= co ||
			!bytes.HasPrefix(pdf[po:], []byte(strconv.Itoa(page)+" 0 obj\n<</Type /Page\n")) ||
			!bytes.HasSuffix(pdf[po:co], []byte("/Contents "+strconv.Itoa(contents)+" 0 R>>\nendobj\n")) {
			return pdf, false
		}
		// "<</Length L>>\nstream\n" + L bytes + "\nendstream\nendobj\n"
		at := co + len(strconv.Itoa(contents)) + len(" 0 obj\n")
		rest := pdf[at:x.at]
		if !bytes.HasPrefix(rest, []byte("<</Length ")) {
			return pdf, false
		}
		numEnd := bytes.IndexByte(rest, '>')
		if numEnd < 0 {
			return pdf, false
		}
		length, err := strconv.Atoi(string(rest[10:numEnd]))
		start := numEnd + len(">>\nstream\n")
		if err != nil || length < 0 || !bytes.HasPrefix(rest[numEnd:], []byte(">>\nstream\n")) ||
			start+length > len(rest) || !bytes.HasPrefix(rest[start+length:], []byte("\nendstream\nendobj\n")) {
			return pdf, false
		}
		var z bytes.Buffer
		z.Grow(length/2 + 64)
		zw.Reset(&z)
		if _, err := zw.Write(rest[start : start+length]); err != nil {
			return pdf, false
		}
		if err := zw.Close(); err != nil {
			return pdf, false
		}
		with := make([]byte, 0, z.Len()+48)
		with = fmt.Appendf(with, "<</Filter /FlateDecode /Length %d>>\nstream\n", z.Len())
		with = append(with, z.Bytes()...)
		sp = append(sp, splice{at: at, end: at + start + length, with: with})
	}
	return applySplices(pdf, x, sp)
}
