package pdf

import (
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// The documents are set in the Go fonts (Bigelow & Holmes, BSD-licensed,
// shipped inside golang.org/x/image), embedded as subsets: they cover Latin
// (with every accent of the EU languages), Greek and Cyrillic, and the
// symbols an invoice needs (€, •, ·, –).
const family = "go"

var (
	coverageOnce sync.Once
	coverageErr  error
	// covered has a bit set for each rune of the Basic Multilingual Plane
	// that both faces can draw.
	covered [0x10000 / 64]uint64
)

// loadCoverage parses the fonts once to learn which runes they can draw.
func loadCoverage() error {
	coverageOnce.Do(func() {
		var faces []*sfnt.Font
		for _, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
			f, err := sfnt.Parse(ttf)
			if err != nil {
				coverageErr = err
				return
			}
			faces = append(faces, f)
		}
		var buf sfnt.Buffer
	runes:
		for r := rune(0); r <= 0xFFFF; r++ {
			for _, f := range faces {
				if g, err := f.GlyphIndex(&buf, r); err != nil || g == 0 {
					continue runes
				}
			}
			covered[r/64] |= 1 << (r % 64)
		}
	})
	return coverageErr
}

// drawable reports whether both faces have a glyph for r. fpdf addresses
// glyphs by 16-bit code, so runes beyond the Basic Multilingual Plane are
// never drawable.
func drawable(r rune) bool {
	return r >= 0 && r <= 0xFFFF && covered[r/64]&(1<<(r%64)) != 0
}

// clean makes s safe to draw on one line: control characters and line breaks
// become spaces, runs of spaces collapse, and runes the fonts cannot draw
// (CJK, emoji) become "?", so a document never shows an empty box or breaks
// the PDF writer.
func clean(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			continue
		case r == unicode.ReplacementChar || !drawable(r):
			r = '?'
		}
		space = false
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}
