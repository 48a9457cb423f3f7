package pdf

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	lpdf "github.com/ledongthuc/pdf"
)

// Text extraction for the tests, with github.com/ledongthuc/pdf: a pure-Go
// reader that decodes composite (Type0) fonts through their ToUnicode CMap,
// as a viewer's copy and search do. It applies the ISO 32000 bfrange rule
// strictly, so it also proves the CMap fix of tounicode.go: on fpdf's own
// CMap it reads "Łódź" as "Aódz".

// page is the text of one page as lines, top to bottom; each line holds
// the page's text runs at one baseline, left to right, joined by " | ".
type page []string

// text is the whole page, one line per line.
func (p page) text() string { return strings.Join(p, "\n") }

// has reports whether some line contains all of parts, in order.
func (p page) has(parts ...string) bool {
	for _, l := range p {
		rest, ok := l, true
		for _, s := range parts {
			i := strings.Index(rest, s)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(s):]
		}
		if ok {
			return true
		}
	}
	return false
}

// MustExtract returns the text of every page of the PDF b.
func MustExtract(tb testing.TB, b []byte) []page {
	tb.Helper()
	r, err := lpdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatalf("open PDF: %v", err)
	}
	var pages []page
	for n := 1; n <= r.NumPage(); n++ {
		p := r.Page(n)
		if p.V.IsNull() {
			tb.Fatalf("page %d missing", n)
		}
		type run struct {
			x, y float64
			s    strings.Builder
		}
		// The reader returns one Text per glyph, positioned at the start
		// of its text-showing operator: a run is the glyphs of one
		// operator, one cell of the layout.
		var runs []*run
		for _, t := range p.Content().Text {
			if k := len(runs) - 1; k >= 0 && runs[k].x == t.X && runs[k].y == t.Y {
				runs[k].s.WriteString(t.S)
				continue
			}
			nr := &run{x: t.X, y: t.Y}
			nr.s.WriteString(t.S)
			runs = append(runs, nr)
		}
		byLine := map[float64][]*run{}
		for _, r := range runs {
			y := math.Round(r.y*10) / 10
			byLine[y] = append(byLine[y], r)
		}
		ys := make([]float64, 0, len(byLine))
		for y := range byLine {
			ys = append(ys, y)
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(ys))) // PDF y grows upwards
		var pg page
		for _, y := range ys {
			rs := byLine[y]
			sort.SliceStable(rs, func(i, j int) bool { return rs[i].x < rs[j].x })
			var parts []string
			for _, r := range rs {
				if s := strings.TrimSpace(r.s.String()); s != "" {
					parts = append(parts, s)
				}
			}
			if len(parts) > 0 {
				pg = append(pg, strings.Join(parts, " | "))
			}
		}
		pages = append(pages, pg)
	}
	return pages
}

// allText joins the pages, marking where each starts.
func allText(pages []page) string {
	var b strings.Builder
	for i, p := range pages {
		fmt.Fprintf(&b, "=== page %d\n%s\n", i+1, p.text())
	}
	return b.String()
}
